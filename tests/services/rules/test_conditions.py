"""Conditions on facts: each operator on present, None and absent facts, and the reasons given."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.rules import (
    ACTIONS,
    FIELDS,
    GLOBAL_TEMPLATES,
    MATCH_TEXT_LIMIT,
    OPERATORS_BY_KIND,
    Rule,
    compile_conditions,
    evaluate,
)
from services.rules.conditions import pattern_problems

D = Decimal


def leaf(field: str, op: str, value: Any = None) -> dict[str, Any]:
    return {"field": field, "op": op} if value is None else {"field": field, "op": op, "value": value}


def holds(conditions: dict[str, Any], facts: dict[str, Any]) -> bool:
    return compile_conditions(conditions).test(facts)


def reason(conditions: dict[str, Any], facts: dict[str, Any]) -> str | None:
    return compile_conditions(conditions).reason(facts)


@pytest.mark.parametrize(
    ("condition", "fact", "expected"),
    [
        # numbers: int, float and Decimal facts against int and float values
        (leaf("price", "lt", 10), D("8.50"), True),
        (leaf("price", "lt", 10), D("10.00"), False),
        (leaf("price", "lt", 10), 9.99, True),
        (leaf("price", "lt", 10), 10, False),
        (leaf("price", "lte", 10), D("10.00"), True),
        (leaf("price", "lte", 10), 10.0001, False),
        (leaf("price", "gt", 10), 11, True),
        (leaf("price", "gt", 10), D(10), False),
        (leaf("price", "gte", 10), D(10), True),
        (leaf("price", "gte", 10), 9, False),
        (leaf("price", "eq", 10), D("10.00"), True),
        (leaf("price", "eq", 10), 10.0, True),
        (leaf("price", "ne", 10), 10, False),
        (leaf("price", "ne", 10), D("10.01"), True),
        # a Decimal is compared with the value as written, not with the float nearest to 10.1
        (leaf("price", "eq", 10.1), D("10.10"), True),
        (leaf("price", "gt", 10.1), D("10.1"), False),
        (leaf("price", "lt", 10.1), D("10.1"), False),
        (leaf("price", "gte", 10.1), D("10.1"), True),
        (leaf("price", "eq", 10.1), 10.1, True),
        (leaf("margin_percent", "lt", 0), D("-0.01"), True),
        (leaf("margin_percent", "lt", 0), D("-0"), False),
        (leaf("price", "in", [1, 2.5]), D("2.50"), True),
        (leaf("price", "in", [1, 2.5]), 1.0, True),
        (leaf("price", "in", [1, 2.5]), 2, False),
        (leaf("price", "not_in", [1, 2.5]), 2, True),
        (leaf("price", "not_in", [1, 2.5]), D("1.0"), False),
        (leaf("stock", "lte", 0), 10**30, False),
        # text: case-insensitive (casefold), surrounding white space ignored
        (leaf("brand", "eq", "sony"), "  SONY ", True),
        (leaf("brand", "eq", "sony"), "Sony Music", False),
        (leaf("brand", "eq", "Straße"), "STRASSE", True),
        (leaf("brand", "eq", " Sony "), "sony", True),
        (leaf("price_status", "ne", "needs_review"), "priced", True),
        (leaf("price_status", "ne", "needs_review"), "NEEDS_REVIEW ", False),
        (leaf("grade", "in", ["A", "b"]), "B", True),
        (leaf("grade", "in", ["A", "b"]), "C", False),
        (leaf("grade", "not_in", ["D", "E"]), "c", True),
        (leaf("grade", "not_in", ["D", "E"]), "e", False),
        (leaf("category", "contains", "alkohol"), "Supermarket > ALKOHOLE > Wino", True),
        (leaf("category", "contains", "alkohol"), "Dom > Ogród", False),
        (leaf("category", "contains", "ALKOHOLE > wino"), "Supermarket > Alkohole > Wino", True),
        (leaf("category", "contains_any", ["piwo", "wino"]), "Napoje > Wino", True),
        (leaf("category", "contains_any", ["piwo", "wino"]), "Napoje > Soki", False),
        (leaf("marketplace", "starts_with", "amazon"), " Amazon_DE", True),
        (leaf("marketplace", "starts_with", "amazon"), "ebay_de", False),
        (leaf("marketplace", "starts_with", "de"), "amazon_de", False),
        (leaf("title", "matches", r"\b\d+\s*gb\b"), "Pendrive 64 GB USB", True),
        (leaf("title", "matches", r"\b\d+\s*gb\b"), "Pendrive 64GBX", False),
        (leaf("title", "matches", r"^sony"), "  SONY WH-1000XM4", True),  # searched in the stripped text
        (leaf("title", "matches", r"łódź"), "ŁÓDŹ pneumatyczna", True),
        # yes/no
        (leaf("ean_valid", "eq", False), False, True),
        (leaf("ean_valid", "eq", False), True, False),
        (leaf("ean_valid", "ne", True), False, True),
        (leaf("ean_valid", "ne", True), True, False),
        # lists of names: membership, not substrings
        (leaf("specifications", "contains", "kolor"), ["Waga", " KOLOR "], True),
        (leaf("specifications", "contains", "kolor"), ["Kolory"], False),
        (leaf("specifications", "contains", "kolor"), ("Kolor",), True),
        (leaf("specifications", "contains", "kolor"), {"Kolor"}, True),
        (leaf("specifications", "contains_any", ["Waga", "Kolor"]), ["kolor", 3, None], True),
        (leaf("specifications", "contains_any", ["Waga", "Kolor"]), ["Typ"], False),
        # presence
        (leaf("brand", "exists"), "Sony", True),
        (leaf("brand", "exists"), "   ", False),
        (leaf("brand", "missing"), "   ", True),
        (leaf("brand", "missing"), "Sony", False),
        (leaf("stock", "exists"), 0, True),
        (leaf("ean_valid", "exists"), False, True),
        (leaf("specifications", "exists"), ["Kolor"], True),
        (leaf("specifications", "missing"), [], True),
        (leaf("specifications", "missing"), ["", "  "], True),
    ],
)
def test_each_operator_on_a_present_fact(condition, fact, expected):
    field = condition["field"]
    assert holds(condition, {field: fact}) is expected
    assert holds({"not": condition}, {field: fact}) is not expected


def test_a_pattern_is_searched_in_the_first_characters_only():
    condition = leaf("title", "matches", r"64 gb")
    assert holds(condition, {"title": "a" * (MATCH_TEXT_LIMIT - 5) + "64 gb"})
    assert not holds(condition, {"title": "a" * (MATCH_TEXT_LIMIT - 4) + "64 gb"})


def test_a_pattern_end_anchor_matches_at_the_end_of_what_is_searched():
    assert holds(leaf("title", "matches", "gb$"), {"title": "64 GB  "})
    assert holds(leaf("title", "matches", "gb$"), {"title": "x" * (MATCH_TEXT_LIMIT - 2) + "gb and more"})


@pytest.mark.parametrize(
    ("pattern", "title", "expected"),
    [
        (r"SONY\s+WH", "sony wh-1000xm4", True),  # case-insensitive, without (?i)
        (r"ŁÓDŹ|straße", "łódź", True),
        (r"straße", "STRASSE", False),  # simple case folding, as Python's re.IGNORECASE
        (r"^\pL+ \d+$", "Żółw 3", True),  # \pL is any letter
        # \w and \W are letters, digits and "_" of any script, as in Python's re (RE2's are ASCII).
        (r"^\w+$", "Żółw", True),
        (r"^[\w ]+$", "żel do włosów", True),
        (r"żel\W", "żel do włosów", True),
        (r"ż\W", "żółw", False),
        (r"[^\w]", "Żółw", False),
        (r"\\w", "a\\w", True),  # an escaped backslash, then a plain "w"
        (r"(^|\PL)żel(\PL|$)", "żel do włosów", True),  # a word boundary for any letter
        (r"\bsony\b", "słuchawki sony wh", True),  # \b beside ASCII letters only
    ],
)
def test_patterns_are_matched_by_re2(pattern, title, expected):
    assert holds(leaf("title", "matches", pattern), {"title": title}) is expected


def test_a_word_boundary_beside_letters_re2_would_not_see_is_refused_with_the_way_to_write_it():
    (problem,) = pattern_problems(r"\bżel\b")
    assert "(^|\\PL)żel(\\PL|$)" in problem
    assert pattern_problems(r"\\bżel") == []  # an escaped backslash and a plain "b"


@pytest.mark.parametrize(
    ("field", "fact"),
    [
        # no usable value: wrong type for the field, not finite, blank, empty list
        ("price", "10"),
        ("price", True),
        ("price", float("nan")),
        ("price", float("inf")),
        ("price", D("NaN")),
        ("price", D("sNaN")),
        ("price", D("-Infinity")),
        ("price", [10]),
        ("brand", 5),
        ("brand", ""),
        ("brand", " \t\n"),
        ("brand", ["Sony"]),
        ("ean_valid", 0),
        ("ean_valid", "false"),
        ("specifications", "Kolor"),
        ("specifications", []),
        ("specifications", [1, None]),
        ("specifications", {"Kolor": "czarny"}),
    ],
)
def test_a_fact_without_a_usable_value_counts_as_missing(field, fact):
    kind = FIELDS[field].kind
    assert holds(leaf(field, "missing"), {field: fact})
    assert not holds(leaf(field, "exists"), {field: fact})
    for op in OPERATORS_BY_KIND[kind]:
        if op not in ("exists", "missing"):
            assert not holds(leaf(field, op, ANY_VALUE[kind][op]), {field: fact}), op


ANY_VALUE: dict[str, dict[str, Any]] = {
    "number": {"eq": 1, "ne": 1, "lt": 10, "lte": 10, "gt": -10, "gte": -10, "in": [1], "not_in": [1]},
    "text": {
        "eq": "x",
        "ne": "x",
        "in": ["x"],
        "not_in": ["x"],
        "contains": "x",
        "contains_any": ["x"],
        "starts_with": "x",
        "matches": ".*",
    },
    "bool": {"eq": True, "ne": True},
    "text_list": {"contains": "x", "contains_any": ["x"]},
}


@pytest.mark.parametrize("field", list(FIELDS))
def test_none_and_absent_facts_make_every_leaf_false_but_missing(field):
    kind = FIELDS[field].kind
    for facts in ({}, {field: None}, {"other": 1}):
        for op in OPERATORS_BY_KIND[kind]:
            condition = leaf(field, op, ANY_VALUE[kind].get(op))
            assert holds(condition, facts) is (op == "missing"), (op, facts)
            assert holds({"not": condition}, facts) is (op != "missing"), (op, facts)
            if op == "missing":
                assert reason(condition, facts) == f"{field} is missing"


def test_combinators():
    cheap, empty = leaf("price", "lt", 10), leaf("stock", "lte", 0)
    facts = {"price": D(5), "stock": 3}
    assert holds({"any": [cheap, empty]}, facts)
    assert not holds({"all": [cheap, empty]}, facts)
    assert holds({"all": [cheap, {"not": empty}]}, facts)
    assert holds({"all": [cheap]}, facts)
    assert not holds({"any": [{"not": cheap}, empty]}, facts)
    assert holds({"not": {"not": cheap}}, facts)


@pytest.mark.parametrize(
    ("condition", "facts", "expected"),
    [
        (leaf("price", "lt", 10), {"price": D("8.50")}, "price 8,50 is below 10"),
        (leaf("price", "lt", 10.5), {"price": 8.5}, "price 8,5 is below 10,5"),
        (leaf("price", "lte", 10), {"price": 10.0}, "price 10 is at most 10"),
        (leaf("price", "gt", 100), {"price": 1e30}, "price 1e+30 is above 100"),
        (leaf("price", "gte", 0), {"price": D("1E+2")}, "price 100 is at least 0"),
        (leaf("price", "gte", 0), {"price": D("1E+30")}, "price 1,000000e+30 is at least 0"),
        (leaf("stock", "gt", 0), {"stock": 10**25}, "stock 1,000000e+25 is above 0"),
        (leaf("stock", "eq", 0), {"stock": 0}, "stock is 0"),
        (leaf("margin_percent", "ne", 0), {"margin_percent": D("-2.5")}, "margin_percent -2,5 is not 0"),
        (leaf("stock", "in", [1, 2, 3]), {"stock": 3}, "stock 3 is one of 1, 2, 3"),
        (
            leaf("stock", "not_in", [1, 2, 3, 4, 5, 6, 7]),
            {"stock": 0},
            "stock 0 is none of 1, 2, 3, 4, 5 and 2 more",
        ),
        (leaf("brand", "eq", "sony"), {"brand": " SONY "}, "brand is 'SONY'"),
        (
            leaf("price_status", "ne", "needs_review"),
            {"price_status": "priced"},
            "price_status 'priced' is not 'needs_review'",
        ),
        (leaf("brand", "in", ["Sony", "JBL"]), {"brand": "jbl"}, "brand 'jbl' is one of 'Sony', 'JBL'"),
        (leaf("grade", "not_in", ["D", "E"]), {"grade": "A"}, "grade 'A' is none of 'D', 'E'"),
        (
            leaf("category", "contains", "alkohol"),
            {"category": "Alkohol > Wino"},
            "category 'Alkohol > Wino' contains 'alkohol'",
        ),
        (
            leaf("category", "contains_any", ["piwo", "wino", "alkohol"]),
            {"category": "Alkohol > Wino"},
            "category 'Alkohol > Wino' contains 'wino'",  # the first value of the list that is found
        ),
        (
            leaf("marketplace", "starts_with", "amazon"),
            {"marketplace": "amazon_de"},
            "marketplace 'amazon_de' starts with 'amazon'",
        ),
        (
            leaf("title", "matches", r"\d+\s*gb"),
            {"title": "Pendrive 64 GB"},
            r"title 'Pendrive 64 GB' matches '\d+\s*gb'",
        ),
        (
            leaf("title", "contains", "x"),
            {"title": "x" * 100},
            f"title '{'x' * 59}…' contains 'x'",  # long texts are cut
        ),
        (leaf("ean_valid", "eq", False), {"ean_valid": False}, "ean_valid is false"),
        (leaf("ean_valid", "ne", False), {"ean_valid": True}, "ean_valid is true"),
        (
            leaf("specifications", "contains", "kolor"),
            {"specifications": ["Waga", "Kolor"]},
            "specifications include 'Kolor'",  # as the listing writes it
        ),
        (
            leaf("specifications", "contains_any", ["Typ", "waga"]),
            {"specifications": ["Waga", "Typ"]},
            "specifications include 'Typ'",
        ),
        (leaf("brand", "exists"), {"brand": "Sony"}, "brand is set: 'Sony'"),
        (leaf("stock", "exists"), {"stock": D("0")}, "stock is set: 0"),
        (leaf("ean_valid", "exists"), {"ean_valid": False}, "ean_valid is set: false"),
        (
            leaf("specifications", "exists"),
            {"specifications": ["Kolor", "kolor", "Waga"]},
            "specifications is set: 'Kolor', 'Waga'",
        ),
        (leaf("brand", "missing"), {"brand": None}, "brand is missing"),
        # combinators
        (
            {"all": [leaf("marketplace", "starts_with", "amazon"), leaf("price", "lt", 10)]},
            {"marketplace": "amazon_de", "price": D("8.50")},
            "marketplace 'amazon_de' starts with 'amazon' and price 8,50 is below 10",
        ),
        (
            {"any": [leaf("stock", "lte", 0), leaf("price", "lt", 10), leaf("brand", "missing")]},
            {"stock": 5, "price": 3},
            "price 3 is below 10",  # the first that held
        ),
        (
            {"not": leaf("specifications", "contains_any", ["Kolor", "Waga"])},
            {"specifications": ["Typ"]},
            "not (specifications include any of 'Kolor', 'Waga')",
        ),
        (
            {"not": leaf("brand", "in", ["Sony", "JBL"])},
            {"brand": "Bose"},
            "not (brand is one of 'Sony', 'JBL')",
        ),
        (
            {"not": {"any": [leaf("stock", "lte", 0), leaf("brand", "missing")]}},
            {"stock": 5, "brand": "Sony"},
            "not (stock is at most 0 or brand is missing)",
        ),
        (
            {
                "not": {
                    "all": [
                        leaf("ean_valid", "eq", True),
                        {"any": [leaf("price", "gt", 1), leaf("images_count", "gte", 3)]},
                        {"not": leaf("grade", "eq", "E")},
                    ]
                }
            },
            {"ean_valid": False},
            "not (ean_valid is true and (price is above 1 or images_count is at least 3) "
            "and not (grade is 'E'))",
        ),
        (
            {
                "all": [
                    leaf("stock", "gt", 0),
                    {
                        "any": [
                            leaf("price", "gt", 1000),
                            {"all": [leaf("brand", "eq", "Sony"), leaf("grade", "eq", "A")]},
                        ]
                    },
                    {"not": leaf("ean_valid", "eq", False)},
                ]
            },
            {"stock": 2, "price": 50, "brand": "Sony", "grade": "a", "ean_valid": True},
            "stock 2 is above 0 and brand is 'Sony' and grade is 'a' and not (ean_valid is false)",
        ),
    ],
)
def test_reasons_say_what_made_the_condition_hold(condition, facts, expected):
    assert reason(condition, facts) == expected


def test_no_reason_when_the_condition_does_not_hold():
    assert reason(leaf("price", "lt", 10), {"price": 11}) is None


# --- properties ---------------------------------------------------------------------------------

_PATTERNS = [r"\bsony\b", r"^\d+", r"gb$", r"(?:ab){2}", r"[ąę]", r"x*y", r"."]


def _number_values() -> st.SearchStrategy[Any]:
    return st.one_of(st.integers(-1_000, 1_000), st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False))


def _texts() -> st.SearchStrategy[str]:
    return st.text(min_size=1, max_size=12).filter(lambda text: bool(text.strip()))


def _value(kind: str, op: str) -> st.SearchStrategy[Any]:
    if op in ("exists", "missing"):
        return st.none()
    if op == "matches":
        return st.sampled_from(_PATTERNS)
    if op in ("in", "not_in", "contains_any"):
        items = _number_values() if kind == "number" else _texts()
        return st.lists(items, min_size=1, max_size=4)
    if kind == "bool":
        return st.booleans()
    return _number_values() if kind == "number" else _texts()


@st.composite
def leaves(draw: st.DrawFn, field: str | None = None) -> dict[str, Any]:
    name = field if field is not None else draw(st.sampled_from(list(FIELDS)))
    kind = FIELDS[name].kind
    op = draw(st.sampled_from(OPERATORS_BY_KIND[kind]))
    return leaf(name, op, draw(_value(kind, op)))


conditions = st.recursive(
    leaves(),
    lambda children: st.one_of(
        st.builds(lambda items: {"all": items}, st.lists(children, min_size=1, max_size=3)),
        st.builds(lambda items: {"any": items}, st.lists(children, min_size=1, max_size=3)),
        st.builds(lambda child: {"not": child}, children),
    ),
    max_leaves=12,
)

_NUMBER_FACTS = st.one_of(
    st.integers(),
    st.floats(),  # NaN and infinities too
    st.decimals(),  # NaN, sNaN and infinities too
)
_TEXT_FACTS = st.text(max_size=40)
_LIST_FACTS = st.one_of(
    st.lists(st.one_of(st.text(max_size=10), st.none(), st.integers())),
    st.frozensets(st.text(max_size=10)),
    st.tuples(st.text(max_size=10)),
)
_FACTS_OF_KIND: dict[str, st.SearchStrategy[Any]] = {
    "number": _NUMBER_FACTS,
    "text": _TEXT_FACTS,
    "bool": st.booleans(),
    "text_list": _LIST_FACTS,
}
_ANY_FACT = st.one_of(
    st.none(), *_FACTS_OF_KIND.values(), st.dictionaries(st.text(max_size=3), st.integers())
)


@st.composite
def facts_dicts(draw: st.DrawFn) -> dict[str, Any]:
    """Facts of every kind, each field also None, absent, or a value of another kind."""
    facts: dict[str, Any] = {}
    for name, spec in FIELDS.items():
        choice = draw(st.integers(0, 3))
        if choice == 0:
            continue
        if choice == 1:
            facts[name] = None
        elif choice == 2:
            facts[name] = draw(_FACTS_OF_KIND[spec.kind])
        else:
            facts[name] = draw(_ANY_FACT)
    return facts


@given(conditions)
def test_generated_conditions_are_valid(condition):
    compile_conditions(condition)


@given(conditions, facts_dicts())
def test_evaluating_never_raises_and_a_reason_comes_exactly_when_the_condition_holds(condition, facts):
    compiled = compile_conditions(condition)
    result = compiled.test(facts)
    assert isinstance(result, bool)
    explained = compiled.reason(facts)
    assert (explained is not None) is result
    if explained is not None:
        assert explained.strip()
    assert compile_conditions({"not": condition}).test(facts) is not result


_PRESENT_FACTS: dict[str, st.SearchStrategy[Any]] = {
    "number": st.one_of(
        st.integers(),
        st.floats(allow_nan=False, allow_infinity=False),
        st.decimals(allow_nan=False, allow_infinity=False),
    ),
    "text": st.text(max_size=40).filter(lambda text: bool(text.strip())),
    "bool": st.booleans(),
    "text_list": st.lists(st.text(max_size=10), min_size=1).filter(
        lambda names: any(n.strip() for n in names)
    ),
}


@st.composite
def leaf_with_present_fact(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, Any]]:
    name = draw(st.sampled_from(list(FIELDS)))
    return draw(leaves(name)), {name: draw(_PRESENT_FACTS[FIELDS[name].kind])}


@given(leaf_with_present_fact())
def test_not_of_a_leaf_is_its_negation_when_the_fact_is_present(case):
    condition, facts = case
    held = holds(condition, facts)
    assert holds({"not": condition}, facts) is not held
    # and exists/missing agree that the fact is present
    field = condition["field"]
    assert holds(leaf(field, "exists"), facts)
    assert not holds(leaf(field, "missing"), facts)


@given(st.lists(conditions, max_size=6), facts_dicts())
def test_evaluate_never_raises_on_any_facts(rule_conditions, facts):
    rules = [
        Rule(index, f"rule {index}", "product", action, index % 7, condition)
        for index, (condition, action) in enumerate(zip(rule_conditions, ACTIONS * 2, strict=False))
    ]
    rules += [template.as_rule(100 + index) for index, template in enumerate(GLOBAL_TEMPLATES)]
    evaluation = evaluate(rules, facts)
    assert evaluation.status in ("ok", "warning", "blocked")
    assert all(fired.reason for fired in evaluation.fired)
    assert evaluation.to_json()["status"] == evaluation.status
