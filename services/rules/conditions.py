"""Conditions: the small JSON language a seller's rule uses to say which listings it is about.

A condition is a JSON object, one of:

* ``{"all": [c, ...]}``: every condition in the list holds (a non-empty list);
* ``{"any": [c, ...]}``: at least one holds (a non-empty list);
* ``{"not": c}``: ``c`` does not hold;
* a leaf, ``{"field": "<name>", "op": "<operator>", "value": <value>}``, where the name is one of
  ``FIELDS`` (fields module) and the operator fits the field's kind:

  ============  ==========================================================  ========================
  operator      holds when the fact ...                                      value
  ============  ==========================================================  ========================
  eq, ne        equals / differs from the value (number, text, bool)         a number, text or bool
  lt, lte,      is below / at most / above / at least the value (number)     a number
  gt, gte
  in, not_in    is one / none of the values (number, text)                   a non-empty list
  contains      text: holds the value as a substring;                        a text
                text_list: has the value as one of its names
  contains_any  like contains, for at least one of the values                a non-empty list of texts
  starts_with   begins with the value (text)                                 a text
  matches       has a match of the regular expression (text)                 a pattern, ≤ 200 chars
  exists        has a value (any kind)                                       none
  missing       has no value (any kind)                                      none
  ============  ==========================================================  ========================

Examples::

    {"field": "quality_score", "op": "lt", "value": 60}
    {"all": [{"field": "marketplace", "op": "starts_with", "value": "amazon"},
             {"field": "category", "op": "contains_any", "value": ["alkohol", "wino"]}]}
    {"not": {"field": "brand", "op": "in", "value": ["Sony", "JBL"]}}
    {"field": "title", "op": "matches", "value": "\\\\b\\\\d+\\\\s*gb\\\\b"}

Rules of evaluation:

* Text is compared case-insensitively (casefold, so "STRASSE" equals "straße") and without the
  white space around it; a pattern is searched case-insensitively in the first
  ``MATCH_TEXT_LIMIT`` characters.
* A fact has no value when it is None, left out, blank text, a list without any name, a number
  that is not finite, or of the wrong type for its field (a text where a number belongs): then
  every leaf is false except ``missing`` (so ``not`` of a leaf is true). Evaluation never raises.
* Numbers in the facts may be int, float or Decimal; a Decimal is compared with the condition's
  value as written ("10.1" stays 10.1, not the float nearest to it).

Rules of validation (``condition_problems`` names every problem at once, with its path, such as
"conditions.all[1].op: unknown operator 'contians'; use one of eq, ne, ..."):

* Unknown fields, operators and keys are refused, and so is a value that does not fit the field's
  kind and the operator; blank texts are refused (``missing`` is how to ask for no value).
* Rules arrive over an HTTP API, so their size is bounded: at most ``MAX_DEPTH`` levels (the
  outermost condition is level 1), ``MAX_LEAVES`` leaves, ``MAX_LIST_VALUES`` values in a list and
  ``MAX_TEXT_VALUE`` characters in a text.
* Patterns must compile, have at most ``MAX_PATTERN`` characters, and are refused when they could
  backtrack for seconds. Limiting the pattern and the text is not enough: ``.*.*x`` took 18 s on
  2,000 letters, ``(a+)+x`` 30 ms on 18, ``a?`` 17 times then ``a`` 17 times 3.7 s on 200. So a
  pattern may not repeat a group that itself repeats or has alternatives (``(a+)+``, ``(a|ab)*``,
  ``(.|\\s)+``), nor use back-references or conditionals; it may hold at most ``MAX_OPEN_REPEATS``
  open-ended repeats (``*``, ``+``, ``{n,}``, ``{n,m}`` of more than 10 choices), and few optional,
  counted or alternative parts beside them (``_PatternShape`` says how many). The worst patterns
  left (``a?a?.*.*x``, ``\\w+\\s?\\w*\\s?x``) took 75-90 ms on 200 identical letters; an ordinary
  pattern on a title takes 1-3 µs.
"""

from __future__ import annotations

import difflib
import math
import operator
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from types import MappingProxyType
from typing import Any, Literal, get_args

from services.rules.fields import FIELDS, FieldKind

Operator = Literal[
    "eq",
    "ne",
    "lt",
    "lte",
    "gt",
    "gte",
    "in",
    "not_in",
    "contains",
    "contains_any",
    "starts_with",
    "matches",
    "exists",
    "missing",
]
OPERATORS: tuple[Operator, ...] = get_args(Operator)

OPERATORS_BY_KIND: Mapping[FieldKind, tuple[Operator, ...]] = MappingProxyType(
    {
        "number": ("eq", "ne", "lt", "lte", "gt", "gte", "in", "not_in", "exists", "missing"),
        "text": (
            "eq",
            "ne",
            "in",
            "not_in",
            "contains",
            "contains_any",
            "starts_with",
            "matches",
            "exists",
            "missing",
        ),
        "bool": ("eq", "ne", "exists", "missing"),
        "text_list": ("contains", "contains_any", "exists", "missing"),
    }
)

MAX_DEPTH = 8
MAX_LEAVES = 100
MAX_LIST_VALUES = 500
MAX_TEXT_VALUE = 500
MAX_PATTERN = 200
MAX_OPEN_REPEATS = 2
MATCH_TEXT_LIMIT = 200  # the longest title any marketplace we list on takes (Amazon's)
MAX_PROBLEMS = 50  # a broken rule of 100 leaves should not answer with a thousand lines

_COMBINATORS = ("all", "any", "not")
_LEAF_KEYS = ("field", "op", "value")
_BIG_REPEAT = 10  # {n,m} with more choices than this counts as open-ended
# The ways a pattern's repeats may share out a text (see _PatternShape): two open-ended repeats
# with two optional parts between them ("\d+\s?[.,]?\d*") pass, and so do six optional parts.
_MAX_WAYS = 4 * MATCH_TEXT_LIMIT**2
_MAX_CHOICES = 64
_SHOWN_TEXT = 60  # characters of a text quoted in a reason
_SHOWN_VALUES = 5  # values of a list named in a reason

Facts = Mapping[str, Any]
Number = int | float | Decimal

# What a leaf's value must be, by the field's kind and the operator.
Shape = Literal["number", "text", "bool", "numbers", "texts", "pattern", "nothing"]
_EXPECTED: Mapping[Shape, str] = {
    "number": "a number",
    "text": "a text",
    "bool": "true or false",
    "numbers": "a non-empty list of numbers",
    "texts": "a non-empty list of texts",
    "pattern": "a regular expression (a text)",
    "nothing": "no value",
}


def _shape(kind: FieldKind, op: Operator) -> Shape:
    if op in ("exists", "missing"):
        return "nothing"
    if op == "matches":
        return "pattern"
    if op in ("in", "not_in", "contains_any"):
        return "numbers" if kind == "number" else "texts"
    if kind == "bool":
        return "bool"
    return "number" if kind == "number" else "text"


class InvalidConditions(ValueError):
    """The conditions cannot be used; ``problems`` lists why, each with the path it is about."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(f"conditions are not valid: {'; '.join(problems)}")


def condition_problems(conditions: object) -> list[str]:
    """Every problem of the conditions, in words for the seller; empty when they are valid."""
    checker = _Checker()
    checker.node(conditions, "conditions", 1)
    return checker.problems


def compile_conditions(conditions: Mapping[str, Any]) -> CompiledCondition:
    """The conditions as closures, checked once here so that evaluating never needs to."""
    if problems := condition_problems(conditions):
        raise InvalidConditions(problems)
    return _compile(conditions)


@dataclass(frozen=True, slots=True)
class CompiledCondition:
    """``test`` says whether the condition holds; ``explain`` (only when it holds) says why.

    ``text`` describes the condition without facts, for "not (...)"; ``joiner`` is "and" or "or"
    for an ``all``/``any`` of several conditions, which need parentheses inside the other one.
    """

    test: Callable[[Facts], bool]
    explain: Callable[[Facts], str]
    text: str
    joiner: str | None = None

    def reason(self, facts: Facts) -> str | None:
        """Why the condition holds for these facts, or None when it does not."""
        return self.explain(facts) if self.test(facts) else None


# --- validation ---------------------------------------------------------------------------------


class _Checker:
    def __init__(self) -> None:
        self.problems: list[str] = []
        self.leaves = 0
        self.too_deep = False

    @property
    def full(self) -> bool:
        return len(self.problems) >= MAX_PROBLEMS or self.leaves > MAX_LEAVES

    def add(self, problem: str) -> None:
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(problem)
            if len(self.problems) == MAX_PROBLEMS:
                self.problems.append("conditions: too many problems to list them all; fix these first")

    def node(self, node: object, path: str, depth: int) -> None:
        if self.full:
            return
        if depth > MAX_DEPTH:
            # Reported once: every branch below would say the same.
            if not self.too_deep:
                self.too_deep = True
                self.add(
                    f'{path}: nested too deep; "all", "any" and "not" may nest at most {MAX_DEPTH} levels'
                )
            return
        if not isinstance(node, Mapping):
            self.add(f'{path}: must be an object with "all", "any", "not" or "field", got {_shown(node)}')
            return
        keys = list(node)
        combinators = [key for key in keys if key in _COMBINATORS]
        if combinators:
            if len(keys) > 1:
                self.add(
                    f'{path}: an object holds one of "all", "any" or "not" and nothing beside it, '
                    f"got {_keys(keys)}"
                )
                return
            key = combinators[0]
            if key == "not":
                self.node(node[key], f"{path}.not", depth + 1)
                return
            children = node[key]
            if not isinstance(children, list | tuple) or not children:
                self.add(f"{path}.{key}: must be a non-empty list of conditions, got {_shown(children)}")
                return
            for index, child in enumerate(children):
                self.node(child, f"{path}.{key}[{index}]", depth + 1)
            return
        if not any(key in _LEAF_KEYS for key in keys):
            found = f"got {_keys(keys)}" if keys else "got an empty object"
            self.add(f'{path}: give "field", "op" and "value", or one of "all", "any", "not"; {found}')
            return
        self.leaves += 1
        if self.leaves > MAX_LEAVES:
            self.add(
                f"conditions: more than {MAX_LEAVES} conditions; a rule may hold at most {MAX_LEAVES} "
                "(split it into several rules)"
            )
            return
        self.leaf(node, path)

    def leaf(self, node: Mapping[Any, Any], path: str) -> None:
        for key in node:
            if key not in _LEAF_KEYS:
                self.add(f'{path}: unknown key {key!r}; a condition has "field", "op" and "value"')
        field, op = node.get("field"), node.get("op")
        kind: FieldKind | None = None
        if "field" not in node:
            self.add(f'{path}: "field" is missing; use one of {", ".join(FIELDS)}')
        elif not isinstance(field, str):
            self.add(f"{path}.field: must be a field name such as 'price', got {_shown(field)}")
        elif field not in FIELDS:
            hint = _did_you_mean(field, FIELDS)
            self.add(f"{path}.field: unknown field {field!r}{hint}; use one of {', '.join(FIELDS)}")
        else:
            kind = FIELDS[field].kind
        if "op" not in node:
            known = OPERATORS if kind is None else OPERATORS_BY_KIND[kind]
            self.add(f'{path}: "op" is missing; use one of {", ".join(known)}')
            return
        if not isinstance(op, str) or op not in OPERATORS:
            hint = _did_you_mean(op, OPERATORS) if isinstance(op, str) else ""
            self.add(f"{path}.op: unknown operator {_shown_key(op)}{hint}; use one of {', '.join(OPERATORS)}")
            return
        if kind is None:
            return  # without a known field, neither the operator nor the value can be judged
        allowed = OPERATORS_BY_KIND[kind]
        if op not in allowed:
            self.add(
                f"{path}.op: {op} does not apply to {field}, {_KIND_WORDS[kind]}; "
                f"use one of {', '.join(allowed)}"
            )
            return
        shape = _shape(kind, op)
        value_path = f"{path}.value"
        if shape == "nothing":
            if node.get("value") is not None:
                self.add(f'{value_path}: {op} takes no value; remove "value"')
            return
        if "value" not in node:
            self.add(f'{path}: "value" is missing; {field} {op} needs {_EXPECTED[shape]}')
            return
        for problem in _value_problems(node["value"], shape, f"{field} {op}"):
            self.add(f"{value_path}{problem}")


_KIND_WORDS: Mapping[FieldKind, str] = {
    "text": "a text",
    "number": "a number",
    "bool": "a yes/no fact",
    "text_list": "a list of names",
}


def _value_problems(value: object, shape: Shape, what: str, *, in_list: bool = False) -> list[str]:
    """Problems of a leaf's value, each starting with ": " or "[i]: " to follow the value's path."""
    if shape in ("numbers", "texts"):
        if not isinstance(value, list | tuple) or not value:
            return [f": {what} needs {_EXPECTED[shape]}, got {_shown(value)}"]
        if len(value) > MAX_LIST_VALUES:
            return [f": at most {MAX_LIST_VALUES} values, got {len(value)}"]
        item_shape: Shape = "number" if shape == "numbers" else "text"
        return [
            f"[{index}]{problem}"
            for index, item in enumerate(value)
            for problem in _value_problems(item, item_shape, "each value", in_list=True)
        ]
    if shape == "number":
        if isinstance(value, bool) or not isinstance(value, int | float):
            return [f": {what} needs a number, got {_shown(value)}"]
        if isinstance(value, float) and not math.isfinite(value):
            return [f": {what} needs a finite number, got {value}"]
        return []
    if shape == "bool":
        return [] if isinstance(value, bool) else [f": {what} needs true or false, got {_shown(value)}"]
    if not isinstance(value, str):
        return [f": {what} needs {_EXPECTED[shape]}, got {_shown(value)}"]
    if not value.strip():
        return [": must not be empty" if in_list else ': must not be empty; use "op": "missing" for no value']
    if shape == "pattern":
        return [f": {problem}" for problem in pattern_problems(value)]
    if len(value) > MAX_TEXT_VALUE:
        return [f": at most {MAX_TEXT_VALUE} characters, got {len(value)}"]
    return []


def pattern_problems(pattern: str) -> list[str]:
    """Why a regular expression may not be used in ``matches``; empty when it may."""
    if len(pattern) > MAX_PATTERN:
        return [f"a regular expression may have at most {MAX_PATTERN} characters, got {len(pattern)}"]
    try:
        re.compile(pattern, re.IGNORECASE)
    except re.error as error:
        return [f"not a valid regular expression: {error.msg} at position {error.pos}"]
    return _PatternShape(pattern).problems()


_QUANTIFIER_RE = re.compile(r"\{(\d*)(,?)(\d*)\}")


@dataclass(slots=True)
class _Group:
    variable: bool = False  # holds a repeat that varies, or alternatives
    alternatives: int = 1


class _PatternShape:
    """Reads a pattern that compiles, to find the shapes that make backtracking explode.

    * For each open group: whether it holds a variable repeat or an alternation. Such a group
      repeated again ("(a+)+") can match the same text in exponentially many ways.
    * The ways the repeats can share out a text, at most: the product of the choices of the
      bounded ones and of the alternatives (2 for "?", m - n + 1 for "{n,m}", k for k alternatives;
      at most 64) times the text's length for each open-ended one. "a?" seven times is 128 ways
      (refused: "a?" 17 times took 3.7 s, "(?:a|a)" 16 times 0.4 s), and "a?a?a?.*.*x" 8 × 200²
      (refused: twice the worst accepted, "a?a?.*.*x", 90 ms on 200 letters).
    """

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        self.found: list[str] = []
        self.open_repeats = 0
        self.choices = 1  # the product of the bounded repeats' choices, capped
        self.stack = [_Group()]  # the open groups, the pattern itself first

    def problems(self) -> list[str]:
        pattern, index = self.pattern, 0
        while index < len(pattern):
            index, closed = self._atom(index)
            index = self._quantifier(index, closed)
        self._choose(self.stack[0].alternatives)
        if self.open_repeats > MAX_OPEN_REPEATS:
            self._add(
                f"at most {MAX_OPEN_REPEATS} open-ended repeats (*, +, {{n,}}) in a pattern, got "
                f"{self.open_repeats}: matching could take very long; use contains_any or several rules"
            )
        elif self.choices > _MAX_CHOICES or self.choices * MATCH_TEXT_LIMIT**self.open_repeats > _MAX_WAYS:
            self._add(
                "too many optional, counted or alternative parts (?, {n,m}, |) in the pattern: "
                "matching could take very long; use contains_any or several rules"
            )
        return self.found

    def _add(self, problem: str) -> None:
        if problem not in self.found:
            self.found.append(problem)

    def _atom(self, index: int) -> tuple[int, bool | None]:
        """The index after the atom at ``index``; for a closing group, whether it was variable."""
        pattern, char = self.pattern, self.pattern[index]
        if char == "\\":
            if pattern[index + 1 : index + 2] in tuple("123456789"):
                self._add_backreference()
            return index + 2, None
        if char == "[":
            return self._class_end(index), None
        if char == "(":
            return self._group_start(index), None
        if char == ")":
            group = self.stack.pop() if len(self.stack) > 1 else _Group()  # never the pattern itself
            self._choose(group.alternatives)
            self.stack[-1].variable |= group.variable
            return index + 1, group.variable
        if char == "|":
            self.stack[-1].variable = True
            self.stack[-1].alternatives += 1
        return index + 1, None

    def _quantifier(self, index: int, closed_group: bool | None) -> int:
        pattern = self.pattern
        low, high, end = 0, None, index + 1  # high None: no upper bound
        char = pattern[index : index + 1]
        if char == "*":
            pass
        elif char == "+":
            low = 1
        elif char == "?":
            high = 1
        elif char == "{" and (match := _QUANTIFIER_RE.match(pattern, index)) and match[0] != "{}":
            low = int(match[1] or 0)
            high = int(match[3]) if match[3] else (None if match[2] else low)
            end = match.end()
        else:
            return index
        if pattern[end : end + 1] in ("?", "+"):  # lazy or possessive: the same repeat
            end += 1
        if high is None or high - low >= _BIG_REPEAT:
            self.open_repeats += 1
        else:
            self._choose(high - low + 1)
        if closed_group and (high is None or high > 1):
            self._add(
                "a group that repeats or has alternatives is repeated again, as in (a+)+ or (a|ab)*: "
                "matching could take very long; write it without repeating the group"
            )
        if high != low:
            self.stack[-1].variable = True
        return end

    def _choose(self, ways: int) -> None:
        self.choices = min(self.choices * ways, _MAX_WAYS + 1)

    def _class_end(self, index: int) -> int:
        pattern, index = self.pattern, index + 1
        if pattern[index : index + 1] == "^":
            index += 1
        if pattern[index : index + 1] == "]":  # a "]" first is a literal
            index += 1
        while index < len(pattern) and pattern[index] != "]":
            index += 2 if pattern[index] == "\\" else 1
        return index + 1

    def _group_start(self, index: int) -> int:
        pattern = self.pattern
        if not pattern.startswith("(?", index):
            self.stack.append(_Group())
            return index + 1
        marker = pattern[index + 2 : index + 4]
        if marker.startswith("#"):  # a comment
            return pattern.index(")", index) + 1
        if marker == "P=" or marker.startswith("("):
            self._add_backreference()
        self.stack.append(_Group())
        if marker == "P<":
            return pattern.index(">", index) + 1
        if marker.startswith("("):  # a conditional: skip its "(1)"
            return pattern.index(")", index + 2) + 1
        if marker in ("P=", "<=", "<!"):
            return index + 4
        if marker[:1] in (":", "=", "!", ">"):
            return index + 3
        end = index + 2  # inline flags: "(?i:...)" opens a group, "(?i)" is not one
        while pattern[end] not in ":)":
            end += 1
        if pattern[end] == ")":
            self.stack.pop()
        return end + 1

    def _add_backreference(self) -> None:
        self._add(
            r"back-references and conditionals (\1, (?P=name), (?(1)...)) are not allowed: "
            "matching could take very long"
        )


def _did_you_mean(word: str, known: Sequence[str] | Mapping[str, Any]) -> str:
    close = difflib.get_close_matches(word, list(known), n=1, cutoff=0.75)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _keys(keys: Sequence[object]) -> str:
    return "keys " + ", ".join(_shown_key(key) for key in keys)


def _shown_key(key: object) -> str:
    return repr(key) if isinstance(key, str) else _shown(key)


def _shown(value: object) -> str:
    """A JSON value named the way the API's user wrote it: "the text '10'", "a list", "null"."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f"the text {_quoted(value)}"
    if isinstance(value, Decimal):
        return f"the Decimal {value} (use an int or float)"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, list | tuple):
        return "an empty list" if not value else "a list"
    if isinstance(value, Mapping):
        return "an object"
    return f"a {type(value).__name__}"


# --- compilation --------------------------------------------------------------------------------


def _compile(node: Mapping[str, Any]) -> CompiledCondition:
    if "not" in node:
        inner = _compile(node["not"])
        text = f"not ({inner.text})"
        return CompiledCondition(lambda facts: not inner.test(facts), lambda facts: text, text)
    if "all" in node:
        return _all([_compile(child) for child in node["all"]])
    if "any" in node:
        return _any([_compile(child) for child in node["any"]])
    return _leaf(node["field"], node["op"], node.get("value"))


def _all(children: list[CompiledCondition]) -> CompiledCondition:
    if len(children) == 1:
        return children[0]
    tests = tuple(child.test for child in children)

    def test(facts: Facts) -> bool:
        return all(child_test(facts) for child_test in tests)

    def explain(facts: Facts) -> str:
        return " and ".join(child.explain(facts) for child in children)

    return CompiledCondition(test, explain, _joined(children, "and"), "and")


def _any(children: list[CompiledCondition]) -> CompiledCondition:
    if len(children) == 1:
        return children[0]
    tests = tuple(child.test for child in children)

    def test(facts: Facts) -> bool:
        return any(child_test(facts) for child_test in tests)

    def explain(facts: Facts) -> str:
        # The first condition that held is the reason; an "any" that holds has one.
        return next(child.explain(facts) for child in children if child.test(facts))

    return CompiledCondition(test, explain, _joined(children, "or"), "or")


def _joined(children: list[CompiledCondition], joiner: str) -> str:
    return f" {joiner} ".join(
        f"({child.text})" if child.joiner not in (None, joiner) else child.text for child in children
    )


# A leaf is built from: ``value_of`` (the fact as this kind, None when it has no value), ``holds``
# (the operator on such a value), and how the fact is shown in a reason.


def _leaf(field: str, op: Operator, value: Any) -> CompiledCondition:
    kind = FIELDS[field].kind
    value_of = _VALUE_OF[kind]
    if op in ("exists", "missing"):
        return _presence(field, op, value_of, kind)
    holds, said, wanted = _operator(kind, op, value)

    def test(facts: Facts) -> bool:
        fact = value_of(facts.get(field))
        return fact is not None and holds(fact)

    def explain(facts: Facts) -> str:
        fact = value_of(facts.get(field))
        return said(field, fact)

    phrase = _PHRASES[op].replace("contains", "include") if kind == "text_list" else _PHRASES[op]
    return CompiledCondition(test, explain, f"{field} {phrase} {wanted}")


def _presence(field: str, op: Operator, value_of: Callable[[Any], Any], kind: FieldKind) -> CompiledCondition:
    if op == "missing":
        return CompiledCondition(
            lambda facts: value_of(facts.get(field)) is None,
            lambda facts: f"{field} is missing",
            f"{field} is missing",
        )
    return CompiledCondition(
        lambda facts: value_of(facts.get(field)) is not None,
        lambda facts: f"{field} is set: {_fact_text(kind, value_of(facts.get(field)))}",
        f"{field} is set",
    )


_PHRASES: Mapping[Operator, str] = {
    "eq": "is",
    "ne": "is not",
    "lt": "is below",
    "lte": "is at most",
    "gt": "is above",
    "gte": "is at least",
    "in": "is one of",
    "not_in": "is none of",
    "contains": "contains",
    "contains_any": "contains any of",
    "starts_with": "starts with",
    "matches": "matches",
}

_Holds = Callable[[Any], bool]
_Said = Callable[[str, Any], str]

_COMPARISONS: Mapping[str, Callable[[Any, Any], bool]] = {
    "eq": operator.eq,
    "ne": operator.ne,
    "lt": operator.lt,
    "lte": operator.le,
    "gt": operator.gt,
    "gte": operator.ge,
}


def _operator(kind: FieldKind, op: Operator, value: Any) -> tuple[_Holds, _Said, str]:
    """How ``op`` tests a fact that has a value, how a reason says it held, and the value shown."""
    if kind == "number":
        return _number_operator(op, value)
    if kind == "bool":
        wanted: bool = value if op == "eq" else not value
        # A reason for a yes/no fact simply says what it is: "ean_valid is false".
        return (
            lambda fact: fact is wanted,
            lambda field, fact: f"{field} is {_bool_text(fact)}",
            _bool_text(value),
        )
    if kind == "text_list":
        return _list_operator(op, value)
    return _text_operator(op, value)


def _number_operator(op: Operator, value: Any) -> tuple[_Holds, _Said, str]:
    if op in ("in", "not_in"):
        plain = frozenset(value)
        exact = frozenset(_exact(number) for number in value)
        inside = op == "in"
        shown = _listed([_number_text(number) for number in value])
        return (
            lambda fact: ((fact in exact) if isinstance(fact, Decimal) else (fact in plain)) == inside,
            lambda field, fact: f"{field} {_number_text(fact)} {_PHRASES[op]} {shown}",
            shown,
        )
    compare, exact_value = _COMPARISONS[op], _exact(value)
    shown = _number_text(value)

    def holds(fact: Number) -> bool:
        # A Decimal fact is compared with the value as written: Decimal("10.1") is not below 10.1.
        return compare(fact, exact_value) if isinstance(fact, Decimal) else compare(fact, value)

    if op == "eq":
        return holds, (lambda field, fact: f"{field} is {_number_text(fact)}"), shown
    return holds, (lambda field, fact: f"{field} {_number_text(fact)} {_PHRASES[op]} {shown}"), shown


def _text_operator(op: Operator, value: Any) -> tuple[_Holds, _Said, str]:
    # Facts reach the operator stripped (``_text``); the operator casefolds them.
    if op in ("in", "not_in", "contains_any"):
        originals = [text.strip() for text in value]
        folded = [text.casefold() for text in originals]
        shown = _listed([_quoted(text) for text in originals])
        if op == "contains_any":
            pairs = tuple(zip(folded, originals, strict=True))

            def first(fact: str) -> str | None:
                text = fact.casefold()
                return next((original for part, original in pairs if part in text), None)

            return (
                lambda fact: first(fact) is not None,
                lambda field, fact: f"{field} {_quoted(fact)} contains {_quoted(first(fact) or '')}",
                shown,
            )
        members, inside = frozenset(folded), op == "in"
        return (
            lambda fact: (fact.casefold() in members) == inside,
            lambda field, fact: f"{field} {_quoted(fact)} {_PHRASES[op]} {shown}",
            shown,
        )
    if op == "matches":
        pattern = re.compile(value, re.IGNORECASE)
        return (
            lambda fact: pattern.search(fact, 0, MATCH_TEXT_LIMIT) is not None,
            lambda field, fact: f"{field} {_quoted(fact)} matches {_quoted(value)}",
            _quoted(value),
        )
    wanted, shown = value.strip().casefold(), _quoted(value.strip())
    checks: Mapping[str, _Holds] = {
        "eq": lambda fact: fact.casefold() == wanted,
        "ne": lambda fact: fact.casefold() != wanted,
        "contains": lambda fact: wanted in fact.casefold(),
        "starts_with": lambda fact: fact.casefold().startswith(wanted),
    }
    if op == "eq":
        return checks[op], (lambda field, fact: f"{field} is {_quoted(fact)}"), shown
    return checks[op], (lambda field, fact: f"{field} {_quoted(fact)} {_PHRASES[op]} {shown}"), shown


def _list_operator(op: Operator, value: Any) -> tuple[_Holds, _Said, str]:
    # Facts reach the operator as a dict of casefolded name → name as given (``_names``).
    wanted = [value.strip()] if op == "contains" else [text.strip() for text in value]
    pairs = tuple((text.casefold(), text) for text in wanted)
    shown = _listed([_quoted(text) for text in wanted])

    def first(names: Mapping[str, str]) -> str | None:
        return next((names[folded] for folded, _ in pairs if folded in names), None)

    return (
        lambda names: first(names) is not None,
        lambda field, names: f"{field} include {_quoted(first(names) or '')}",
        shown,
    )


# --- facts --------------------------------------------------------------------------------------


def _text(fact: object) -> str | None:
    if isinstance(fact, str):
        return fact.strip() or None
    return None


def _number(fact: object) -> Number | None:
    if isinstance(fact, bool):  # True is an int to Python, but not a quantity
        return None
    if isinstance(fact, int):
        return fact
    if isinstance(fact, float):
        return fact if math.isfinite(fact) else None
    if isinstance(fact, Decimal):
        return fact if fact.is_finite() else None
    return None


def _bool(fact: object) -> bool | None:
    return fact if isinstance(fact, bool) else None


def _names(fact: object) -> dict[str, str] | None:
    if not isinstance(fact, list | tuple | set | frozenset):
        return None
    names: dict[str, str] = {}
    for item in fact:
        if isinstance(item, str) and (name := item.strip()):
            names.setdefault(name.casefold(), name)
    return names or None


_VALUE_OF: Mapping[FieldKind, Callable[[Any], Any]] = {
    "text": _text,
    "number": _number,
    "bool": _bool,
    "text_list": _names,
}


def _fact_text(kind: FieldKind, fact: Any) -> str:
    if kind == "number":
        return _number_text(fact)
    if kind == "bool":
        return _bool_text(fact)
    if kind == "text_list":
        return _listed([_quoted(name) for name in fact.values()])
    return _quoted(fact)


def _exact(number: int | float) -> Number:
    """The value as written: 10.1 as Decimal("10.1"), for comparing with Decimal facts."""
    return Decimal(repr(number)) if isinstance(number, float) else number


def _number_text(number: Number) -> str:
    """Simple and deterministic, with a decimal comma: 8.50 → "8,50", 10.0 → "10", 1e30 → "1e+30"."""
    if isinstance(number, float):
        text = str(int(number)) if number.is_integer() and abs(number) < 1e16 else repr(number)
    elif isinstance(number, Decimal):
        text = str(number)  # "8.50" keeps its places; "1E+2" and such need the formats below
        if "E" in text:
            text = f"{number:f}" if -20 <= number.adjusted() <= 20 else f"{number:.6e}"
    else:
        text = str(number) if abs(number) < 10**20 else f"{Decimal(number):.6e}"
    return text.replace(".", ",")


def _bool_text(value: bool) -> str:
    return "true" if value else "false"


def _quoted(text: str) -> str:
    text = text.strip()
    return f"'{text if len(text) <= _SHOWN_TEXT else text[: _SHOWN_TEXT - 1] + '…'}'"


def _listed(items: list[str]) -> str:
    if len(items) <= _SHOWN_VALUES:
        return ", ".join(items)
    return f"{', '.join(items[:_SHOWN_VALUES])} and {len(items) - _SHOWN_VALUES} more"
