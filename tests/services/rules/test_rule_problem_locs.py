"""A problem's path (``loc``) is data from the validator that found it, passed on as it is.

It is never read back from the message: rewording a message cannot move a problem in the API's
answer. The rule below gives problems whose words name another field, or no field at all.
"""

from __future__ import annotations

from typing import Any

import pytest

from models.rules import NAME_MAX_LENGTH
from services.rules import Problem, Rule, engine
from services.rules import store as rule_store
from services.rules.store import FieldProblem, InvalidRuleValues

VALID: dict[str, Any] = {
    "name": "Cheap stuff",
    "type": "budget",
    "action": "warn",
    "weight": 20,
    "conditions": {"field": "price", "op": "lt", "value": 10},
}
REWORDED = [
    Problem(("weight",), "too heavy: the name and type may stay, lower this"),  # names other fields
    Problem(("conditions", "any", 2, "value", 0), "this one is not a number"),  # names no path
    Problem(("type",), "conditions.all[0].op: words that look like another path"),
]


def test_the_store_passes_on_the_loc_the_rule_gave_whatever_the_words(monkeypatch):
    monkeypatch.setattr(engine, "rule_problems", lambda *values: list(REWORDED))
    with pytest.raises(InvalidRuleValues) as caught:
        rule_store.validate_rule(VALID)
    assert caught.value.problems == REWORDED


def test_the_store_adds_its_own_problems_beside_the_rules(monkeypatch):
    monkeypatch.setattr(engine, "rule_problems", lambda *values: list(REWORDED[:1]))
    with pytest.raises(InvalidRuleValues) as caught:
        rule_store.validate_rule({**VALID, "name": "x" * (NAME_MAX_LENGTH + 1)})
    assert [problem.loc for problem in caught.value.problems] == [("name",), ("weight",)]


def test_a_valid_rule_gives_no_problems_and_the_store_uses_the_rules_problem_type():
    assert isinstance(rule_store.validate_rule(VALID), Rule)
    assert FieldProblem is Problem  # the API's answer is built from these, loc and message as given


def test_real_problems_carry_their_paths():
    with pytest.raises(InvalidRuleValues) as caught:
        rule_store.validate_rule(
            {
                **VALID,
                "name": "",
                "weight": 5000,
                "conditions": {"all": [{"field": "price", "op": "lt", "value": "1"}, {"not": {"op": "x"}}]},
            }
        )
    assert [problem.loc for problem in caught.value.problems] == [
        ("name",),
        ("weight",),
        ("conditions", "all", 0, "value"),
        ("conditions", "all", 1, "not"),
        ("conditions", "all", 1, "not", "op"),
    ]
