"""Conditions are checked when a rule is saved: every problem named at once, with its path."""

from __future__ import annotations

from decimal import Decimal
from string import ascii_lowercase
from typing import Any

import pytest

from services.rules import (
    FIELDS,
    MAX_DEPTH,
    MAX_LEAVES,
    OPERATORS,
    OPERATORS_BY_KIND,
    InvalidConditions,
    Problem,
    Rule,
    compile_conditions,
    condition_problems,
)
from services.rules.conditions import (
    MATCH_TEXT_LIMIT,
    MAX_LIST_VALUES,
    MAX_PROBLEMS,
    MAX_TEXT_VALUE,
    loc_text,
    pattern_problems,
)

ALL_FIELDS = ", ".join(FIELDS)
ALL_OPERATORS = ", ".join(OPERATORS)
TEXT_OPERATORS = "eq, ne, in, not_in, contains, contains_any, starts_with, matches, exists, missing"
NUMBER_OPERATORS = "eq, ne, lt, lte, gt, gte, in, not_in, exists, missing"
ROOT_SHAPE = 'conditions: must be an object with "all", "any", "not" or "field", got'


def leaf(field: str, op: str, value: Any = None) -> dict[str, Any]:
    return {"field": field, "op": op} if value is None else {"field": field, "op": op, "value": value}


def messages(conditions: object) -> list[str]:
    return [problem.message for problem in condition_problems(conditions)]


# A valid value for each kind and operator: the table every valid condition is built from.
VALID_VALUES: dict[str, dict[str, Any]] = {
    "number": {
        "eq": 1,
        "ne": 1.5,
        "lt": 10,
        "lte": 0,
        "gt": -3,
        "gte": 2.25,
        "in": [1, 2.5],
        "not_in": [0],
        "exists": None,
        "missing": None,
    },
    "text": {
        "eq": "Sony",
        "ne": "needs_review",
        "in": ["A", "B"],
        "not_in": ["allegro"],
        "contains": "alkohol",
        "contains_any": ["wino", "piwo"],
        "starts_with": "amazon",
        "matches": r"\b\d+\s*gb\b",
        "exists": None,
        "missing": None,
    },
    "bool": {"eq": False, "ne": True, "exists": None, "missing": None},
    "text_list": {"contains": "Kolor", "contains_any": ["Kolor", "Waga"], "exists": None, "missing": None},
}


def test_the_valid_value_table_covers_every_operator_of_every_kind():
    for kind, operators in OPERATORS_BY_KIND.items():
        assert set(VALID_VALUES[kind]) == set(operators)
    assert set().union(*OPERATORS_BY_KIND.values()) == set(OPERATORS)


@pytest.mark.parametrize("field", list(FIELDS))
def test_every_operator_that_fits_a_field_is_accepted(field):
    for op, value in VALID_VALUES[FIELDS[field].kind].items():
        assert condition_problems(leaf(field, op, value)) == [], (field, op)


@pytest.mark.parametrize("field", list(FIELDS))
def test_every_operator_that_does_not_fit_a_field_is_refused_naming_those_that_do(field):
    kind = FIELDS[field].kind
    allowed = ", ".join(OPERATORS_BY_KIND[kind])
    words = {"text": "a text", "number": "a number", "bool": "a yes/no fact", "text_list": "a list of names"}
    for op in set(OPERATORS) - set(OPERATORS_BY_KIND[kind]):
        assert messages(leaf(field, op, 1)) == [
            f"conditions.op: {op} does not apply to {field}, {words[kind]}; use one of {allowed}"
        ]


def test_exists_and_missing_accept_a_null_value():
    assert condition_problems({"field": "brand", "op": "exists", "value": None}) == []


@pytest.mark.parametrize(
    ("conditions", "problems"),
    [
        # the shape of the tree
        ([], [f"{ROOT_SHAPE} an empty list"]),
        (None, [f"{ROOT_SHAPE} null"]),
        ("price < 10", [f"{ROOT_SHAPE} the text 'price < 10'"]),
        (
            {},
            [
                'conditions: give "field", "op" and "value", or one of "all", "any", "not"; '
                "got an empty object"
            ],
        ),
        (
            {"when": 1, "then": 2},
            [
                'conditions: give "field", "op" and "value", or one of "all", "any", "not"; '
                "got keys 'when', 'then'"
            ],
        ),
        ({"all": []}, ["conditions.all: must be a non-empty list of conditions, got an empty list"]),
        ({"any": "x"}, ["conditions.any: must be a non-empty list of conditions, got the text 'x'"]),
        (
            {"any": {"field": "price"}},
            ["conditions.any: must be a non-empty list of conditions, got an object"],
        ),
        (
            {"all": [leaf("stock", "lte", 0)], "any": [leaf("stock", "lte", 0)]},
            [
                'conditions: an object holds one of "all", "any" or "not" and nothing beside it, '
                "got keys 'all', 'any'"
            ],
        ),
        (
            {"not": leaf("stock", "lte", 0), "field": "price"},
            [
                'conditions: an object holds one of "all", "any" or "not" and nothing beside it, '
                "got keys 'not', 'field'"
            ],
        ),
        (
            {"not": [leaf("stock", "lte", 0)]},
            [f"{ROOT_SHAPE.replace('conditions', 'conditions.not')} a list"],
        ),
        (
            {"all": [leaf("stock", "lte", 0), 7]},
            [f"{ROOT_SHAPE.replace('conditions', 'conditions.all[1]')} the number 7"],
        ),
        # keys of a leaf
        (
            {"field": "price", "op": "lt", "value": 1, "vaule": 2},
            ['conditions: unknown key \'vaule\'; a condition has "field", "op" and "value"'],
        ),
        ({"op": "lt", "value": 1}, [f'conditions: "field" is missing; use one of {ALL_FIELDS}']),
        (
            {"field": 5, "op": "lt", "value": 1},
            ["conditions.field: must be a field name such as 'price', got the number 5"],
        ),
        (
            leaf("prize", "lt", 1),
            [f"conditions.field: unknown field 'prize' (did you mean 'price'?); use one of {ALL_FIELDS}"],
        ),
        (leaf("colour", "eq", "red"), [f"conditions.field: unknown field 'colour'; use one of {ALL_FIELDS}"]),
        ({"field": "price", "value": 1}, [f'conditions: "op" is missing; use one of {NUMBER_OPERATORS}']),
        (
            {"field": "prise"},
            [
                f"conditions.field: unknown field 'prise' (did you mean 'price'?); use one of {ALL_FIELDS}",
                f'conditions: "op" is missing; use one of {ALL_OPERATORS}',
            ],
        ),
        (
            leaf("category", "contians", "x"),
            [
                "conditions.op: unknown operator 'contians' (did you mean 'contains'?); "
                f"use one of {ALL_OPERATORS}"
            ],
        ),
        (
            {"field": "price", "op": None},
            [f"conditions.op: unknown operator null; use one of {ALL_OPERATORS}"],
        ),
        (leaf("price", "<", 10), [f"conditions.op: unknown operator '<'; use one of {ALL_OPERATORS}"]),
        (
            leaf("brand", "lt", 10),
            [f"conditions.op: lt does not apply to brand, a text; use one of {TEXT_OPERATORS}"],
        ),
        (
            leaf("price", "contains", "1"),
            [f"conditions.op: contains does not apply to price, a number; use one of {NUMBER_OPERATORS}"],
        ),
        # an unknown field and an unknown operator are both named; the value cannot be judged
        (
            leaf("prize", "lesser", "x"),
            [
                f"conditions.field: unknown field 'prize' (did you mean 'price'?); use one of {ALL_FIELDS}",
                f"conditions.op: unknown operator 'lesser'; use one of {ALL_OPERATORS}",
            ],
        ),
        # values: missing or unwanted
        ({"field": "price", "op": "lt"}, ['conditions: "value" is missing; price lt needs a number']),
        (
            {"field": "brand", "op": "in"},
            ['conditions: "value" is missing; brand in needs a non-empty list of texts'],
        ),
        (
            {"field": "brand", "op": "exists", "value": 3},
            ['conditions.value: exists takes no value; remove "value"'],
        ),
        (
            {"field": "brand", "op": "missing", "value": False},
            ['conditions.value: missing takes no value; remove "value"'],
        ),
        # numbers
        (leaf("price", "lt", "10"), ["conditions.value: price lt needs a number, got the text '10'"]),
        (leaf("price", "gte", True), ["conditions.value: price gte needs a number, got true"]),
        (leaf("stock", "eq", [0]), ["conditions.value: stock eq needs a number, got a list"]),
        (leaf("stock", "eq", {"n": 0}), ["conditions.value: stock eq needs a number, got an object"]),
        (leaf("price", "lt", float("nan")), ["conditions.value: price lt needs a finite number, got nan"]),
        (leaf("price", "lt", float("inf")), ["conditions.value: price lt needs a finite number, got inf"]),
        (
            leaf("price", "lt", Decimal(10)),
            ["conditions.value: price lt needs a number, got the Decimal 10 (use an int or float)"],
        ),
        (
            leaf("price", "in", []),
            ["conditions.value: price in needs a non-empty list of numbers, got an empty list"],
        ),
        (
            leaf("price", "not_in", 5),
            ["conditions.value: price not_in needs a non-empty list of numbers, got the number 5"],
        ),
        (
            leaf("price", "in", [1, "2", True, None]),
            [
                "conditions.value[1]: each value needs a number, got the text '2'",
                "conditions.value[2]: each value needs a number, got true",
                "conditions.value[3]: each value needs a number, got null",
            ],
        ),
        # texts
        (leaf("brand", "eq", 5), ["conditions.value: brand eq needs a text, got the number 5"]),
        (leaf("brand", "eq", True), ["conditions.value: brand eq needs a text, got true"]),
        (
            leaf("brand", "eq", "  "),
            ['conditions.value: must not be empty; use "op": "missing" for no value'],
        ),
        (
            leaf("category", "contains", ["a"]),
            ["conditions.value: category contains needs a text, got a list"],
        ),
        (
            leaf("marketplace", "starts_with", 1),
            ["conditions.value: marketplace starts_with needs a text, got the number 1"],
        ),
        (
            leaf("brand", "in", "Sony"),
            ["conditions.value: brand in needs a non-empty list of texts, got the text 'Sony'"],
        ),
        (
            leaf("category", "contains_any", ["wino", " ", 3]),
            [
                "conditions.value[1]: must not be empty",
                "conditions.value[2]: each value needs a text, got the number 3",
            ],
        ),
        (
            leaf("specifications", "contains", 3),
            ["conditions.value: specifications contains needs a text, got the number 3"],
        ),
        (
            leaf("specifications", "contains_any", "Kolor"),
            [
                "conditions.value: specifications contains_any needs a non-empty list of texts, "
                "got the text 'Kolor'"
            ],
        ),
        # yes/no
        (
            leaf("ean_valid", "eq", "false"),
            ["conditions.value: ean_valid eq needs true or false, got the text 'false'"],
        ),
        (
            leaf("ean_valid", "ne", 0),
            ["conditions.value: ean_valid ne needs true or false, got the number 0"],
        ),
        # patterns
        (
            leaf("title", "matches", 5),
            ["conditions.value: title matches needs a regular expression (a text), got the number 5"],
        ),
        (
            leaf("title", "matches", "(sony"),
            [
                "conditions.value: not a valid regular expression: "
                "missing ), unterminated subpattern at position 0"
            ],
        ),
        (
            leaf("title", "matches", "a" * 201),
            ["conditions.value: a regular expression may have at most 200 characters, got 201"],
        ),
    ],
)
def test_problems_are_named_with_their_path(conditions, problems):
    assert messages(conditions) == problems
    for problem in condition_problems(conditions):
        # The message names the path it is about in words, written from the loc (never the reverse).
        assert problem.message.startswith(f"{loc_text(problem.loc)}: ")
    with pytest.raises(InvalidConditions) as caught:
        compile_conditions(conditions)
    assert caught.value.messages == problems
    assert caught.value.problems == condition_problems(conditions)
    assert str(caught.value) == f"conditions are not valid: {'; '.join(problems)}"


def test_long_texts_and_lists_are_refused():
    assert messages(leaf("title", "contains", "x" * (MAX_TEXT_VALUE + 1))) == [
        f"conditions.value: at most {MAX_TEXT_VALUE} characters, got {MAX_TEXT_VALUE + 1}"
    ]
    assert messages(leaf("brand", "in", ["x"] * (MAX_LIST_VALUES + 1))) == [
        f"conditions.value: at most {MAX_LIST_VALUES} values, got {MAX_LIST_VALUES + 1}"
    ]
    assert condition_problems(leaf("title", "contains", "x" * MAX_TEXT_VALUE)) == []
    assert condition_problems(leaf("price", "in", list(range(MAX_LIST_VALUES)))) == []


def test_every_problem_is_named_at_once_with_paths_into_the_tree():
    conditions = {
        "all": [
            leaf("price", "lt", 10),
            {"any": [leaf("category", "contians", "x"), {"not": leaf("brand", "lt", 3)}]},
            leaf("stock", "lte", "0"),
        ]
    }
    assert messages(conditions) == [
        f"conditions.all[1].any[0].op: unknown operator 'contians' (did you mean 'contains'?); "
        f"use one of {ALL_OPERATORS}",
        f"conditions.all[1].any[1].not.op: lt does not apply to brand, a text; use one of {TEXT_OPERATORS}",
        "conditions.all[2].value: stock lte needs a number, got the text '0'",
    ]


def test_tuples_are_lists():
    assert condition_problems({"all": (leaf("brand", "in", ("Sony",)),)}) == []


def nested_nots(levels: int) -> dict[str, Any]:
    """A leaf under ``levels - 1`` nots: ``levels`` levels in all."""
    node: dict[str, Any] = leaf("stock", "lte", 0)
    for _ in range(levels - 1):
        node = {"not": node}
    return node


def test_conditions_may_nest_eight_levels_and_no_more():
    assert MAX_DEPTH == 8
    assert condition_problems(nested_nots(MAX_DEPTH)) == []
    path = "conditions" + ".not" * MAX_DEPTH
    assert messages(nested_nots(MAX_DEPTH + 1)) == [
        f'{path}: nested too deep; "all", "any" and "not" may nest at most 8 levels'
    ]


def test_too_deep_is_named_once_however_many_branches_are():
    deep = nested_nots(MAX_DEPTH)  # one level more under the "any" below
    assert messages({"any": [deep, deep, deep]}) == [
        'conditions.any[0].not.not.not.not.not.not.not: nested too deep; "all", "any" and "not" may nest '
        "at most 8 levels"
    ]


def test_a_condition_that_holds_itself_is_stopped_by_the_depth_limit():
    cycle: dict[str, Any] = {}
    cycle["not"] = cycle
    assert messages(cycle) == [
        f'conditions{".not" * MAX_DEPTH}: nested too deep; "all", "any" and "not" may nest at most 8 levels'
    ]


def test_a_rule_holds_at_most_a_hundred_leaves():
    assert MAX_LEAVES == 100
    assert condition_problems({"any": [leaf("stock", "eq", n) for n in range(MAX_LEAVES)]}) == []
    assert messages({"any": [leaf("stock", "eq", n) for n in range(10_000)]}) == [
        "conditions: more than 100 conditions; a rule may hold at most 100 (split it into several rules)"
    ]


def test_problems_stop_being_listed_after_fifty():
    problems = condition_problems({"any": [7] * 1_000})
    assert len(problems) == MAX_PROBLEMS + 1
    assert problems[0] == Problem(
        ("conditions", "any", 0), f"{ROOT_SHAPE.replace('conditions', 'conditions.any[0]')} the number 7"
    )
    assert problems[-1] == Problem(
        ("conditions",), "conditions: too many problems to list them all; fix these first"
    )


def test_every_problem_carries_its_path_as_data():
    conditions = {
        "all": [
            leaf("price", "lt", 10),
            {"any": [leaf("category", "contians", "x"), {"not": leaf("brand", "lt", 3)}]},
            leaf("stock", "in", [1, "2"]),
            {"field": "price", "op": "lt"},
        ]
    }
    assert [problem.loc for problem in condition_problems(conditions)] == [
        ("conditions", "all", 1, "any", 0, "op"),
        ("conditions", "all", 1, "any", 1, "not", "op"),
        ("conditions", "all", 2, "value", 1),
        ("conditions", "all", 3),
    ]


def test_a_problem_is_a_frozen_value():
    problem = Problem(("conditions", "all", 0, "op"), "conditions.all[0].op: unknown operator 'x'")
    assert problem == Problem(("conditions", "all", 0, "op"), "conditions.all[0].op: unknown operator 'x'")
    with pytest.raises(AttributeError):
        problem.loc = ()  # type: ignore[misc]
    assert loc_text(problem.loc) == "conditions.all[0].op"
    assert loc_text(("conditions",)) == "conditions"


@pytest.mark.parametrize(
    "pattern",
    [
        r"\b\d+\s*gb\b",
        r"^(sony|jbl)\b",
        r"(?:ab){3}",
        r"(\d{3})+",
        r"[(+*|]+x",  # special characters inside a class are plain
        r"\(a+\)+",  # escaped parentheses are not a group
        r"(?i:sony)?",
        r"(?P<brand>sony) ps[45]",
        r"x{}",  # not a quantifier: a literal "{}"
        r"a{0,3}b*c+",
        r"\d+[.,]?\d*\s?gb",
        r"^(?:sony|jbl|bose|sennheiser|beats|philips)\s?(?:wh|wf)-?\d+",
        r"sony.*playstation",
        r"(a|b)?c",
        r"a*?b+?",  # lazy repeats
        r"\pL+\z",  # RE2's Unicode classes and end of text
        # What backtracking engines can take seconds on: RE2 matches them in linear time.
        r"(a+)+x",
        r"(a|aa)*x",
        r"(.|\s)+",
        r"(?:\w+\s?)*$",
        r".*.*.*x",
        "a?" * 17 + "a" * 17,
        "|".join([f"{a}{b}" for a in "abc" for b in ascii_lowercase][:65]),  # 65 alternatives
    ],
)
def test_ordinary_patterns_and_those_that_backtrack_elsewhere_are_accepted(pattern):
    assert pattern_problems(pattern) == []
    assert condition_problems(leaf("title", "matches", pattern)) == []


@pytest.mark.parametrize(
    ("pattern", "text", "expected"),
    [
        # Exponential or polynomial for a backtracking engine on these texts; linear for RE2.
        (r"(a+)+$", "a" * 150 + "!", False),
        (r"(a+)+$", "a" * 150, True),
        (r"(a|aa)*x", "a" * 150, False),
        (r".*.*x", "a" * 199, False),
        (r".*.*x", "a" * 150 + "x", True),
        (r".*.*.*.*x", "a" * 199, False),
        ("a?" * 17 + "a" * 17, "a" * 17, True),
        ("a?" * 17 + "a" * 17, "a" * 16, False),
        (r"(?:\w+\s?)*!$", "word " * 39 + "x", False),
        # Only the first MATCH_TEXT_LIMIT characters are searched, and $ matches where they end.
        (r"(a+)+$", "a" * (MATCH_TEXT_LIMIT + 500) + "!", True),
    ],
)
def test_patterns_that_would_backtrack_are_answered_right(pattern, text, expected):
    rule = Rule(1, "pattern", "product", "warn", 1, leaf("title", "matches", pattern))
    assert (rule.fire({"title": text}) is not None) is expected


RE2_SYNTAX = " (see https://github.com/google/re2/wiki/Syntax)"
BACKREFERENCES = r"back-references (\1, (?P=name)) are not supported" + RE2_SYNTAX
LOOK_AROUND = (
    "look-ahead and look-behind ((?=...), (?!...), (?<=...), (?<!...)) are not supported" + RE2_SYNTAX
)


@pytest.mark.parametrize(
    ("pattern", "problem"),
    [
        (r"(a)\1", BACKREFERENCES),
        (r"(sony)\s+\1", BACKREFERENCES),
        (r"(?P<n>a)(?P=n)", BACKREFERENCES),
        (r"(?=sony)\w+", LOOK_AROUND),
        (r"(?!sony)\w+", LOOK_AROUND),
        (r"(?<=x)y", LOOK_AROUND),
        (r"(?<!un)known", LOOK_AROUND),
        (r"(a)?(?(1)b|c)", "conditionals ((?(1)...|...)) are not supported" + RE2_SYNTAX),
        (r"(?>a+)b", "atomic groups ((?>...)) are not supported" + RE2_SYNTAX),
        (r"(?#a comment)sony", "comments ((?#...)) are not supported" + RE2_SYNTAX),
        (r"a*+b", "possessive repeats (*+) are not supported" + RE2_SYNTAX),
        (r"a{2}+b", "possessive repeats ({2}+) are not supported" + RE2_SYNTAX),
        (r"gb\Z", r"\Z is not supported: use \z or $ for the end of the text" + RE2_SYNTAX),
        (r"\u0142", r"\u and \U are not supported: write a character as itself or as \x{20AC}" + RE2_SYNTAX),
        (
            r"(?x) sony",
            "(?x...) is not supported: groups are (...), (?:...) and (?P<name>...), "
            "flags (?i), (?m), (?s) and (?U)" + RE2_SYNTAX,
        ),
        (
            r"a{1001}",
            "the repeat {1001} is too large: at most 1000, also for repeats inside repeats" + RE2_SYNTAX,
        ),
        (
            r"(?:a{100}){100}",
            "the repeat {100} is too large: at most 1000, also for repeats inside repeats" + RE2_SYNTAX,
        ),
        (
            r"[\pL\pN]{1000}",
            r"the pattern is too large to match: repeat less, or repeat smaller classes (\pL{100} is big)"
            + RE2_SYNTAX,
        ),
        # Plain syntax errors are named as Python's parser names them, with the position.
        ("(sony", "not a valid regular expression: missing ), unterminated subpattern at position 0"),
        ("sony)", "not a valid regular expression: unbalanced parenthesis at position 4"),
        ("*a", "not a valid regular expression: nothing to repeat at position 0"),
        ("[b-a]", "not a valid regular expression: bad character range b-a at position 1"),
        ("a{2,1}", "not a valid regular expression: min repeat greater than max repeat at position 2"),
        # What Python's re takes but RE2 does not, without a better name: in RE2's words.
        (
            "[[:foo:]]",
            "not a valid regular expression for RE2, the engine that matches patterns: "
            "invalid character class range: [:foo:]" + RE2_SYNTAX,
        ),
    ],
)
def test_patterns_re2_cannot_match_are_refused_saying_why(pattern, problem):
    assert pattern_problems(pattern) == [problem]
    assert condition_problems({"all": [leaf("brand", "exists"), leaf("title", "matches", pattern)]}) == [
        Problem(("conditions", "all", 1, "value"), f"conditions.all[1].value: {problem}")
    ]
