"""A seller's rules, and what they say about one listing: ok, warning or blocked, and why.

Rules of a rule (``Rule`` refuses anything else, naming every problem at once, each a ``Problem``
with the path it is about as data: ("weight",), ("conditions", "all", 1, "op")):

* ``name`` is not blank; ``type`` is category, product, budget or quality (it groups rules for the
  seller, it does not change how they are evaluated); ``action`` is block, warn or prefer.
* ``weight`` is a whole number from 0 to ``MAX_WEIGHT``: it orders rules of the same action and
  adds up into a listing's preference.
* ``conditions`` follow the conditions module. The rule keeps a read-only copy, compiled once into
  closures when the rule is made, so a caller changing its dict later changes nothing.

Rules of evaluation (``evaluate``):

* A rule fires when it is enabled and its conditions hold for the facts; disabled rules never fire.
* Any fired block → "blocked"; else any fired warn → "warning"; else "ok" (prefer never changes
  the status). ``preference`` is the sum of the weights of the fired prefer rules.
* Fired rules are listed block first, then warn, then prefer; within an action by weight, the
  heaviest first, then by rule id. Each comes with one reason built from the conditions that made
  it fire.
* ``worst`` combines statuses (a product over several marketplaces): blocked > warning > ok.
* ``rules_fingerprint`` changes exactly when the enabled rules' content does, whatever their order:
  stored next to a score, it lets the stage skip products whose rules and data did not change.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

from models.rules import ACTIONS, MAX_WEIGHT, RULE_TYPES, Action, RuleType
from services.rules.conditions import CompiledCondition, Problem, compile_conditions, condition_problems

EvaluationStatus = Literal["ok", "warning", "blocked"]

# Bumped when evaluation changes meaning, so that fingerprints stored before no longer match.
_FINGERPRINT_VERSION = "rules/1"
_ACTION_ORDER: Mapping[str, int] = {"block": 0, "warn": 1, "prefer": 2}
_SEVERITY: Mapping[EvaluationStatus, int] = {"ok": 0, "warning": 1, "blocked": 2}
_STATUS_OF: Mapping[Action, EvaluationStatus] = {"block": "blocked", "warn": "warning", "prefer": "ok"}


class InvalidRule(ValueError):
    """The rule cannot be used; ``problems`` lists why, each with the path it is about ("weight",)
    and in words a seller understands."""

    def __init__(self, name: object, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__(f"rule {name!r} is not valid: {'; '.join(self.messages)}")

    @property
    def messages(self) -> list[str]:
        return [problem.message for problem in self.problems]


def rule_problems(
    name: object, type: object, action: object, weight: object, conditions: object
) -> list[Problem]:
    """Everything that makes a rule (or a template) unusable, each with its path; empty when valid."""
    problems = []
    if not isinstance(name, str) or not name.strip():
        problems.append(Problem(("name",), "name must not be empty"))
    if type not in RULE_TYPES:
        problems.append(Problem(("type",), f"unknown type {type!r}; use one of {', '.join(RULE_TYPES)}"))
    if action not in ACTIONS:
        problems.append(Problem(("action",), f"unknown action {action!r}; use one of {', '.join(ACTIONS)}"))
    if isinstance(weight, bool) or not isinstance(weight, int) or not 0 <= weight <= MAX_WEIGHT:
        problems.append(
            Problem(("weight",), f"weight must be a whole number from 0 to {MAX_WEIGHT}, got {weight!r}")
        )
    return problems + condition_problems(conditions)


@dataclass(frozen=True, slots=True)
class FiredRule:
    """A rule that fired on a listing, and why ("category 'Alkohol > Wino' contains 'alkohol'")."""

    rule_id: int
    name: str
    type: RuleType
    action: Action
    weight: int
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {
            "rule_id": self.rule_id,
            "name": self.name,
            "type": self.type,
            "action": self.action,
            "weight": self.weight,
            "reason": self.reason,
        }


@dataclass(frozen=True, slots=True)
class Rule:
    """A seller's rule: when its conditions hold, it blocks, warns about or prefers a listing."""

    id: int
    name: str
    type: RuleType
    action: Action
    weight: int
    conditions: Mapping[str, Any]
    enabled: bool = True
    _compiled: CompiledCondition = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        problems = rule_problems(self.name, self.type, self.action, self.weight, self.conditions)
        if isinstance(self.id, bool) or not isinstance(self.id, int):
            problems.insert(0, Problem(("id",), f"id must be a whole number, got {self.id!r}"))
        if not isinstance(self.enabled, bool):
            problems.append(Problem(("enabled",), f"enabled must be true or false, got {self.enabled!r}"))
        if problems:
            raise InvalidRule(self.name, problems)
        object.__setattr__(self, "conditions", freeze(self.conditions))
        object.__setattr__(self, "_compiled", compile_conditions(self.conditions))

    def fire(self, facts: Mapping[str, Any]) -> FiredRule | None:
        """The rule as fired on these facts, or None when it is disabled or does not hold."""
        compiled = self._compiled
        if not self.enabled or not compiled.test(facts):
            return None
        return FiredRule(self.id, self.name, self.type, self.action, self.weight, compiled.explain(facts))

    def __reduce__(self) -> tuple[Callable[..., Rule], tuple[Any, ...]]:
        # Closures and read-only mappings cannot be pickled or deep-copied: rebuild from content.
        conditions = thaw(self.conditions)
        return Rule, (self.id, self.name, self.type, self.action, self.weight, conditions, self.enabled)

    def to_json(self) -> dict[str, Any]:
        """JSON-ready, with the conditions as plain dicts and lists."""
        return {
            "id": self.id,
            "name": self.name,
            "type": self.type,
            "action": self.action,
            "weight": self.weight,
            "conditions": thaw(self.conditions),
            "enabled": self.enabled,
        }


@dataclass(frozen=True, slots=True)
class Evaluation:
    """What the rules say about one listing on one marketplace."""

    status: EvaluationStatus
    fired: list[FiredRule]
    preference: int

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "preference": self.preference,
            "fired": [fired.to_json() for fired in self.fired],
        }


def evaluate(rules: Sequence[Rule], facts: Mapping[str, Any]) -> Evaluation:
    """The status of a listing with these facts under these rules; see the module's rules."""
    fired = [result for rule in rules if (result := rule.fire(facts)) is not None]
    if not fired:  # the usual case: no sorting, no sums
        return Evaluation("ok", fired, 0)
    fired.sort(key=_order)
    # Sorted, the first rule has the most severe action of all that fired.
    preference = sum(result.weight for result in fired if result.action == "prefer")
    return Evaluation(_STATUS_OF[fired[0].action], fired, preference)


def _order(result: FiredRule) -> tuple[int, int, int]:
    return _ACTION_ORDER[result.action], -result.weight, result.rule_id


def worst(statuses: Iterable[EvaluationStatus]) -> EvaluationStatus:
    """The most severe status: blocked > warning > ok; no statuses at all are ok."""
    return max(statuses, key=_SEVERITY.__getitem__, default="ok")


def rules_fingerprint(rules: Sequence[Rule]) -> str:
    """A sha256 hex digest of the enabled rules' content, the same in any order."""
    contents = sorted(
        json.dumps(rule.to_json(), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        for rule in rules
        if rule.enabled
    )
    payload = json.dumps([_FINGERPRINT_VERSION, contents], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(payload.encode()).hexdigest()


def freeze(value: Any) -> Any:
    """A read-only copy of JSON: objects as read-only mappings, lists as tuples."""
    if isinstance(value, Mapping):
        return MappingProxyType({key: freeze(item) for key, item in value.items()})
    if isinstance(value, list | tuple):
        return tuple(freeze(item) for item in value)
    return value


def thaw(value: Any) -> Any:
    """Plain JSON again, for the API and for hashing: dicts and lists."""
    if isinstance(value, Mapping):
        return {key: thaw(item) for key, item in value.items()}
    if isinstance(value, tuple):
        return [thaw(item) for item in value]
    return value
