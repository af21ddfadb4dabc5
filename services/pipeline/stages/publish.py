"""The publish stage over one chunk: publishable listings go to their marketplaces, live ones stay in sync.

Runs after score for jobs that ask (`options.publish`: true, or "preview" to validate only). Like
optimize it talks to the outside world, so no transaction stays open while it does:

1. `plan_publish` (a short read): per item waiting at publish and marketplace of the job, a task:
   * skip: not publishable (its blockers are the reason), no applied price, or stock unknown
     (services.publishing.outgoing);
   * fail: the marketplace has no client here or no credentials ("not configured", with what to set);
   * unchanged: live, and the copy, price and quantity sent last are the ones it would send now;
   * update: live with the same copy, but a new price or quantity: only those are sent;
   * pause: live, but it may not go out any more (its blockers are the reason): quantity 0 is sent,
     so the offer stops selling; it is published again in full once it is publishable;
   * publish (or preview): everything else.
2. `send_tasks` (no database): per marketplace, in one thread each (their rate limits are their
   own), the client takes all of the chunk's listings at once, paced at the marketplace's rate.
   `remember` stores an id the marketplace gave (eBay's offer id, Kaufland's unit id) as soon as it
   is known, in its own transaction, so that a retry after a crash reuses it.
3. `store_publish` (a short write): claims the items still waiting (a second delivery finds them
   gone), writes each listing's publish status, issues, ids and what was sent, one sync log row per
   listing (old and new values, the marketplace's answer), and moves the items on: an item passes
   when none of its listings was rejected or failed; otherwise it fails with each marketplace's own
   reason. A skipped listing does not fail its item: the job's readiness counts say why.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Literal

import structlog
from sqlalchemy import text
from sqlalchemy.orm import Session

from models import stages
from services.pipeline.bulk import copy_rows, json_text
from services.pipeline.items import (
    ChunkWork,
    ItemError,
    StageItem,
    StageResult,
    claim_items,
    product_ids,
    read_listings,
    read_products,
)
from services.platform.db import psycopg_connection
from services.publishing.clients.base import OutgoingListing, PublishOutcome, Remember
from services.publishing.clients.registry import Availability
from services.publishing.outgoing import (
    NotSent,
    copy_key,
    live_values,
    outgoing_listing,
    paused_listing,
    sent_values,
)
from services.scoring import facts_from_normalized
from services.scoring.facts import with_listing_copy

log = structlog.get_logger(__name__)

Action = Literal["publish", "preview", "update", "unchanged", "pause", "skip", "fail"]
LIVE = ("published", "updated", "unchanged")  # a listing in these is on sale
SENT: tuple[Action, ...] = ("publish", "preview", "update", "pause")  # the actions that ask a marketplace
_LISTING_COLUMNS = (
    "title, description_html, ai_status, ai_grounding, price, currency, publishable, blockers, sku,"
    " marketplace_ids, publish_status, published_price, published_quantity, published_copy_key"
)
_SYNC_TABLE = "stage_sync_logs"
_SYNC_COLUMNS = (
    ("product_id", "bigint"), ("marketplace", "text"), ("action", "text"), ("status", "text"),
    ("request_data", "jsonb"), ("response_data", "jsonb"), ("error_message", "text"), ("job_id", "uuid"),
    ("old_values", "jsonb"), ("new_values", "jsonb"),
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class PublishTask:
    position: int
    product_id: int
    marketplace: str
    action: Action
    listing: OutgoingListing | None = None
    reasons: tuple[str, ...] = ()
    old: dict[str, Any] | None = None  # what was last sent, for the sync log


@dataclass
class PublishPlan:
    items: list[StageItem]
    tasks: list[PublishTask] = field(default_factory=list)
    preview: bool = False


def plan_publish(
    session: Session,
    job_id: uuid.UUID,
    number: int,
    *,
    marketplaces: Sequence[str],
    preview: bool,
    availability: Availability,
    default_quantity: int | None,
) -> PublishPlan:
    """What to do with each listing of the chunk's items waiting at publish (read only)."""
    items = claim_items(session, job_id, number, stages.PUBLISH, lock=False)
    plan = PublishPlan(items, preview=preview)
    ids = product_ids(items)
    if not ids:
        return plan
    products = read_products(session, "source_platform, source_id, stock, normalized", ids)
    listings = read_listings(session, _LISTING_COLUMNS, ids, marketplaces)
    for item in items:
        product = products.get(item.product_id) if item.product_id is not None else None
        if product is None or product.normalized is None:
            continue  # store_publish fails it (deleted meanwhile)
        for marketplace in marketplaces:
            plan.tasks.append(
                _task(
                    item,
                    product,
                    listings.get((product.id, marketplace)),
                    marketplace,
                    plan.preview,
                    availability,
                    default_quantity,
                )
            )
    return plan


def _task(
    item: StageItem,
    product: Any,
    listing: Any,
    marketplace: str,
    preview: bool,
    availability: Availability,
    default_quantity: int | None,
) -> PublishTask:
    base = {"position": item.position, "product_id": product.id, "marketplace": marketplace}
    if listing is None:
        return PublishTask(**base, action="skip", reasons=("the listing was not scored",))
    facts = with_listing_copy(
        facts_from_normalized(product.normalized, marketplace, attribute_count=0), listing
    )
    outgoing = outgoing_listing(product, listing, facts, default_quantity=default_quantity)
    old = live_values(listing)
    if isinstance(outgoing, NotSent):
        paused = paused_listing(product, listing, facts) if listing.publish_status in LIVE else None
        if paused is None or preview:
            return PublishTask(**base, action="skip", reasons=outgoing.reasons)
        # Live, and may not go out any more (a price now below the floor, a block rule...): the offer
        # is paused at quantity 0 rather than left selling what the listing no longer stands behind.
        if (reason := availability.reason(marketplace)) is not None:
            reasons = (*outgoing.reasons, f"the live offer could not be paused: {reason}")
            return PublishTask(**base, action="fail", listing=paused, reasons=reasons, old=old)
        return PublishTask(**base, action="pause", listing=paused, reasons=outgoing.reasons, old=old)
    if (reason := availability.reason(marketplace)) is not None:
        return PublishTask(**base, action="fail", listing=outgoing, reasons=(reason,))
    if preview:
        return PublishTask(**base, action="preview", listing=outgoing, old=old)
    if listing.publish_status in LIVE and old is not None and old["copy_key"] == copy_key(outgoing):
        new = sent_values(outgoing)
        same = (old["price"], old["quantity"]) == (new["price"], new["quantity"])
        return PublishTask(**base, action="unchanged" if same else "update", listing=outgoing, old=old)
    return PublishTask(**base, action="publish", listing=outgoing, old=old)


def send_tasks(
    plan: PublishPlan, availability: Availability, remember: Remember | None = None
) -> dict[tuple[int, str], PublishOutcome]:
    """The marketplaces' answers for the plan's publish, preview and update tasks, by (product id,
    marketplace); one thread per marketplace."""
    by_marketplace: dict[str, dict[Action, list[OutgoingListing]]] = defaultdict(lambda: defaultdict(list))
    for task in plan.tasks:
        if task.action in SENT and task.listing is not None:
            by_marketplace[task.marketplace][task.action].append(task.listing)
    if not by_marketplace:
        return {}

    def send(marketplace: str) -> list[PublishOutcome]:
        client = availability.clients[marketplace]
        work = by_marketplace[marketplace]
        outcomes: list[PublishOutcome] = []
        if work["publish"]:
            outcomes += client.publish(work["publish"], remember=remember)
        if work["preview"]:
            outcomes += client.publish(work["preview"], preview=True)
        if work["update"]:
            outcomes += client.update_offers(work["update"])
        if work["pause"]:
            outcomes += client.update_offers(work["pause"])
        return outcomes

    answers: dict[tuple[int, str], PublishOutcome] = {}
    with ThreadPoolExecutor(max_workers=len(by_marketplace), thread_name_prefix="publish") as pool:
        for marketplace, outcomes in zip(by_marketplace, pool.map(send, by_marketplace), strict=True):
            sent = [listing for action in SENT for listing in by_marketplace[marketplace][action]]
            for listing, outcome in zip(sent, outcomes, strict=True):
                answers[(listing.product_id, marketplace)] = outcome
    return answers


def remember_ids(
    session: Session, product_id: int, marketplace: str, sku: str, ids: Mapping[str, str]
) -> None:
    """Keep ids a marketplace just gave (before the next request that depends on them)."""
    session.execute(
        text(
            "UPDATE product_listings SET sku = :sku,"
            " marketplace_ids = coalesce(marketplace_ids, '{}'::jsonb) || CAST(:ids AS jsonb),"
            " updated_at = now()"
            " WHERE product_id = :product_id AND marketplace = :marketplace"
        ),
        {"sku": sku, "ids": json_text(dict(ids)), "product_id": product_id, "marketplace": marketplace},
    )


def store_publish(
    session: Session,
    job_id: uuid.UUID,
    number: int,
    plan: PublishPlan,
    answers: Mapping[tuple[int, str], PublishOutcome],
) -> StageResult:
    """Write what happened to each listing of the plan and move its items on (see the module)."""
    items = claim_items(session, job_id, number, stages.PUBLISH, only=[item.position for item in plan.items])
    work = ChunkWork(stages.PUBLISH, items, publish=True)
    tasks_of: dict[int, list[PublishTask]] = defaultdict(list)
    for task in plan.tasks:
        tasks_of[task.position].append(task)
    listing_rows: list[dict[str, Any]] = []
    sync_rows: list[tuple[Any, ...]] = []
    for item in items:
        tasks = tasks_of.get(item.position)
        if item.product_id is None or not tasks:
            work.fails(item, [ItemError("product", "the product was deleted before its publish stage")])
            continue
        errors: list[ItemError] = []
        for task in tasks:
            status, issues, outcome = _result(task, answers.get((task.product_id, task.marketplace)))
            listing_rows.append(_listing_update(task, status, issues, outcome, plan.preview))
            sync_rows.append(_sync_row(job_id, task, status, issues, outcome))
            if status in ("rejected", "failed"):
                errors.append(ItemError(f"publish.{task.marketplace}", "; ".join(issues) or status))
        if errors:
            work.fails(item, errors)
        else:
            work.passes(item)
    _write(session, listing_rows, sync_rows)
    return work.finish(session, job_id)


def _result(
    task: PublishTask, outcome: PublishOutcome | None
) -> tuple[str, tuple[str, ...], PublishOutcome | None]:
    """The listing's publish status and issues after the task."""
    if task.action == "skip":
        return "skipped", task.reasons, None
    if task.action == "fail":
        return "failed", task.reasons, None
    if task.action == "unchanged":
        return "unchanged", (), None
    if outcome is None:  # a client answered fewer outcomes than listings: a bug, said as such
        return "failed", ("no answer recorded for this listing",), None
    issues = outcome.issues
    if task.action == "pause" and outcome.outcome == "updated":
        return "paused", (*task.reasons, "the live offer is paused: quantity 0"), outcome
    if outcome.outcome == "failed" and outcome.retryable:
        issues = (*issues, "the marketplace kept failing: publish again later")
    return outcome.outcome, issues, outcome


def _listing_update(
    task: PublishTask, status: str, issues: tuple[str, ...], outcome: PublishOutcome | None, preview: bool
) -> dict[str, Any]:
    sent = task.listing is not None and status in ("published", "updated", "paused")
    new = sent_values(task.listing) if sent and task.listing is not None else None
    return {
        "product_id": task.product_id,
        "marketplace": task.marketplace,
        "sku": task.listing.sku if task.listing is not None else None,
        "ids": json_text(dict(outcome.ids)) if outcome is not None and not preview else "{}",
        "status": status,
        "issues": json_text(list(issues)),
        "sent": sent,
        "price": new["price"] if new else None,
        "quantity": new["quantity"] if new else None,
        "copy_key": new["copy_key"] if new else None,
    }


def _sync_row(
    job_id: uuid.UUID, task: PublishTask, status: str, issues: tuple[str, ...], outcome: PublishOutcome | None
) -> tuple[Any, ...]:
    new = sent_values(task.listing) if task.listing is not None and task.action != "skip" else None
    return (
        task.product_id, task.marketplace, task.action, status,
        json_text(dict(outcome.request)) if outcome is not None else None,
        json_text({**outcome.response, "ids": dict(outcome.ids)}) if outcome is not None else None,
        "; ".join(issues) or None, job_id,
        json_text(task.old) if task.old is not None else None,
        json_text(new) if new is not None else None,
    )  # fmt: skip


def _write(session: Session, listing_rows: list[dict[str, Any]], sync_rows: list[tuple[Any, ...]]) -> None:
    if not listing_rows:
        return
    with psycopg_connection(session).cursor() as cursor:
        cursor.executemany(
            "UPDATE product_listings SET sku = coalesce(%(sku)s, sku),"
            " marketplace_ids = coalesce(marketplace_ids, '{}'::jsonb) || %(ids)s::jsonb,"
            " publish_status = %(status)s, publish_issues = %(issues)s::jsonb,"
            " published_price = CASE WHEN %(sent)s THEN %(price)s::numeric ELSE published_price END,"
            " published_quantity = CASE WHEN %(sent)s THEN %(quantity)s::int ELSE published_quantity END,"
            " published_copy_key = CASE WHEN %(sent)s THEN %(copy_key)s ELSE published_copy_key END,"
            " published_at = CASE WHEN %(sent)s THEN now() ELSE published_at END, updated_at = now()"
            " WHERE product_id = %(product_id)s AND marketplace = %(marketplace)s",
            listing_rows,
        )
        copy_rows(cursor, _SYNC_TABLE, _SYNC_COLUMNS, sync_rows)
        names = ", ".join(name for name, _ in _SYNC_COLUMNS)
        cursor.execute(f"INSERT INTO sync_logs ({names}) SELECT {names} FROM {_SYNC_TABLE}")  # noqa: S608


def remember_with(session_factory: Callable[[], Any]) -> Remember:
    """A `remember` callback that stores each id in its own short transaction (`session_factory()` is
    a context manager giving a session that commits on exit, as workers.db.session_scope)."""

    def remember(listing: OutgoingListing, ids: Mapping[str, str]) -> None:
        with session_factory() as session:
            remember_ids(session, listing.product_id, listing.marketplace, listing.sku, ids)

    return remember
