"""Stored rules and templates: the pure rules the score stage uses, validation, templates."""

from __future__ import annotations

from typing import Any

import pytest

from models import RuleRow
from services.rules import GLOBAL_TEMPLATES, InvalidRule, Rule
from services.rules import store as rule_store
from services.rules.store import (
    GlobalTemplateReadOnly,
    InvalidRuleValues,
    RuleFields,
    RuleNotFound,
    TemplateKeyTaken,
    TemplateNotFound,
    enabled_rules,
)

CHEAP: dict[str, Any] = {"field": "price", "op": "lt", "value": 10}
RULE: RuleFields = {
    "name": "Cheap stuff",
    "type": "budget",
    "action": "warn",
    "weight": 20,
    "conditions": CHEAP,
}


def problems_of(fields):
    with pytest.raises(InvalidRuleValues) as caught:
        rule_store.validate_rule({"weight": 0, "enabled": True, **fields})
    return {problem.loc: problem.message for problem in caught.value.problems}


class TestEnabledRules:
    def test_pure_rules_of_the_enabled_ones_by_id(self, db_session):
        first = rule_store.create_rule(db_session, RULE)
        rule_store.create_rule(db_session, {**RULE, "name": "Off", "enabled": False})
        third = rule_store.create_rule(
            db_session,
            {
                **RULE,
                "name": "Sony",
                "action": "prefer",
                "conditions": {"field": "brand", "op": "eq", "value": "Sony"},
            },
        )

        rules = enabled_rules(db_session)

        assert all(isinstance(rule, Rule) for rule in rules)
        assert [rule.id for rule in rules] == [first.id, third.id]
        assert rules[0] == Rule(first.id, "Cheap stuff", "budget", "warn", 20, CHEAP, True)
        assert rules[0].fire({"price": 5}) is not None

    def test_none_at_all(self, db_session):
        assert enabled_rules(db_session) == []

    def test_a_stored_rule_no_longer_valid_is_named(self, db_session):
        row = RuleRow(
            name="Old",
            type="budget",
            action="block",
            weight=0,
            conditions={"field": "gone_field", "op": "exists"},
            enabled=True,
        )
        db_session.add(row)
        db_session.flush()
        with pytest.raises(InvalidRule, match=f"#{row.id} Old"):
            enabled_rules(db_session)


class TestValidation:
    def test_every_problem_with_its_path(self):
        problems = problems_of(
            {
                "name": " ",
                "type": "colour",
                "action": "ban",
                "weight": -1,
                "conditions": {
                    "all": [
                        CHEAP,
                        {"field": "prize", "op": "lt", "value": 1},
                        {"field": "price", "op": "less"},
                    ]
                },
            }
        )
        assert set(problems) == {
            ("name",),
            ("type",),
            ("action",),
            ("weight",),
            ("conditions", "all", 1, "field"),
            ("conditions", "all", 2, "op"),
        }
        assert "price" in problems[("conditions", "all", 1, "field")]  # did you mean

    def test_conditions_must_be_an_object(self):
        assert list(problems_of({**RULE, "conditions": [CHEAP]})) == [("conditions",)]
        assert list(problems_of({**RULE, "conditions": None})) == [("conditions",)]

    def test_conditions_are_bounded_when_serialized(self):
        huge = {"any": [{"field": "title", "op": "contains", "value": "x" * 400} for _ in range(60)]}
        problems = problems_of({**RULE, "name": "", "conditions": huge})
        assert set(problems) == {("name",), ("conditions",)}
        assert "20000" in problems[("conditions",)]

    def test_what_postgres_cannot_store(self):
        problems = problems_of(
            {**RULE, "name": "a\x00b", "conditions": {"field": "title", "op": "contains", "value": "a\x00"}}
        )
        assert set(problems) == {("name",), ("conditions", "value")}
        problems = problems_of({**RULE, "conditions": {"field": "price", "op": "lt", "value": 10**30}})
        assert set(problems) == {("conditions", "value")}

    def test_a_long_name(self):
        assert "200" in problems_of({**RULE, "name": "x" * 201})[("name",)]


class TestRules:
    def test_create_read_update_delete(self, db_session):
        row = rule_store.create_rule(db_session, {**RULE, "name": "  Cheap stuff "})
        assert (row.name, row.enabled, row.template_key, row.conditions) == ("Cheap stuff", True, None, CHEAP)
        assert rule_store.get_rule(db_session, row.id) is row

        changed = rule_store.update_rule(db_session, row.id, {"weight": 30, "enabled": False})
        assert (changed.weight, changed.enabled, changed.name) == (30, False, "Cheap stuff")
        with pytest.raises(InvalidRuleValues):
            rule_store.update_rule(
                db_session, row.id, {"conditions": {"field": "price", "op": "contains", "value": "x"}}
            )

        rule_store.delete_rule(db_session, row.id)
        with pytest.raises(RuleNotFound):
            rule_store.get_rule(db_session, row.id)
        with pytest.raises(RuleNotFound):
            rule_store.delete_rule(db_session, row.id)
        with pytest.raises(RuleNotFound):
            rule_store.update_rule(db_session, row.id, {"weight": 1})

    def test_filters(self, db_session):
        a = rule_store.create_rule(db_session, RULE)
        b = rule_store.create_rule(db_session, {**RULE, "type": "quality", "action": "block"})
        c = rule_store.create_rule(db_session, {**RULE, "enabled": False})

        def ids(**filters):
            return [row.id for row in rule_store.list_rules(db_session, **filters)]

        assert ids() == [a.id, b.id, c.id]
        assert ids(type="quality") == [b.id]
        assert ids(action="warn") == [a.id, c.id]
        assert ids(enabled=False) == [c.id]
        assert ids(type="budget", enabled=True) == [a.id]


class TestTemplates:
    @pytest.mark.parametrize("template", GLOBAL_TEMPLATES, ids=lambda template: template.key)
    def test_a_rule_from_each_global_template(self, db_session, template):
        row = rule_store.create_from_template(db_session, template.key, {})
        assert (row.name, row.type, row.action, row.weight, row.template_key) == (
            template.name,
            template.type,
            template.action,
            template.weight,
            template.key,
        )
        assert row.conditions == template.to_json()["conditions"]
        assert rule_store.rule_from_row(row) == template.as_rule(row.id)

    def test_overrides(self, db_session):
        row = rule_store.create_from_template(
            db_session,
            "low_margin",
            {
                "name": "Margin below 15 %",
                "weight": 70,
                "enabled": False,
                "conditions": {"field": "margin_percent", "op": "lt", "value": 15},
            },
        )
        assert (row.name, row.weight, row.enabled, row.action) == ("Margin below 15 %", 70, False, "warn")
        assert row.conditions["value"] == 15

    def test_type_and_action_come_from_the_template(self, db_session):
        with pytest.raises(InvalidRuleValues) as caught:
            rule_store.create_from_template(db_session, "low_margin", {"type": "quality", "action": "block"})
        assert [problem.loc for problem in caught.value.problems] == [("type",), ("action",)]

    def test_unknown_template(self, db_session):
        with pytest.raises(TemplateNotFound, match="'nope'"):
            rule_store.create_from_template(db_session, "nope", {})

    def test_saved_templates(self, db_session):
        saved = rule_store.save_template(
            db_session,
            {
                "key": "cheap",
                "name": "Cheap",
                "description": "Under 10",
                "type": "budget",
                "action": "warn",
                "weight": 5,
                "conditions": CHEAP,
            },
        )
        assert (saved.key, saved.is_global) == ("cheap", False)
        views = rule_store.list_templates(db_session)
        assert [view.key for view in views] == [*(t.key for t in GLOBAL_TEMPLATES), "cheap"]
        assert [view.is_global for view in views] == [True] * len(GLOBAL_TEMPLATES) + [False]

        row = rule_store.create_from_template(db_session, "cheap", {})
        assert (row.template_key, row.name, row.conditions) == ("cheap", "Cheap", CHEAP)

        with pytest.raises(TemplateKeyTaken, match="already exists"):
            rule_store.save_template(
                db_session,
                {"key": "cheap", "name": "x", "type": "budget", "action": "warn", "conditions": CHEAP},
            )
        rule_store.delete_template(db_session, "cheap")
        with pytest.raises(TemplateNotFound):
            rule_store.delete_template(db_session, "cheap")
        # The rule keeps its record of where it came from.
        assert rule_store.get_rule(db_session, row.id).template_key == "cheap"

    def test_a_global_key_cannot_be_taken_nor_deleted(self, db_session):
        with pytest.raises(TemplateKeyTaken, match="global"):
            rule_store.save_template(
                db_session,
                {"key": "low_margin", "name": "x", "type": "budget", "action": "warn", "conditions": CHEAP},
            )
        with pytest.raises(GlobalTemplateReadOnly, match="global templates cannot be deleted"):
            rule_store.delete_template(db_session, "low_margin")

    def test_a_template_is_validated_like_a_rule_plus_its_key(self, db_session):
        with pytest.raises(InvalidRuleValues) as caught:
            rule_store.save_template(
                db_session,
                {"key": "Bad Key", "name": "", "type": "budget", "action": "warn", "conditions": {}},
            )
        assert {problem.loc for problem in caught.value.problems} == {("key",), ("name",), ("conditions",)}
