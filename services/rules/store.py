"""Stored rules and rule templates: reading, validating, changing; the rules the score stage uses.

Rules:

* A rule is valid when services.rules.Rule accepts it (its problems are the rules) and it can be
  stored: conditions of at most ``MAX_CONDITIONS_CHARS`` characters as JSON, whole numbers within
  64 bits, no NUL characters in any text, a name of at most 200 characters. Every problem is
  reported at once (``InvalidRuleValues.problems``), each with its path ("conditions", "all", 1, "op").
* A rule made from a template takes the template's type and action; its name, weight, conditions
  and enabled flag may be given instead of the template's. The rule records the template's key.
* Templates: the global ones live in code (services.rules.GLOBAL_TEMPLATES) and cannot be changed
  or deleted; a seller saves their own under a key no other template has (global keys included).
  A key is 1 to 100 lower-case letters, digits, "_" or "-", starting with a letter or digit.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final, TypedDict, cast

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models import RuleRow, RuleTemplateRow
from models.rules import DESCRIPTION_MAX_LENGTH, KEY_MAX_LENGTH, MAX_CONDITIONS_CHARS, NAME_MAX_LENGTH
from services.rules import GLOBAL_TEMPLATES, Action, InvalidRule, Problem, Rule, RuleTemplate, RuleType
from services.rules.conditions import loc_text

KEY_RE: Final = re.compile(r"[a-z0-9][a-z0-9_-]{0,99}")
GLOBAL_BY_KEY: Final[Mapping[str, RuleTemplate]] = {template.key: template for template in GLOBAL_TEMPLATES}
_INT64 = 2**63
_RULE_FIELDS: Final = ("name", "type", "action", "weight", "conditions", "enabled")
# A valid stand-in for conditions too large to check, so the other fields are still checked.
_STAND_IN: Final[Mapping[str, Any]] = {"field": "price", "op": "exists"}


class RuleFields(TypedDict, total=False):
    """What a rule is created with or changed by; absent keys keep their value."""

    name: str
    type: str
    action: str
    weight: int
    conditions: Mapping[str, Any]
    enabled: bool


class TemplateFields(TypedDict, total=False):
    key: str
    name: str
    description: str
    type: str
    action: str
    weight: int
    conditions: Mapping[str, Any]


# One reason a rule or template is refused: ``loc``, the path of what is wrong, and ``message``, why.
# The pure rule's problems come with their path; the store's own checks give theirs.
FieldProblem = Problem


@dataclass(frozen=True, slots=True)
class TemplateView:
    """A template as listed: a global one from code or one the seller saved."""

    key: str
    name: str
    description: str
    type: str
    action: str
    weight: int
    conditions: Mapping[str, Any]
    is_global: bool


class RuleNotFound(LookupError):
    def __init__(self, rule_id: int) -> None:
        self.message = f"rule {rule_id} not found"
        super().__init__(self.message)


class TemplateNotFound(LookupError):
    def __init__(self, key: str) -> None:
        self.message = f"rule template {key!r} not found"
        super().__init__(self.message)


class TemplateKeyTaken(ValueError):
    """The key is a global template's or a saved one's."""


class GlobalTemplateReadOnly(ValueError):
    """Global templates live in code: they cannot be deleted or replaced."""


class InvalidRuleValues(ValueError):
    """The values make no usable rule (or template); ``problems`` holds every reason with its path."""

    def __init__(self, name: object, problems: list[FieldProblem]) -> None:
        self.problems = problems
        super().__init__(f"rule {name!r} is not valid: {'; '.join(p.message for p in problems)}")


# --- what the score stage uses ------------------------------------------------------------------


def rule_from_row(row: RuleRow) -> Rule:
    """The pure rule of a stored row; InvalidRule naming the rule's id if it no longer is valid."""
    try:
        return Rule(
            row.id,
            row.name,
            cast(RuleType, row.type),
            cast(Action, row.action),
            row.weight,
            row.conditions,
            row.enabled,
        )
    except InvalidRule as exc:
        raise InvalidRule(f"#{row.id} {row.name}", exc.problems) from None


def enabled_rules(session: Session) -> list[Rule]:
    """The pure Rule of every enabled rule, ordered by id.

    A stored rule that is no longer valid (a field an upgrade removed) raises InvalidRule naming
    it: scoring without a seller's block rule could publish what the seller meant to block.
    """
    rows = session.scalars(select(RuleRow).where(RuleRow.enabled.is_(True)).order_by(RuleRow.id))
    return [rule_from_row(row) for row in rows]


# --- rules --------------------------------------------------------------------------------------


def list_rules(
    session: Session, *, type: str | None = None, action: str | None = None, enabled: bool | None = None
) -> list[RuleRow]:
    """The rules matching every filter given, ordered by id."""
    query = select(RuleRow).order_by(RuleRow.id)
    if type is not None:
        query = query.where(RuleRow.type == type)
    if action is not None:
        query = query.where(RuleRow.action == action)
    if enabled is not None:
        query = query.where(RuleRow.enabled.is_(enabled))
    return list(session.scalars(query))


def get_rule(session: Session, rule_id: int, *, for_update: bool = False) -> RuleRow:
    query = select(RuleRow).where(RuleRow.id == rule_id)
    if for_update:
        query = query.with_for_update()
    row = session.scalar(query)
    if row is None:
        raise RuleNotFound(rule_id)
    return row


def validate_rule(fields: Mapping[str, object]) -> Rule:
    """The pure rule (id 0) for complete ``fields``; InvalidRuleValues listing every problem."""
    values = {key: fields.get(key) for key in _RULE_FIELDS}
    if values["enabled"] is None:
        values["enabled"] = True
    problems: list[FieldProblem] = []
    values["name"] = _name(values["name"], NAME_MAX_LENGTH, problems)
    conditions = values["conditions"]
    if (conditions_problems := _storage_problems(conditions)) and isinstance(conditions, Mapping):
        problems += conditions_problems
        values["conditions"] = _STAND_IN
    rule: Rule | None = None
    try:
        rule = Rule(
            0,
            cast(str, values["name"]),
            cast(RuleType, values["type"]),
            cast(Action, values["action"]),
            cast(int, values["weight"]),
            cast(Mapping[str, Any], values["conditions"]),
            cast(bool, values["enabled"]),
        )
    except InvalidRule as exc:
        problems += exc.problems
    if problems or rule is None:
        raise InvalidRuleValues(values["name"], problems)
    return rule


def create_rule(session: Session, fields: RuleFields, *, template_key: str | None = None) -> RuleRow:
    """A new rule (weight 0 and enabled unless given); InvalidRuleValues."""
    rule = validate_rule({"weight": 0, "enabled": True, **fields})
    row = RuleRow(template_key=template_key)
    _write(row, rule, fields)
    session.add(row)
    session.flush()
    session.refresh(row)
    return row


def create_from_template(session: Session, key: str, overrides: RuleFields) -> RuleRow:
    """A rule copied from the template ``key`` (global or saved), with ``overrides`` of its name,
    weight, conditions or enabled flag; the template's type and action stay.

    TemplateNotFound; InvalidRuleValues (also for an override of type or action).
    """
    template = find_template(session, key)
    if fixed := [field for field in ("type", "action") if field in overrides]:
        raise InvalidRuleValues(
            overrides.get("name", template.name),
            [
                FieldProblem((field,), f"{field} comes from the template {key!r}: leave it out")
                for field in fixed
            ],
        )
    fields: RuleFields = {
        "name": template.name,
        "type": template.type,
        "action": template.action,
        "weight": template.weight,
        "conditions": template.conditions,
        "enabled": True,
        **overrides,
    }
    return create_rule(session, fields, template_key=template.key)


def update_rule(session: Session, rule_id: int, changes: RuleFields) -> RuleRow:
    """The rule with ``changes`` applied (``conditions`` are replaced whole); RuleNotFound,
    InvalidRuleValues."""
    row = get_rule(session, rule_id, for_update=True)
    current = {field: getattr(row, field) for field in _RULE_FIELDS}
    rule = validate_rule({**current, **changes})
    _write(row, rule, {**current, **changes})
    session.flush()
    session.refresh(row)
    return row


def delete_rule(session: Session, rule_id: int) -> None:
    """Delete the rule; RuleNotFound."""
    deleted = session.execute(delete(RuleRow).where(RuleRow.id == rule_id).returning(RuleRow.id)).first()
    if deleted is None:
        raise RuleNotFound(rule_id)


# --- templates ----------------------------------------------------------------------------------


def list_templates(session: Session) -> list[TemplateView]:
    """The global templates in code order, then the seller's saved ones by key."""
    views = [_global_view(template) for template in GLOBAL_TEMPLATES]
    rows = session.scalars(select(RuleTemplateRow).order_by(RuleTemplateRow.key))
    return views + [_stored_view(row) for row in rows]


def find_template(session: Session, key: str) -> TemplateView:
    """The global or saved template with that key; TemplateNotFound."""
    if (template := GLOBAL_BY_KEY.get(key)) is not None:
        return _global_view(template)
    if "\x00" in key:  # no stored key holds NUL, and Postgres cannot compare with one
        raise TemplateNotFound(key)
    row = session.scalar(select(RuleTemplateRow).where(RuleTemplateRow.key == key))
    if row is None:
        raise TemplateNotFound(key)
    return _stored_view(row)


def save_template(session: Session, fields: TemplateFields) -> TemplateView:
    """Save a seller's template; InvalidRuleValues, TemplateKeyTaken (a saved or global key)."""
    problems: list[FieldProblem] = []
    key = fields.get("key")
    if not isinstance(key, str) or not KEY_RE.fullmatch(key):
        problems.append(
            FieldProblem(
                ("key",),
                f"key must be 1 to {KEY_MAX_LENGTH} lower-case letters, digits, '_' or '-', "
                f"starting with a letter or digit, got {str(key)[: KEY_MAX_LENGTH + 1]!r}",
            )
        )
    description = _name(fields.get("description", ""), DESCRIPTION_MAX_LENGTH, problems, "description")
    if not isinstance(description, str):
        problems.append(FieldProblem(("description",), "description must be a text"))
    rule: Rule | None = None
    try:
        rule = validate_rule({"weight": 0, **fields})
    except InvalidRuleValues as exc:
        problems += exc.problems
    if problems or rule is None or not isinstance(key, str) or not isinstance(description, str):
        raise InvalidRuleValues(fields.get("name"), problems)
    if key in GLOBAL_BY_KEY:
        raise TemplateKeyTaken(f"{key!r} is the key of a global template: choose another key")
    if session.scalar(select(RuleTemplateRow.id).where(RuleTemplateRow.key == key)) is not None:
        raise TemplateKeyTaken(f"a rule template with the key {key!r} already exists")
    row = RuleTemplateRow(
        key=key,
        name=rule.name,
        description=description,
        type=rule.type,
        action=rule.action,
        weight=rule.weight,
        conditions=_plain_json(fields["conditions"]),
    )
    session.add(row)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as exc:
        if "uq_rule_templates_key" in str(exc.orig):
            raise TemplateKeyTaken(f"a rule template with the key {key!r} already exists") from None
        raise
    session.refresh(row)
    return _stored_view(row)


def delete_template(session: Session, key: str) -> None:
    """Delete a saved template; GlobalTemplateReadOnly for a global one, TemplateNotFound."""
    if key in GLOBAL_BY_KEY:
        raise GlobalTemplateReadOnly("global templates cannot be deleted")
    deleted = session.execute(
        delete(RuleTemplateRow).where(RuleTemplateRow.key == key).returning(RuleTemplateRow.id)
    ).first()
    if deleted is None:
        raise TemplateNotFound(key)


# --- helpers ------------------------------------------------------------------------------------


def _global_view(template: RuleTemplate) -> TemplateView:
    plain = template.to_json()
    return TemplateView(
        key=template.key,
        name=template.name,
        description=template.description,
        type=template.type,
        action=template.action,
        weight=template.weight,
        conditions=plain["conditions"],
        is_global=True,
    )


def _stored_view(row: RuleTemplateRow) -> TemplateView:
    return TemplateView(
        key=row.key,
        name=row.name,
        description=row.description,
        type=row.type,
        action=row.action,
        weight=row.weight,
        conditions=row.conditions,
        is_global=False,
    )


def _write(row: RuleRow, rule: Rule, fields: Mapping[str, Any]) -> None:
    row.name = rule.name
    row.type = rule.type
    row.action = rule.action
    row.weight = rule.weight
    row.enabled = rule.enabled
    row.conditions = _plain_json(fields["conditions"])


def _plain_json(conditions: Mapping[str, Any]) -> dict[str, Any]:
    """The conditions as given, as a fresh plain-JSON copy (not the rule's frozen one)."""
    copy: dict[str, Any] = json.loads(json.dumps(conditions))
    return copy


def _name(value: object, limit: int, problems: list[FieldProblem], field: str = "name") -> object:
    """Text stripped; a problem when too long or holding control characters (Postgres refuses NUL)."""
    if not isinstance(value, str):
        return value
    value = value.strip()
    if len(value) > limit:
        problems.append(
            FieldProblem((field,), f"{field} must be at most {limit} characters, got {len(value)}")
        )
    if any(unicodedata.category(ch) == "Cc" and ch not in "\n\t" for ch in value):
        problems.append(FieldProblem((field,), f"{field} must not contain control characters"))
    return value


def _storage_problems(conditions: object) -> list[FieldProblem]:
    """What keeps JSON conditions from being stored: size, NUL characters, numbers beyond 64 bits."""
    if not isinstance(conditions, Mapping):
        return []  # the rule's own checks say what conditions must be
    try:
        size = len(json.dumps(conditions, ensure_ascii=False, separators=(",", ":")))
    except (TypeError, ValueError, RecursionError):
        return []  # not JSON: the rule's checks name what is wrong
    if size > MAX_CONDITIONS_CHARS:
        return [
            FieldProblem(
                ("conditions",),
                f"conditions must be at most {MAX_CONDITIONS_CHARS} characters as JSON, got {size}; "
                "split them into several rules",
            )
        ]
    problems = []
    for loc, value in _walk(conditions, ("conditions",)):
        if isinstance(value, str) and "\x00" in value:
            problems.append(FieldProblem(loc, f"{loc_text(loc)}: must not contain NUL characters"))
        elif isinstance(value, int) and not isinstance(value, bool) and not -_INT64 <= value < _INT64:
            problems.append(FieldProblem(loc, f"{loc_text(loc)}: the number is too large to store"))
    return problems


def _walk(value: object, loc: tuple[str | int, ...]) -> Iterator[tuple[tuple[str | int, ...], object]]:
    if isinstance(value, Mapping):
        for key, item in value.items():
            yield (*loc, str(key)), key
            yield from _walk(item, (*loc, str(key)))
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from _walk(item, (*loc, index))
    else:
        yield loc, value
