"""What a deployment can publish, marketplace by marketplace, and how its last exchanges went."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from schemas.export import MarketplaceStatus, SyncLogEntry
from services.marketplaces import MARKETPLACES
from services.publishing.clients.base import CredentialsRefused
from services.publishing.clients.registry import Availability

_LAST = text(
    "SELECT marketplace,"
    " max(created_at) FILTER (WHERE status IN ('published', 'updated', 'valid')) AS last_success_at,"
    " max(created_at) FILTER (WHERE status IN ('rejected', 'failed')) AS last_error_at"
    " FROM sync_logs GROUP BY marketplace"
)
_LAST_ERROR = text(
    "SELECT error_message FROM sync_logs WHERE marketplace = :marketplace"
    " AND status IN ('rejected', 'failed') ORDER BY created_at DESC, id DESC LIMIT 1"
)
_SYNC_LOGS = text(
    "SELECT id, marketplace, action, status, job_id::text AS job_id, error_message, old_values, new_values,"
    " request_data, response_data, created_at FROM sync_logs WHERE product_id = :product_id"
    " ORDER BY created_at DESC, id DESC LIMIT :limit"
)


def marketplace_statuses(
    session: Session, availability: Availability, *, check: bool
) -> list[MarketplaceStatus]:
    """Every marketplace we know, with its configuration and last success and error; with `check`,
    each configured account's credentials are tried (one token request or signed call each)."""
    last = {row.marketplace: row for row in session.execute(_LAST)}
    checked: dict[int, tuple[bool, str | None]] = {}
    statuses = []
    for marketplace, rules in MARKETPLACES.items():
        client = availability.clients.get(marketplace)
        reason = availability.reason(marketplace)
        status: Any = (
            "configured"
            if client
            else "not_configured"
            if marketplace in availability.unavailable
            else "feed_only"
        )
        view = MarketplaceStatus(
            id=marketplace, name=rules.name, status=status, configured=client is not None, reason=reason
        )
        if client is not None and check:
            if id(client) not in checked:  # one account serves several marketplaces: checked once
                checked[id(client)] = _check(client)
            view.credentials_valid, view.credentials_error = checked[id(client)]
        if (row := last.get(marketplace)) is not None:
            view.last_success_at, view.last_error_at = row.last_success_at, row.last_error_at
            if row.last_error_at is not None:
                view.last_error = session.execute(
                    _LAST_ERROR, {"marketplace": marketplace}
                ).scalar_one_or_none()
        statuses.append(view)
    return statuses


def _check(client: Any) -> tuple[bool, str | None]:
    try:
        client.check_credentials()
    except CredentialsRefused as refused:
        return False, str(refused)
    except Exception as error:  # unreachable, timeouts: not a verdict on the credentials
        return False, f"could not check: {type(error).__name__}: {error}"
    return True, None


def sync_logs(session: Session, product_id: int, *, limit: int = 100) -> list[SyncLogEntry]:
    """The product's exchanges with marketplaces, newest first."""
    rows = session.execute(_SYNC_LOGS, {"product_id": product_id, "limit": limit}).mappings()
    return [SyncLogEntry.model_validate(dict(row)) for row in rows]
