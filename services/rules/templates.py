"""Ready-made rules a seller starts from: copied into the seller's rules, then edited there.

Rules:

* Every template is a valid rule (``RuleTemplate`` is checked like ``Rule`` when it is made) and
  ``as_rule`` turns it into one with the seller's id.
* Category words are Polish, since products come from Allegro ("Alkohole", "Leki i suplementy"),
  and German, for categories a marketplace gave. ``contains_any`` matches parts of words:
  "wino" also catches "Winogrona" — a seller who sells grapes narrows the list.
* Margins: a margin under 0 % loses money on each sale (block); under 10 % leaves little room for
  returns and price moves (warn).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from models.rules import Action, RuleType
from services.rules.engine import InvalidRule, Rule, freeze, rule_problems, thaw

# Amazon asks new sellers for approval before they list these ("restricted categories").
AMAZON_RESTRICTED_WORDS = (
    # Polish (Allegro's category names)
    "alkohol",
    "wino",
    "piwo",
    "leki",
    "broń",
    "tytoń",
    "e-papierosy",
    "suplementy",
    # German
    "wein",
    "bier",
    "spirituosen",
    "arzneimittel",
    "medikamente",
    "waffen",
    "tabak",
    "e-zigaretten",
    "nahrungsergänzung",
)


@dataclass(frozen=True, slots=True)
class RuleTemplate:
    """A rule to start from; ``key`` names it for the API."""

    key: str
    name: str
    description: str
    type: RuleType
    action: Action
    weight: int
    conditions: Mapping[str, Any]

    def __post_init__(self) -> None:
        if problems := rule_problems(self.name, self.type, self.action, self.weight, self.conditions):
            raise InvalidRule(self.name, problems)
        object.__setattr__(self, "conditions", freeze(self.conditions))

    def as_rule(self, rule_id: int, *, enabled: bool = True) -> Rule:
        """The template as a seller's rule with this id."""
        return Rule(rule_id, self.name, self.type, self.action, self.weight, thaw(self.conditions), enabled)

    def __reduce__(self) -> tuple[Callable[..., RuleTemplate], tuple[Any, ...]]:
        # Read-only mappings cannot be pickled or deep-copied: rebuild from content.
        values = (self.key, self.name, self.description, self.type, self.action, self.weight)
        return RuleTemplate, (*values, thaw(self.conditions))

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "name": self.name,
            "description": self.description,
            "type": self.type,
            "action": self.action,
            "weight": self.weight,
            "conditions": thaw(self.conditions),
        }


def _leaf(field: str, op: str, value: Any = None) -> dict[str, Any]:
    return {"field": field, "op": op} if value is None else {"field": field, "op": op, "value": value}


GLOBAL_TEMPLATES: tuple[RuleTemplate, ...] = (
    RuleTemplate(
        "amazon_restricted_categories",
        "Amazon: restricted categories",
        "Blocks alcohol, medicines, weapons, tobacco, e-cigarettes and supplements on Amazon, which "
        "needs its approval before a new seller lists them.",
        "category",
        "block",
        100,
        {
            "all": [
                _leaf("marketplace", "starts_with", "amazon"),
                _leaf("category", "contains_any", list(AMAZON_RESTRICTED_WORDS)),
            ]
        },
    ),
    RuleTemplate(
        "negative_margin",
        "Margin below 0 %",
        "Blocks a listing that would lose money on each sale, after the marketplace's fee.",
        "budget",
        "block",
        100,
        _leaf("margin_percent", "lt", 0),
    ),
    RuleTemplate(
        "low_margin",
        "Margin below 10 %",
        "Warns about a listing whose margin leaves little room for returns and price changes.",
        "budget",
        "warn",
        50,
        _leaf("margin_percent", "lt", 10),
    ),
    RuleTemplate(
        "price_needs_review",
        "Price needs review",
        "Warns when pricing could not decide a price on its own (a floor above the maximum, a big jump).",
        "budget",
        "warn",
        40,
        _leaf("price_status", "eq", "needs_review"),
    ),
    RuleTemplate(
        "low_quality",
        "Quality score below 60",
        "Warns about a listing with a weak title, few images or missing specifications.",
        "quality",
        "warn",
        30,
        _leaf("quality_score", "lt", 60),
    ),
    RuleTemplate(
        "kaufland_needs_valid_ean",
        "Kaufland: no valid EAN",
        "Blocks listings without a valid EAN on Kaufland, which finds the product by its EAN.",
        "product",
        "block",
        100,
        {
            "all": [
                _leaf("marketplace", "starts_with", "kaufland"),
                {"any": [_leaf("ean_valid", "eq", False), _leaf("ean", "missing")]},
            ]
        },
    ),
    RuleTemplate(
        "out_of_stock",
        "Out of stock",
        "Warns about a listing with no stock at the source: it would sell what cannot be shipped.",
        "product",
        "warn",
        60,
        _leaf("stock", "lte", 0),
    ),
    RuleTemplate(
        "preferred_brand",
        "Preferred brand",
        "Prefers listings of the brands named (Sony is an example: list your own).",
        "product",
        "prefer",
        10,
        _leaf("brand", "in", ["Sony"]),
    ),
)
