"""Rules and their evaluation: statuses, ordering, preference, disabled rules, fingerprints."""

from __future__ import annotations

import copy
import dataclasses
import pickle
import random
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.rules import (
    Evaluation,
    FiredRule,
    InvalidRule,
    Problem,
    Rule,
    evaluate,
    rules_fingerprint,
    worst,
)

D = Decimal
CHEAP = {"field": "price", "op": "lt", "value": 10}
ALWAYS = {"field": "marketplace", "op": "exists"}
NEVER = {"field": "marketplace", "op": "missing"}
FACTS = {"marketplace": "amazon_de", "price": D("8.50"), "stock": 0}


def rule(rule_id: int = 1, **changes: Any) -> Rule:
    values: dict[str, Any] = {
        "id": rule_id,
        "name": f"rule {rule_id}",
        "type": "budget",
        "action": "warn",
        "weight": 10,
        "conditions": CHEAP,
    }
    return Rule(**(values | changes))


def test_a_rule_is_made_from_valid_values():
    made = rule(conditions={"all": [CHEAP, ALWAYS]})
    assert made.enabled is True
    assert made.to_json() == {
        "id": 1,
        "name": "rule 1",
        "type": "budget",
        "action": "warn",
        "weight": 10,
        "conditions": {"all": [CHEAP, ALWAYS]},
        "enabled": True,
    }


@pytest.mark.parametrize(
    ("changes", "loc", "problem"),
    [
        ({"name": " "}, ("name",), "name must not be empty"),
        ({"name": None}, ("name",), "name must not be empty"),
        ({"type": "brand"}, ("type",), "unknown type 'brand'; use one of category, product, budget, quality"),
        ({"action": "blok"}, ("action",), "unknown action 'blok'; use one of block, warn, prefer"),
        ({"weight": -1}, ("weight",), "weight must be a whole number from 0 to 1000, got -1"),
        ({"weight": 1001}, ("weight",), "weight must be a whole number from 0 to 1000, got 1001"),
        ({"weight": 2.5}, ("weight",), "weight must be a whole number from 0 to 1000, got 2.5"),
        ({"weight": True}, ("weight",), "weight must be a whole number from 0 to 1000, got True"),
        ({"weight": "10"}, ("weight",), "weight must be a whole number from 0 to 1000, got '10'"),
        ({"id": "7"}, ("id",), "id must be a whole number, got '7'"),
        ({"id": False}, ("id",), "id must be a whole number, got False"),
        ({"enabled": "yes"}, ("enabled",), "enabled must be true or false, got 'yes'"),
        (
            {"conditions": {"field": "prise", "op": "exists"}},
            ("conditions", "field"),
            "conditions.field: unknown field 'prise'",
        ),
    ],
)
def test_impossible_rules_are_refused_with_a_clear_message(changes, loc, problem):
    with pytest.raises(InvalidRule) as caught:
        rule(**changes)
    assert len(caught.value.problems) == 1
    assert caught.value.problems[0].loc == loc
    assert caught.value.problems[0].message.startswith(problem)
    assert caught.value.messages == [caught.value.problems[0].message]
    name = changes.get("name", "rule 1")
    assert str(caught.value) == f"rule {name!r} is not valid: {caught.value.problems[0].message}"


def test_weights_at_the_bounds_are_accepted():
    assert rule(weight=0).weight == 0
    assert rule(weight=1000).weight == 1000


def test_every_problem_of_a_rule_is_named_at_once():
    with pytest.raises(InvalidRule) as caught:
        rule(name="", type="x", action="y", weight=-5, conditions={"all": [{"field": "price", "op": "lt"}]})
    assert caught.value.problems == [
        Problem(("name",), "name must not be empty"),
        Problem(("type",), "unknown type 'x'; use one of category, product, budget, quality"),
        Problem(("action",), "unknown action 'y'; use one of block, warn, prefer"),
        Problem(("weight",), "weight must be a whole number from 0 to 1000, got -5"),
        Problem(("conditions", "all", 0), 'conditions.all[0]: "value" is missing; price lt needs a number'),
    ]


def test_a_rule_keeps_its_own_read_only_copy_of_the_conditions():
    conditions: dict[str, Any] = {"any": [{"field": "brand", "op": "in", "value": ["Sony"]}]}
    made = rule(conditions=conditions, action="prefer")
    conditions["any"][0]["value"].append("JBL")
    conditions["any"].append(ALWAYS)
    assert made.fire({"brand": "JBL", "marketplace": "amazon_de"}) is None
    assert made.to_json()["conditions"] == {"any": [{"field": "brand", "op": "in", "value": ["Sony"]}]}
    with pytest.raises(TypeError):
        made.conditions["any"] = []  # type: ignore[index]
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.weight = 3  # type: ignore[misc]


def test_replace_makes_a_new_checked_rule():
    made = rule()
    assert dataclasses.replace(made, conditions=NEVER).fire(FACTS) is None
    assert dataclasses.replace(made, enabled=False).fire(FACTS) is None
    assert made.fire(FACTS) is not None
    with pytest.raises(InvalidRule):
        dataclasses.replace(made, weight=5000)


def test_a_rule_survives_pickling_and_copying():
    made = rule(conditions={"all": [CHEAP, {"not": NEVER}]}, enabled=False)
    pickled = pickle.loads(pickle.dumps(made))  # noqa: S301 - the bytes were made just above
    for copied in (pickled, copy.deepcopy(made), copy.copy(made)):
        assert copied == made
        assert dataclasses.replace(copied, enabled=True).fire(FACTS) is not None


def test_rules_with_the_same_content_are_equal_whatever_the_sequences_were():
    assert rule(conditions={"all": [CHEAP]}) == rule(conditions={"all": (CHEAP,)})
    assert rule() != rule(weight=11)


def test_a_fired_rule_names_the_rule_and_the_reason():
    fired = rule(7, name="Cheap", type="budget", action="warn", weight=30).fire(FACTS)
    assert fired == FiredRule(7, "Cheap", "budget", "warn", 30, "price 8,50 is below 10")
    assert fired.to_json() == {
        "rule_id": 7,
        "name": "Cheap",
        "type": "budget",
        "action": "warn",
        "weight": 30,
        "reason": "price 8,50 is below 10",
    }


def test_nothing_fired_is_ok():
    assert evaluate([], FACTS) == Evaluation("ok", [], 0)
    assert evaluate([rule(conditions=NEVER, action="block")], FACTS) == Evaluation("ok", [], 0)


@pytest.mark.parametrize(
    ("actions", "status"),
    [
        (["prefer"], "ok"),
        (["warn"], "warning"),
        (["warn", "prefer"], "warning"),
        (["block"], "blocked"),
        (["prefer", "warn", "block"], "blocked"),
        (["block", "block"], "blocked"),
    ],
)
def test_block_beats_warn_beats_ok(actions, status):
    rules = [rule(index, action=action, conditions=ALWAYS) for index, action in enumerate(actions, 1)]
    assert evaluate(rules, FACTS).status == status


def test_fired_rules_are_ordered_by_action_then_weight_then_id():
    rules = [
        rule(1, action="prefer", weight=5, conditions=ALWAYS),
        rule(2, action="warn", weight=10, conditions=ALWAYS),
        rule(3, action="block", weight=1, conditions=ALWAYS),
        rule(4, action="warn", weight=50, conditions=ALWAYS),
        rule(5, action="prefer", weight=20, conditions=ALWAYS),
        rule(6, action="warn", weight=10, conditions=ALWAYS),
        rule(7, action="block", weight=100, conditions=ALWAYS),
        rule(8, action="warn", weight=99, conditions=NEVER),
    ]
    expected = [7, 3, 4, 2, 6, 5, 1]
    shuffled = list(rules)
    for seed in range(5):
        random.Random(seed).shuffle(shuffled)
        evaluation = evaluate(shuffled, FACTS)
        assert [fired.rule_id for fired in evaluation.fired] == expected
        assert evaluation.status == "blocked"
        assert evaluation.preference == 25


def test_preference_sums_the_weights_of_fired_prefer_rules_only():
    rules = [
        rule(1, action="prefer", weight=10, conditions=ALWAYS),
        rule(2, action="prefer", weight=15, conditions=CHEAP),
        rule(3, action="prefer", weight=100, conditions=NEVER),
        rule(4, action="warn", weight=40, conditions=ALWAYS),
    ]
    assert evaluate(rules, FACTS).preference == 25
    assert evaluate(rules, {"marketplace": "ebay_de", "price": 20}).preference == 10


def test_disabled_rules_never_fire():
    rules = [
        rule(1, action="block", conditions=ALWAYS, enabled=False),
        rule(2, action="prefer", weight=50, conditions=ALWAYS, enabled=False),
        rule(3, action="warn", conditions=CHEAP),
    ]
    evaluation = evaluate(rules, FACTS)
    assert evaluation.status == "warning"
    assert [fired.rule_id for fired in evaluation.fired] == [3]
    assert evaluation.preference == 0
    assert rules[0].fire(FACTS) is None


def test_an_evaluation_as_json():
    rules = [
        rule(1, name="Cheap", action="warn", weight=20),
        rule(2, name="Sony", type="product", action="prefer", weight=5, conditions=ALWAYS),
    ]
    assert evaluate(rules, FACTS).to_json() == {
        "status": "warning",
        "preference": 5,
        "fired": [
            {
                "rule_id": 1,
                "name": "Cheap",
                "type": "budget",
                "action": "warn",
                "weight": 20,
                "reason": "price 8,50 is below 10",
            },
            {
                "rule_id": 2,
                "name": "Sony",
                "type": "product",
                "action": "prefer",
                "weight": 5,
                "reason": "marketplace is set: 'amazon_de'",
            },
        ],
    }


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        ([], "ok"),
        (["ok"], "ok"),
        (["ok", "warning"], "warning"),
        (["warning", "blocked", "ok"], "blocked"),
        (["blocked", "warning"], "blocked"),
        (["warning", "warning"], "warning"),
    ],
)
def test_worst_status(statuses, expected):
    assert worst(statuses) == expected
    assert worst(iter(statuses)) == expected


def test_the_fingerprint_is_a_sha256_hex_digest_independent_of_order():
    rules = [rule(1), rule(2, action="block", conditions=ALWAYS), rule(3, action="prefer", weight=4)]
    fingerprint = rules_fingerprint(rules)
    assert len(fingerprint) == 64
    assert int(fingerprint, 16) >= 0
    assert rules_fingerprint(list(reversed(rules))) == fingerprint
    assert rules_fingerprint(rules[1:] + rules[:1]) == fingerprint
    only_disabled = [dataclasses.replace(r, enabled=False) for r in rules]
    assert rules_fingerprint(only_disabled) == rules_fingerprint([])  # no rule in force: one fingerprint
    assert rules_fingerprint([]) != fingerprint


def test_the_fingerprint_ignores_disabled_rules():
    rules = [rule(1), rule(2, conditions=ALWAYS)]
    disabled = dataclasses.replace(rules[1], enabled=False)
    assert rules_fingerprint([rules[0], disabled]) == rules_fingerprint([rules[0]])
    assert rules_fingerprint([rules[0], disabled]) != rules_fingerprint(rules)


@pytest.mark.parametrize(
    "changes",
    [
        {"id": 9},
        {"name": "renamed"},
        {"type": "quality"},
        {"action": "block"},
        {"weight": 11},
        {"conditions": {"field": "price", "op": "lt", "value": 11}},
        {"conditions": {"field": "price", "op": "lte", "value": 10}},
        {"conditions": {"all": [CHEAP, ALWAYS]}},
    ],
)
def test_the_fingerprint_changes_with_any_content_of_an_enabled_rule(changes):
    before = [rule(1), rule(2, conditions=ALWAYS)]
    after = [dataclasses.replace(before[0], **changes), before[1]]
    assert rules_fingerprint(after) != rules_fingerprint(before)


def test_the_fingerprint_does_not_depend_on_how_the_conditions_were_given():
    keys_reordered = {"value": 10, "op": "lt", "field": "price"}
    assert rules_fingerprint([rule(conditions=keys_reordered)]) == rules_fingerprint([rule()])
    assert rules_fingerprint([rule(conditions={"any": (CHEAP,)})]) == rules_fingerprint(
        [rule(conditions={"any": [CHEAP]})]
    )


_STATUSES = st.sampled_from(["ok", "warning", "blocked"])


@given(st.lists(st.tuples(st.sampled_from(["block", "warn", "prefer"]), st.integers(0, 1000), st.booleans())))
def test_evaluation_properties(specs):
    rules = [
        rule(index, action=action, weight=weight, conditions=ALWAYS if holds else NEVER)
        for index, (action, weight, holds) in enumerate(specs)
    ]
    evaluation = evaluate(rules, FACTS)
    fired_actions = [action for action, _, holds in specs if holds]
    assert len(evaluation.fired) == len(fired_actions)
    assert evaluation.preference == sum(w for action, w, holds in specs if holds and action == "prefer")
    order = {"block": 0, "warn": 1, "prefer": 2}
    keys = [(order[f.action], -f.weight, f.rule_id) for f in evaluation.fired]
    assert keys == sorted(keys)
    expected = "blocked" if "block" in fired_actions else "warning" if "warn" in fired_actions else "ok"
    assert evaluation.status == expected
    assert worst([evaluation.status, "ok"]) == evaluation.status


@given(st.lists(_STATUSES))
def test_worst_is_the_most_severe(statuses):
    severity = {"ok": 0, "warning": 1, "blocked": 2}
    assert severity[worst(statuses)] == max((severity[s] for s in statuses), default=0)
