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

Rules of validation (``condition_problems`` names every problem at once, each a ``Problem`` with
its path as data, ``loc`` ("conditions", "all", 1, "op"), and a message that starts with the same
path in words, such as "conditions.all[1].op: unknown operator 'contians'; use one of eq, ne, ..."):

* Unknown fields, operators and keys are refused, and so is a value that does not fit the field's
  kind and the operator; blank texts are refused (``missing`` is how to ask for no value).
* Rules arrive over an HTTP API, so their size is bounded: at most ``MAX_DEPTH`` levels (the
  outermost condition is level 1), ``MAX_LEAVES`` leaves, ``MAX_LIST_VALUES`` values in a list and
  ``MAX_TEXT_VALUE`` characters in a text.
* Patterns have at most ``MAX_PATTERN`` characters and must compile with RE2 (google-re2), the
  engine that matches them: it runs in time linear in the text whatever the pattern, so
  ``(a+)+$`` or ``.*.*x`` are as safe as ``sony``. RE2 has no back-references (``\\1``,
  ``(?P=name)``), look-around (``(?=...)``, ``(?<!...)``), conditionals, possessive repeats or
  atomic groups, and writes the end of the text ``\\z`` (or ``$``), not ``\\Z``: such patterns are
  refused, naming what is not supported. RE2's classes know only ASCII, so a pattern's ``\\w`` and
  ``\\W`` are given to it as letters, digits and "_" of any script (``\\w+`` matches "żel", as in
  Python's ``re``); its ``\\b`` cannot be, so a ``\\b`` in a pattern that holds a letter outside
  ASCII is refused, naming the way to write it (``(^|\\PL)żel(\\PL|$)``); ``\\d`` and ``\\s`` stay
  ASCII digits and spaces. Syntax: https://github.com/google/re2/wiki/Syntax.
"""

from __future__ import annotations

import difflib
import math
import operator
import re
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from types import MappingProxyType
from typing import Any, Literal, get_args

import re2

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
MATCH_TEXT_LIMIT = 200  # the longest title any marketplace we list on takes (Amazon's)
MAX_PROBLEMS = 50  # a broken rule of 100 leaves should not answer with a thousand lines

_COMBINATORS = ("all", "any", "not")
_LEAF_KEYS = ("field", "op", "value")
_SHOWN_TEXT = 60  # characters of a text quoted in a reason
_SHOWN_VALUES = 5  # values of a list named in a reason

Facts = Mapping[str, Any]
Number = int | float | Decimal
Loc = tuple[str | int, ...]

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


@dataclass(frozen=True, slots=True)
class Problem:
    """One reason something is refused: ``loc``, the path of what is wrong, and ``message``, why.

    ``loc`` is data, such as ("conditions", "all", 1, "op") or ("weight",): the API answers with it
    as it is, so rewording a message never moves a problem. A condition's message starts with the
    same path in words ("conditions.all[1].op: ..."), written from ``loc`` by ``loc_text``.
    """

    loc: Loc
    message: str


def loc_text(loc: Loc) -> str:
    """A path as a message names it: ("conditions", "all", 1, "op") → "conditions.all[1].op"."""
    return "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in loc).lstrip(".")


class InvalidConditions(ValueError):
    """The conditions cannot be used; ``problems`` lists why, each with the path it is about."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__(f"conditions are not valid: {'; '.join(self.messages)}")

    @property
    def messages(self) -> list[str]:
        return [problem.message for problem in self.problems]


def condition_problems(conditions: object) -> list[Problem]:
    """Every problem of the conditions, with its path and in words for the seller; empty when valid."""
    checker = _Checker()
    checker.node(conditions, ("conditions",), 1)
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

_ROOT: Loc = ("conditions",)


class _Checker:
    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self.leaves = 0
        self.too_deep = False

    @property
    def full(self) -> bool:
        return len(self.problems) >= MAX_PROBLEMS or self.leaves > MAX_LEAVES

    def add(self, loc: Loc, problem: str) -> None:
        """Record ``problem`` about ``loc``; its message starts with the path in words."""
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(Problem(loc, f"{loc_text(loc)}: {problem}"))
            if len(self.problems) == MAX_PROBLEMS:
                self.problems.append(
                    Problem(_ROOT, f"{loc_text(_ROOT)}: too many problems to list them all; fix these first")
                )

    def node(self, node: object, loc: Loc, depth: int) -> None:
        if self.full:
            return
        if depth > MAX_DEPTH:
            # Reported once: every branch below would say the same.
            if not self.too_deep:
                self.too_deep = True
                self.add(loc, f'nested too deep; "all", "any" and "not" may nest at most {MAX_DEPTH} levels')
            return
        if not isinstance(node, Mapping):
            self.add(loc, f'must be an object with "all", "any", "not" or "field", got {_shown(node)}')
            return
        keys = list(node)
        combinators = [key for key in keys if key in _COMBINATORS]
        if combinators:
            if len(keys) > 1:
                self.add(
                    loc,
                    f'an object holds one of "all", "any" or "not" and nothing beside it, got {_keys(keys)}',
                )
                return
            key = combinators[0]
            if key == "not":
                self.node(node[key], (*loc, "not"), depth + 1)
                return
            children = node[key]
            if not isinstance(children, list | tuple) or not children:
                self.add((*loc, key), f"must be a non-empty list of conditions, got {_shown(children)}")
                return
            for index, child in enumerate(children):
                self.node(child, (*loc, key, index), depth + 1)
            return
        if not any(key in _LEAF_KEYS for key in keys):
            found = f"got {_keys(keys)}" if keys else "got an empty object"
            self.add(loc, f'give "field", "op" and "value", or one of "all", "any", "not"; {found}')
            return
        self.leaves += 1
        if self.leaves > MAX_LEAVES:
            self.add(
                _ROOT,
                f"more than {MAX_LEAVES} conditions; a rule may hold at most {MAX_LEAVES} "
                "(split it into several rules)",
            )
            return
        self.leaf(node, loc)

    def leaf(self, node: Mapping[Any, Any], loc: Loc) -> None:
        for key in node:
            if key not in _LEAF_KEYS:
                self.add(loc, f'unknown key {key!r}; a condition has "field", "op" and "value"')
        field, op = node.get("field"), node.get("op")
        kind: FieldKind | None = None
        if "field" not in node:
            self.add(loc, f'"field" is missing; use one of {", ".join(FIELDS)}')
        elif not isinstance(field, str):
            self.add((*loc, "field"), f"must be a field name such as 'price', got {_shown(field)}")
        elif field not in FIELDS:
            hint = _did_you_mean(field, FIELDS)
            self.add((*loc, "field"), f"unknown field {field!r}{hint}; use one of {', '.join(FIELDS)}")
        else:
            kind = FIELDS[field].kind
        if "op" not in node:
            known = OPERATORS if kind is None else OPERATORS_BY_KIND[kind]
            self.add(loc, f'"op" is missing; use one of {", ".join(known)}')
            return
        if not isinstance(op, str) or op not in OPERATORS:
            hint = _did_you_mean(op, OPERATORS) if isinstance(op, str) else ""
            self.add(
                (*loc, "op"), f"unknown operator {_shown_key(op)}{hint}; use one of {', '.join(OPERATORS)}"
            )
            return
        if kind is None:
            return  # without a known field, neither the operator nor the value can be judged
        allowed = OPERATORS_BY_KIND[kind]
        if op not in allowed:
            self.add(
                (*loc, "op"),
                f"{op} does not apply to {field}, {_KIND_WORDS[kind]}; use one of {', '.join(allowed)}",
            )
            return
        shape = _shape(kind, op)
        value_loc = (*loc, "value")
        if shape == "nothing":
            if node.get("value") is not None:
                self.add(value_loc, f'{op} takes no value; remove "value"')
            return
        if "value" not in node:
            self.add(loc, f'"value" is missing; {field} {op} needs {_EXPECTED[shape]}')
            return
        for inner, problem in _value_problems(node["value"], shape, f"{field} {op}"):
            self.add((*value_loc, *inner), problem)


_KIND_WORDS: Mapping[FieldKind, str] = {
    "text": "a text",
    "number": "a number",
    "bool": "a yes/no fact",
    "text_list": "a list of names",
}


def _value_problems(
    value: object, shape: Shape, what: str, *, in_list: bool = False
) -> list[tuple[tuple[int, ...], str]]:
    """Problems of a leaf's value, each with its path inside the value: () or (index,)."""
    if shape in ("numbers", "texts"):
        if not isinstance(value, list | tuple) or not value:
            return [((), f"{what} needs {_EXPECTED[shape]}, got {_shown(value)}")]
        if len(value) > MAX_LIST_VALUES:
            return [((), f"at most {MAX_LIST_VALUES} values, got {len(value)}")]
        item_shape: Shape = "number" if shape == "numbers" else "text"
        return [
            ((index, *inner), problem)
            for index, item in enumerate(value)
            for inner, problem in _value_problems(item, item_shape, "each value", in_list=True)
        ]
    if shape == "number":
        if isinstance(value, bool) or not isinstance(value, int | float):
            return [((), f"{what} needs a number, got {_shown(value)}")]
        if isinstance(value, float) and not math.isfinite(value):
            return [((), f"{what} needs a finite number, got {value}")]
        return []
    if shape == "bool":
        return [] if isinstance(value, bool) else [((), f"{what} needs true or false, got {_shown(value)}")]
    if not isinstance(value, str):
        return [((), f"{what} needs {_EXPECTED[shape]}, got {_shown(value)}")]
    if not value.strip():
        return [
            ((), "must not be empty" if in_list else 'must not be empty; use "op": "missing" for no value')
        ]
    if shape == "pattern":
        return [((), problem) for problem in pattern_problems(value)]
    if len(value) > MAX_TEXT_VALUE:
        return [((), f"at most {MAX_TEXT_VALUE} characters, got {len(value)}")]
    return []


# --- patterns -----------------------------------------------------------------------------------


def _re2_options() -> Any:
    options = re2.Options()
    options.case_sensitive = False
    options.log_errors = False  # a seller's typo is a 422, not a line on the server's stderr
    return options


_RE2_OPTIONS = _re2_options()


def pattern_problems(pattern: str) -> list[str]:
    """Why a regular expression may not be used in ``matches``; empty when it may."""
    if len(pattern) > MAX_PATTERN:
        return [f"a regular expression may have at most {MAX_PATTERN} characters, got {len(pattern)}"]
    try:
        compile_pattern(pattern)
    except re2.error as error:
        return [_re2_problem(pattern, error)]
    except _AsciiWordBoundary as problem:
        return [str(problem)]
    return []


_WORD = r"\pL\pN_"  # a word character of any script, as Python's re reads \w in text


class _AsciiWordBoundary(ValueError):
    pass


def compile_pattern(pattern: str) -> Any:
    """The RE2 pattern for a seller's pattern: ``\\w`` and ``\\W`` of any script (RE2's own know
    ASCII only). re2.error for what RE2 refuses; _AsciiWordBoundary for a ``\\b`` beside letters it
    would not see as letters."""
    beyond_ascii = any(ch.isalpha() and not ch.isascii() for ch in pattern)
    if beyond_ascii and re.search(r"(?<!\\)(?:\\\\)*\\[bB]", pattern):
        raise _AsciiWordBoundary(
            "\\b is not supported beside letters outside ASCII (RE2's word boundary would not see 'ż' as a "
            "letter): write the edges of a word as (^|\\PL) and (\\PL|$), e.g. (^|\\PL)żel(\\PL|$)"
        )
    return re2.compile(_unicode_words(pattern), _RE2_OPTIONS)


def _unicode_words(pattern: str) -> str:
    """``\\w`` / ``\\W`` as classes of any script, in and out of brackets (``\\W`` in brackets, which
    no class can say, is left to RE2)."""
    out: list[str] = []
    in_class = False
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            escaped = pattern[i + 1]
            if escaped == "w":
                out.append(_WORD if in_class else f"[{_WORD}]")
            elif escaped == "W" and not in_class:
                out.append(f"[^{_WORD}]")
            else:
                out.append(pattern[i : i + 2])
            i += 2
            continue
        if ch == "[" and not in_class:
            in_class = True
            out.append(ch)
            # "]" right after "[" or "[^" is a member, not the end of the class
            ahead = i + 1 + (pattern[i + 1 : i + 2] == "^")
            if pattern[ahead : ahead + 1] == "]":
                out.append(pattern[i + 1 : ahead + 1])
                i = ahead + 1
                continue
        elif ch == "]" and in_class:
            in_class = False
            out.append(ch)
        else:
            out.append(ch)
        i += 1
    return "".join(out)


_RE2_SYNTAX = "see https://github.com/google/re2/wiki/Syntax"


def _re2_problem(pattern: str, error: Exception) -> str:
    """What is wrong with a pattern RE2 refused, in words for the seller.

    RE2 names the first thing it refuses ("invalid perl operator: (?<=", "missing ): (sony"). A
    feature of Python's ``re`` that RE2 lacks is named as such; for a plain syntax error, Python's
    parser names what is wrong and where (RE2 gives no position). Only RE2 decides what passes.
    """
    said = error.args[0] if error.args else ""
    said = said.decode(errors="replace") if isinstance(said, bytes) else str(said)
    code, _, part = said.partition(": ")
    if unsupported := _unsupported(code, part, pattern):
        return f"{unsupported} ({_RE2_SYNTAX})"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "possible nested set" and such: not the seller's concern
            re.compile(pattern, re.IGNORECASE)
    except re.error as syntax:
        return f"not a valid regular expression: {syntax.msg} at position {syntax.pos}"
    except (RecursionError, OverflowError):
        pass
    return f"not a valid regular expression for RE2, the engine that matches patterns: {said} ({_RE2_SYNTAX})"


def _unsupported(code: str, part: str, pattern: str) -> str | None:
    """The feature of Python's ``re`` that RE2 lacks, from what RE2 refused; None for another error."""
    if code == "invalid escape sequence":
        if part[1:2].isdigit():
            return r"back-references (\1, (?P=name)) are not supported"
        if part == "\\Z":
            return r"\Z is not supported: use \z or $ for the end of the text"
        if part in ("\\u", "\\U"):
            return r"\u and \U are not supported: write a character as itself or as \x{20AC}"
        return None
    if code == "invalid perl operator":
        if part == "(?P":  # (?P<name>...) is supported; (?P=name) and (?P>name) are not
            if "(?P=" in pattern or "(?P>" in pattern:
                return r"back-references (\1, (?P=name)) are not supported"
            return None
        if part in ("(?=", "(?!", "(?<=", "(?<!"):
            return "look-ahead and look-behind ((?=...), (?!...), (?<=...), (?<!...)) are not supported"
        if part == "(?(":
            return "conditionals ((?(1)...|...)) are not supported"
        if part == "(?>":
            return "atomic groups ((?>...)) are not supported"
        if part == "(?#":
            return "comments ((?#...)) are not supported"
        return (
            f"{part}...) is not supported: groups are (...), (?:...) and (?P<name>...), "
            "flags (?i), (?m), (?s) and (?U)"
        )
    if code == "bad repetition operator" and part.endswith("+") and len(part) > 1:
        return f"possessive repeats ({part}) are not supported"
    if code == "invalid repetition size" and _ascending(part):  # {2,1} is a plain syntax error
        return f"the repeat {part} is too large: at most 1000, also for repeats inside repeats"
    if code.startswith("pattern too large"):
        return "the pattern is too large to match: repeat less, or repeat smaller classes (\\pL{100} is big)"
    return None


def _ascending(repeat: str) -> bool:
    counts = [int(count) for count in re.findall(r"\d+", repeat)]
    return counts == sorted(counts)


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
        pattern = compile_pattern(value)
        # Search the cut text rather than pass endpos: RE2 does not match "$" at an endpos.
        return (
            lambda fact: pattern.search(fact[:MATCH_TEXT_LIMIT]) is not None,
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
