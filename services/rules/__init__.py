"""Rules: a seller's block / warn / prefer rules, evaluated on each listing's facts.

Pure functions and frozen values: no I/O, no database; the same rules and facts always give the
same evaluation; the rules' store (store.py) is the one module that reads and writes rows. Imports
models (what a stored rule may hold). Each module's docstring states its rules: fields (the facts a
condition may name), conditions (the JSON condition language, its validation and evaluation, RE2
for patterns), engine (rules, statuses, ordering, fingerprints) and templates (ready-made rules).

Speed: a rule's conditions are checked and compiled into closures once, when the ``Rule`` is made,
so evaluating is a few dict look-ups and comparisons. Measured with timeit (best of 7, Python 3.11,
a shared 2-core machine under load, so the figures vary by about 2×), per rule per listing:

* a simple rule that does not fire ("price lt 10"): 0.5-1.3 µs (10 such rules: 7-13 µs an evaluate);
* a simple rule that fires: 3-4 µs, most of it building its reason and its FiredRule;
* the 8 GLOBAL_TEMPLATES on a listing none of them fires on: 1.2-2.3 µs a rule (10-18 µs in all).

10 rules × 30,000 listings is therefore about 0.2-0.4 s. A ``matches`` rule costs about 2 µs on a
title it does not match and 4-5 µs on one it does (RE2's Python binding builds a match object);
RE2 matches in time linear in the text whatever the pattern, so no pattern costs much more.
"""

from models.rules import ACTIONS, MAX_WEIGHT, RULE_TYPES, Action, RuleType
from services.rules.conditions import (
    MATCH_TEXT_LIMIT,
    MAX_DEPTH,
    MAX_LEAVES,
    OPERATORS,
    OPERATORS_BY_KIND,
    CompiledCondition,
    InvalidConditions,
    Operator,
    Problem,
    compile_conditions,
    condition_problems,
)
from services.rules.engine import (
    Evaluation,
    EvaluationStatus,
    FiredRule,
    InvalidRule,
    Rule,
    evaluate,
    rules_fingerprint,
    worst,
)
from services.rules.fields import FIELD_KINDS, FIELDS, FieldKind, FieldSpec
from services.rules.templates import GLOBAL_TEMPLATES, RuleTemplate

__all__ = [
    "ACTIONS",
    "FIELDS",
    "FIELD_KINDS",
    "GLOBAL_TEMPLATES",
    "MATCH_TEXT_LIMIT",
    "MAX_DEPTH",
    "MAX_LEAVES",
    "MAX_WEIGHT",
    "OPERATORS",
    "OPERATORS_BY_KIND",
    "RULE_TYPES",
    "Action",
    "CompiledCondition",
    "Evaluation",
    "EvaluationStatus",
    "FieldKind",
    "FieldSpec",
    "FiredRule",
    "InvalidConditions",
    "InvalidRule",
    "Operator",
    "Problem",
    "Rule",
    "RuleTemplate",
    "RuleType",
    "compile_conditions",
    "condition_problems",
    "evaluate",
    "rules_fingerprint",
    "worst",
]
