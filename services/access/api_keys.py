"""API keys: created and revoked from the command line, checked on every route but the webhook's.

The rules:
- A key is `lpk_` and 43 URL-safe characters (256 random bits). It is shown once, when created; only
  its sha256 and its first 12 characters (the prefix, to recognise it in a list or a log) are stored.
- A key has a name and a scope: `read` (the GET routes) or `write` (everything; write implies read).
- A revoked key stays in the table (who had access until when) and is refused from then on.
- `last_used_at` moves at most once a minute per key, so that reading does not mean a write per request.
- The bootstrap key of the settings (`API_KEY`) has the write scope and is never stored.
- Nothing here logs or returns a key except `create_key`, to its caller, once. Nothing here commits.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

import structlog
from sqlalchemy import ColumnElement, func, or_, select, update
from sqlalchemy.orm import Session

from models import ApiKey

KEY_PREFIX = "lpk_"
DISPLAY_LENGTH = 12  # "lpk_" and 8 random characters: 48 bits, enough to tell keys apart
NAME_MAX_LENGTH = 100
LAST_USED_RESOLUTION = timedelta(minutes=1)

log = structlog.get_logger(__name__)


class Scope(StrEnum):
    READ = "read"
    WRITE = "write"

    def allows(self, required: Scope) -> bool:
        return self is Scope.WRITE or required is Scope.READ


class KeyNotFound(LookupError):
    """No key has that id or prefix."""


class AmbiguousKey(LookupError):
    """More than one key starts with that prefix."""


@dataclass(frozen=True, slots=True)
class CreatedKey:
    row: ApiKey
    key: str  # the only time the key exists outside its holder's hands


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_key(session: Session, name: str, scope: Scope) -> CreatedKey:
    name = name.strip()
    if not name or len(name) > NAME_MAX_LENGTH:
        raise ValueError(f"a key's name must be 1 to {NAME_MAX_LENGTH} characters")
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    row = ApiKey(name=name, scope=Scope(scope).value, prefix=key[:DISPLAY_LENGTH], key_hash=hash_key(key))
    session.add(row)
    session.flush()
    log.info("api_keys.created", api_key_id=str(row.id), prefix=row.prefix, name=name, scope=row.scope)
    return CreatedKey(row, key)


def find_key(session: Session, presented: str) -> ApiKey | None:
    """The stored key the client presented (revoked ones too: the caller says which it was)."""
    if not presented.startswith(KEY_PREFIX):
        return None  # not one of ours: no need to ask the database
    # populate_existing: the row as it is now (revoked?), even if the session has seen it before.
    query = select(ApiKey).where(ApiKey.key_hash == hash_key(presented))
    return session.scalar(query.execution_options(populate_existing=True))


def record_use(session: Session, key: ApiKey, now: datetime | None = None) -> bool:
    """Moves `last_used_at` to now if it is older than a minute; True when it wrote (commit it)."""
    now = now or datetime.now(UTC)
    if key.last_used_at is not None and now - key.last_used_at < LAST_USED_RESOLUTION:
        return False
    # The condition again in SQL: of concurrent requests with one key, only the first writes.
    session.execute(
        update(ApiKey)
        .where(
            ApiKey.id == key.id,
            or_(ApiKey.last_used_at.is_(None), ApiKey.last_used_at < func.now() - LAST_USED_RESOLUTION),
        )
        .values(last_used_at=func.now())
        .execution_options(synchronize_session=False)
    )
    return True


def list_keys(session: Session) -> list[ApiKey]:
    return list(session.scalars(select(ApiKey).order_by(ApiKey.created_at, ApiKey.name)))


def resolve(session: Session, reference: str) -> ApiKey:
    """A key by its id, its display prefix, or the key itself (pasted whole)."""
    reference = reference.strip()
    try:
        key_id = uuid.UUID(reference)
    except ValueError:
        key_id = None
    if key_id is not None:
        return _one(session, ApiKey.id == key_id, reference)
    if len(reference) > DISPLAY_LENGTH:
        return _one(session, ApiKey.key_hash == hash_key(reference), reference[:DISPLAY_LENGTH] + "…")
    return _one(session, ApiKey.prefix == reference, reference)


def _one(session: Session, condition: ColumnElement[bool], shown: str) -> ApiKey:
    rows = list(session.scalars(select(ApiKey).where(condition)))
    if not rows:
        raise KeyNotFound(f"no API key with the id or prefix {shown!r}")
    if len(rows) > 1:
        ids = ", ".join(str(row.id) for row in rows)
        raise AmbiguousKey(f"{len(rows)} keys start with {shown!r}; name one by its id: {ids}")
    return rows[0]


def revoke(session: Session, row: ApiKey) -> bool:
    """Revokes a key (found with `resolve`); False if it already was, and then nothing changes."""
    if row.revoked_at is not None:
        return False
    row.revoked_at = datetime.now(UTC)
    session.flush()
    log.info("api_keys.revoked", api_key_id=str(row.id), prefix=row.prefix, name=row.name)
    return True
