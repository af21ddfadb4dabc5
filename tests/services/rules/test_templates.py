"""Ready-made rules: each one valid, and each firing on the listings it is meant for."""

from __future__ import annotations

import copy
import pickle
from decimal import Decimal
from typing import Any

import pytest

from services.rules import FIELDS, GLOBAL_TEMPLATES, InvalidRule, RuleTemplate, evaluate

D = Decimal
TEMPLATES = {template.key: template for template in GLOBAL_TEMPLATES}

# A listing no template objects to (the preferred brand aside, which is not Sony here).
FINE: dict[str, Any] = {
    "marketplace": "amazon_de",
    "source": "allegro",
    "title": "Słuchawki bezprzewodowe JBL Tune 510BT",
    "brand": "JBL",
    "model": "Tune 510BT",
    "category": "Elektronika > RTV > Audio > Słuchawki",
    "ean": "6925281979293",
    "ean_valid": True,
    "currency": "EUR",
    "price": D("39.99"),
    "price_status": "priced",
    "cost": D("24.00"),
    "margin_percent": D("25.00"),
    "stock": 12,
    "quality_score": 81,
    "grade": "B",
    "images_count": 6,
    "competitors_count": 4,
    "specifications": ["Kolor", "Typ", "Łączność"],
    "language": "de",
    "language_matches": True,
}


def test_the_fine_listing_names_every_field():
    assert set(FINE) == set(FIELDS)


def test_template_keys_are_unique_and_every_template_is_a_valid_rule():
    assert len(TEMPLATES) == len(GLOBAL_TEMPLATES) >= 8
    for rule_id, template in enumerate(GLOBAL_TEMPLATES, 1):
        made = template.as_rule(rule_id)
        assert (made.id, made.name, made.type, made.action, made.weight) == (
            rule_id,
            template.name,
            template.type,
            template.action,
            template.weight,
        )
        assert made.to_json()["conditions"] == template.to_json()["conditions"]
        assert template.description.strip()


def test_no_template_fires_on_a_fine_listing():
    rules = [template.as_rule(rule_id) for rule_id, template in enumerate(GLOBAL_TEMPLATES, 1)]
    evaluation = evaluate(rules, FINE)
    assert (evaluation.status, evaluation.fired, evaluation.preference) == ("ok", [], 0)


@pytest.mark.parametrize(
    ("key", "changes", "action", "reason"),
    [
        (
            "amazon_restricted_categories",
            {"category": "Supermarket > Alkohole > Wino"},
            "block",
            "marketplace 'amazon_de' starts with 'amazon' and category 'Supermarket > Alkohole > Wino' "
            "contains 'alkohol'",
        ),
        (
            "amazon_restricted_categories",
            {"category": "Zdrowie > Leki i suplementy > Suplementy diety", "marketplace": "amazon_pl"},
            "block",
            "marketplace 'amazon_pl' starts with 'amazon' and category 'Zdrowie > Leki i suplementy > "
            "Suplementy diety' contains 'leki'",
        ),
        (
            "amazon_restricted_categories",
            {"category": "Sport > Myślistwo > BROŃ pneumatyczna"},
            "block",
            "marketplace 'amazon_de' starts with 'amazon' and category 'Sport > Myślistwo > BROŃ "
            "pneumatyczna' contains 'broń'",
        ),
        (
            "amazon_restricted_categories",
            {"category": "Lebensmittel > Wein & Spirituosen"},
            "block",
            "marketplace 'amazon_de' starts with 'amazon' and category 'Lebensmittel > Wein & Spirituosen' "
            "contains 'wein'",
        ),
        ("negative_margin", {"margin_percent": D("-3.20")}, "block", "margin_percent -3,20 is below 0"),
        ("low_margin", {"margin_percent": D("8.50")}, "warn", "margin_percent 8,50 is below 10"),
        (
            "price_needs_review",
            {"price_status": "needs_review"},
            "warn",
            "price_status is 'needs_review'",
        ),
        ("low_quality", {"quality_score": 59.5}, "warn", "quality_score 59,5 is below 60"),
        (
            "kaufland_needs_valid_ean",
            {"marketplace": "kaufland_de", "ean_valid": False},
            "block",
            "marketplace 'kaufland_de' starts with 'kaufland' and ean_valid is false",
        ),
        (
            "kaufland_needs_valid_ean",
            {"marketplace": "kaufland_de", "ean": None, "ean_valid": None},
            "block",
            "marketplace 'kaufland_de' starts with 'kaufland' and ean is missing",
        ),
        ("out_of_stock", {"stock": 0}, "warn", "stock 0 is at most 0"),
        ("preferred_brand", {"brand": "SONY"}, "prefer", "brand 'SONY' is one of 'Sony'"),
    ],
)
def test_each_template_fires_on_the_listing_it_is_for(key, changes, action, reason):
    template = TEMPLATES[key]
    evaluation = evaluate([template.as_rule(1)], FINE | changes)
    assert [(fired.action, fired.reason) for fired in evaluation.fired] == [(action, reason)]
    assert evaluation.status == {"block": "blocked", "warn": "warning", "prefer": "ok"}[action]
    assert evaluation.preference == (template.weight if action == "prefer" else 0)


@pytest.mark.parametrize(
    ("key", "changes"),
    [
        ("amazon_restricted_categories", {"marketplace": "ebay_de", "category": "Alkohole > Wino"}),
        ("amazon_restricted_categories", {"marketplace": "amazon_de", "category": None}),
        ("negative_margin", {"margin_percent": D(0)}),
        ("negative_margin", {"margin_percent": None}),  # unknown is not negative
        ("low_margin", {"margin_percent": D(10)}),
        ("low_quality", {"quality_score": 60}),
        ("kaufland_needs_valid_ean", {"marketplace": "amazon_de", "ean_valid": False}),
        ("out_of_stock", {"stock": 1}),
        ("out_of_stock", {"stock": None}),
    ],
)
def test_templates_hold_back_where_they_should(key, changes):
    assert evaluate([TEMPLATES[key].as_rule(1)], FINE | changes).fired == []


def test_a_template_can_become_a_disabled_rule():
    made = TEMPLATES["out_of_stock"].as_rule(4, enabled=False)
    assert evaluate([made], FINE | {"stock": 0}).fired == []


def test_templates_as_json():
    as_json = TEMPLATES["low_margin"].to_json()
    assert as_json == {
        "key": "low_margin",
        "name": "Margin below 10 %",
        "description": as_json["description"],
        "type": "budget",
        "action": "warn",
        "weight": 50,
        "conditions": {"field": "margin_percent", "op": "lt", "value": 10},
    }


def test_an_invalid_template_is_refused():
    with pytest.raises(InvalidRule) as caught:
        RuleTemplate("x", "X", "", "budget", "warn", 5, {"field": "margin", "op": "lt", "value": 1})
    assert caught.value.problems[0].loc == ("conditions", "field")
    assert caught.value.problems[0].message.startswith("conditions.field: unknown field 'margin'")


def test_a_template_survives_pickling_and_copying():
    template = TEMPLATES["kaufland_needs_valid_ean"]
    assert pickle.loads(pickle.dumps(template)) == template  # noqa: S301 - bytes made here
    assert copy.deepcopy(template) == template
