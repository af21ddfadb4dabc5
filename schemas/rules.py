"""Rules and rule templates as the API takes and shows them.

Whether a rule is valid is decided by services.rules.store (the pure services.rules.Rule and its
conditions language); these models only check the JSON types.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from models.rules import (
    ACTIONS,
    DESCRIPTION_MAX_LENGTH,
    KEY_MAX_LENGTH,
    MAX_CONDITIONS_CHARS,
    MAX_WEIGHT,
    NAME_MAX_LENGTH,
    RULE_TYPES,
)

_SHORT = 50  # type and action names; the rule's checks say which are valid
_TYPE = f"One of {', '.join(RULE_TYPES)}: groups rules for the seller"
_ACTION = f"One of {', '.join(ACTIONS)}"
_WEIGHT = f"0 to {MAX_WEIGHT}: orders rules of one action and adds up into a listing's preference"
_CONDITIONS = (
    'A JSON object: {"all": [...]}, {"any": [...]}, {"not": {...}} or a condition '
    '{"field": ..., "op": ..., "value": ...} (GET /api/rules/fields lists the fields); '
    f"at most {MAX_CONDITIONS_CHARS} characters as JSON"
)


class RuleCreate(BaseModel):
    """A rule, or ``template`` (a template's key) with optional overrides of its name, weight,
    conditions and enabled flag."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    template: str | None = Field(default=None, max_length=KEY_MAX_LENGTH, description="Copy this template")
    name: str | None = Field(default=None, max_length=NAME_MAX_LENGTH)
    type: str | None = Field(default=None, max_length=_SHORT, description=_TYPE)
    action: str | None = Field(default=None, max_length=_SHORT, description=_ACTION)
    weight: int | None = Field(default=None, strict=True, description=_WEIGHT)
    conditions: dict[str, Any] | None = Field(default=None, description=_CONDITIONS)
    enabled: bool | None = Field(default=None, strict=True, description="true unless given")


_NOT_NULL = ("name", "type", "action", "weight", "conditions", "enabled")


class RuleUpdate(BaseModel):
    """Only the fields sent change; ``conditions`` are replaced whole."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str | None = Field(default=None, max_length=NAME_MAX_LENGTH)
    type: str | None = Field(default=None, max_length=_SHORT, description=_TYPE)
    action: str | None = Field(default=None, max_length=_SHORT, description=_ACTION)
    weight: int | None = Field(default=None, strict=True, description=_WEIGHT)
    conditions: dict[str, Any] | None = Field(default=None, description=_CONDITIONS)
    enabled: bool | None = Field(default=None, strict=True)

    @field_validator(*_NOT_NULL, mode="before")
    @classmethod
    def _not_null(cls, value: object) -> object:
        if value is None:
            raise ValueError("must not be null")
        return value


class RuleRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    type: str
    action: str
    weight: int
    conditions: dict[str, Any]
    enabled: bool
    template_key: str | None = Field(description="The template the rule was made from, if any")
    created_at: datetime
    updated_at: datetime


class FieldRead(BaseModel):
    name: str
    kind: str
    description: str
    operators: list[str] = Field(description="The operators a condition on this field may use")


class TemplateCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    key: str = Field(
        max_length=KEY_MAX_LENGTH + 1,
        description="Lower-case letters, digits, '_' and '-'; not a global template's key",
    )
    name: str = Field(max_length=NAME_MAX_LENGTH)
    description: str = Field(default="", max_length=DESCRIPTION_MAX_LENGTH)
    type: str = Field(max_length=_SHORT, description=_TYPE)
    action: str = Field(max_length=_SHORT, description=_ACTION)
    weight: int = Field(default=0, strict=True, description=_WEIGHT)
    conditions: dict[str, Any] = Field(description=_CONDITIONS)


class TemplateRead(BaseModel):
    model_config = ConfigDict(from_attributes=True, populate_by_name=True)

    key: str
    name: str
    description: str
    type: str
    action: str
    weight: int
    conditions: dict[str, Any]
    is_global: bool = Field(
        serialization_alias="global",
        description="A global template from the code (read-only), else one the seller saved",
    )
