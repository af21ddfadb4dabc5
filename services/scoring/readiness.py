"""Whether a listing may go out on its marketplace, and every reason it may not. Pure: no I/O.

A listing is publishable when it has no blocker. Each blocker is a code and a sentence for the seller:

* ``language``: the copy is not in the marketplace's language. The description decides; when it is
  undetermined (too short, or only names and numbers), the title does; a copy whose language cannot be
  told blocks nothing by itself.
* ``price``: no price, a price held for review (proposed, not applied), or a price below the floor
  (the price stage's floor for the listing, services.pricing.margin: a held price says so too when
  the price still applied is below it).
* ``rules``: a block rule of the seller's fired (each is named).
* ``missing``: what the marketplace requires (services.marketplaces): a valid EAN where it keys its
  catalogue by one, enough images, a title within its rules.
* ``copy``: the job asked for the model's copy (``optimize: true``) and the listing did not get it.

Publishing, feeds and sync send only publishable listings; the rest say why here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from services.marketplaces import MarketplaceRules, check_title, language_name
from services.scoring.facts import ListingFacts

BlockerCode = Literal["language", "price", "rules", "missing", "copy"]
BLOCKER_CODES: tuple[BlockerCode, ...] = ("language", "price", "rules", "missing", "copy")
OPTIMIZED = "optimized"


@dataclass(frozen=True, slots=True)
class Blocker:
    code: BlockerCode
    message: str

    def to_json(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}


@dataclass(frozen=True, slots=True)
class ListingState:
    """What the other stages decided about the listing, beyond its facts."""

    title_language: str | None  # ISO 639-1 code; None: undetermined
    description_language: str | None
    price_status: str | None  # priced / needs_review / no_price; None: not priced
    price_reasons: tuple[str, ...] = ()  # why a price needs review
    below_floor: str | None = None  # the floor, written for the seller, when the price is below it
    block_rules: tuple[str, ...] = ()  # names of the seller's block rules that fired
    copy_required: bool = False  # the job asked for the model's copy
    ai_status: str | None = None
    ai_reason: str | None = None


@dataclass(frozen=True, slots=True)
class Readiness:
    blockers: tuple[Blocker, ...]
    language: str | None  # the copy's language, as detected (None: undetermined)

    @property
    def publishable(self) -> bool:
        return not self.blockers

    def blockers_json(self) -> list[dict[str, Any]]:
        return [blocker.to_json() for blocker in self.blockers]


def copy_language(title_language: str | None, description_language: str | None) -> str | None:
    """The copy's language: its description's, else its title's; None when neither can be told."""
    return description_language or title_language


def readiness(facts: ListingFacts, state: ListingState, rules: MarketplaceRules) -> Readiness:
    """The listing's blockers, in the order of the codes (module docstring)."""
    blockers: list[Blocker] = []
    language = copy_language(state.title_language, state.description_language)
    blockers += _language(state, rules)
    blockers += _price(state)
    if state.block_rules:
        named = ", ".join(f"'{name}'" for name in state.block_rules)
        blockers.append(
            Blocker("rules", f"blocked by your rule{'s' if len(state.block_rules) > 1 else ''} {named}")
        )
    blockers += _missing(facts, rules, fitted=state.ai_status != OPTIMIZED)
    if state.copy_required and state.ai_status != OPTIMIZED:
        why = f": {state.ai_reason}" if state.ai_reason else ""
        blockers.append(Blocker("copy", f"the job asked for AI copy and this listing has none{why}"))
    return Readiness(tuple(blockers), language)


def _language(state: ListingState, rules: MarketplaceRules) -> list[Blocker]:
    wanted = rules.language
    wrong = [
        (part, found)
        for part, found in (("description", state.description_language), ("title", state.title_language))
        if found is not None and found != wanted
    ]
    if not wrong:
        return []
    parts = " and ".join(f"its {part} is in {language_name(found)}" for part, found in wrong)
    return [Blocker("language", f"{rules.name} lists in {language_name(wanted)}: {parts}")]


def _price(state: ListingState) -> list[Blocker]:
    if state.price_status in (None, "no_price"):
        return [Blocker("price", "no price: neither competitors nor the source price could set one")]
    if state.price_status == "needs_review":
        why = "; ".join(state.price_reasons) or "the price needs review"
        if state.below_floor is not None:  # the price still applied, kept meanwhile, is below it
            why += f"; the price applied now is below the floor of {state.below_floor}"
        return [Blocker("price", f"price held for review (proposed, not applied): {why}")]
    if state.below_floor is not None:
        return [Blocker("price", f"price below the floor of {state.below_floor}")]
    return []


def _missing(facts: ListingFacts, rules: MarketplaceRules, *, fitted: bool) -> list[Blocker]:
    """`fitted`: the title is the normalizer's, fitted to the marketplace (it passes its rules by
    construction, services.marketplaces.fit_title), so only the model's title is checked again."""
    missing: list[Blocker] = []
    if rules.requires_ean:
        if facts.gtin is None:
            missing.append(Blocker("missing", f"{rules.name} needs an EAN (GTIN) and the product has none"))
        elif facts.gtin_valid is False:
            missing.append(
                Blocker("missing", f"{rules.name} needs a valid EAN: {facts.gtin} fails its check")
            )
    if len(facts.images) < rules.min_images:
        needed = "an image" if rules.min_images == 1 else f"{rules.min_images} images"
        missing.append(
            Blocker("missing", f"{rules.name} needs {needed}, the listing has {len(facts.images)}")
        )
    if not facts.title.strip():
        missing.append(Blocker("missing", "the listing has no title"))
    elif not fitted and (problems := check_title(facts.title, rules.marketplace)):
        missing.append(Blocker("missing", f"the title breaks {rules.name}'s rules: {'; '.join(problems)}"))
    return missing
