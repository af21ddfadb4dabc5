"""The seller's rules (block / warn / prefer, with JSON conditions) and the seller's own rule templates.

The global templates live in code (services.rules.GLOBAL_TEMPLATES), so an upgrade can improve them
without a migration; this table holds the templates a seller saves.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final, Literal, get_args

from sqlalchemy import Boolean, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, created_at_column, updated_at_column

# What a stored rule may hold: the rules engine, its store and the API's shapes all read these here.
RuleType = Literal["category", "product", "budget", "quality"]
Action = Literal["block", "warn", "prefer"]
RULE_TYPES: Final[tuple[RuleType, ...]] = get_args(RuleType)
ACTIONS: Final[tuple[Action, ...]] = get_args(Action)
MAX_WEIGHT: Final = 1000
NAME_MAX_LENGTH: Final = 200
KEY_MAX_LENGTH: Final = 100
DESCRIPTION_MAX_LENGTH: Final = 2_000  # a template's description
MAX_CONDITIONS_CHARS: Final = 20_000  # the conditions, as JSON


class RuleRow(Base):
    __tablename__ = "rules"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(NAME_MAX_LENGTH))
    type: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(16))
    weight: Mapped[int] = mapped_column(Integer, server_default="0")
    conditions: Mapped[dict[str, Any]]
    enabled: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    template_key: Mapped[str | None] = mapped_column(String(KEY_MAX_LENGTH))
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()


class RuleTemplateRow(Base):
    __tablename__ = "rule_templates"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(KEY_MAX_LENGTH), unique=True)
    name: Mapped[str] = mapped_column(String(NAME_MAX_LENGTH))
    description: Mapped[str] = mapped_column(Text, server_default="")
    type: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(16))
    weight: Mapped[int] = mapped_column(Integer, server_default="0")
    conditions: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = created_at_column()
