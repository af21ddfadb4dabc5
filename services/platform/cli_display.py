"""What the command line's client commands show (services.platform.cli_client): rich progress bars
and tables drawn from the API's JSON answers, as plain dicts (no domain code: the platform layer
reads the API's answers, never its models).

Rules:

* Every text that comes from the API (titles, reasons, errors) is shown as text, never read as rich
  markup: a scraped title "[bold]…" stays what it is.
* A job's progress has one bar per stage the job reports (`stages`, in the API's order: import,
  normalize, optimize, price, score, publish when the job publishes), each `done + failed` of
  `total_products`, with the stage's failures beside it.
* Once the job has ended, its summary has one row per marketplace: `readiness` (publishable / not
  publishable, the top blockers with how many listings each stops) and, for a job that publishes,
  `publishing` (published, rejected and failed, and any other outcome that happened); then the first
  errors.
* A job's exit code: 0 completed (or still running when not followed), 1 completed_with_errors or
  failed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Final

from rich.console import Console, Group, RenderableType
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn
from rich.table import Table
from rich.text import Text

COMPLETED: Final = "completed"
COMPLETED_WITH_ERRORS: Final = "completed_with_errors"
FAILED: Final = "failed"
FINISHED: Final = frozenset({COMPLETED, COMPLETED_WITH_ERRORS, FAILED})
STATUS_STYLES: Final = {
    COMPLETED: "green",
    COMPLETED_WITH_ERRORS: "yellow",
    FAILED: "red",
    "running": "cyan",
    "pending": "dim",
}
# The publish outcomes always shown for a job that publishes, then the others when they happened.
PUBLISHING_SHOWN: Final = ("published", "rejected", "failed")
PUBLISHING_OTHERS: Final = ("valid", "updated", "unchanged", "paused", "skipped")
TOP_BLOCKERS: Final = 3
ERRORS_SHOWN: Final = 5


def finished(status: Mapping[str, Any]) -> bool:
    return status.get("status") in FINISHED


def exit_code(status: Mapping[str, Any]) -> int:
    """0 for a completed job (or one still running), 1 for completed_with_errors or failed."""
    return 1 if status.get("status") in (COMPLETED_WITH_ERRORS, FAILED) else 0


def when(value: str | None) -> str:
    """An API timestamp as `2026-11-22 14:03Z` (UTC); `-` for none."""
    if not value:
        return "-"
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%MZ")


def _int(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _status_text(status: str | None) -> Text:
    return Text(status or "?", style=STATUS_STYLES.get(status or "", ""))


# --- a job's progress ---------------------------------------------------------------------------


def stage_counts(status: Mapping[str, Any]) -> list[tuple[str, int, int]]:
    """(stage, done, failed) for every stage the job reports, in the API's order."""
    stages = status.get("stages") or {}
    return [
        (str(stage), _int(counts.get("done")), _int(counts.get("failed")))
        for stage, counts in stages.items()
        if isinstance(counts, Mapping)
    ]


def job_heading(status: Mapping[str, Any]) -> Text:
    """`job 1b2c… (allegro, 40 products): running, 12 processed, 1 failed`."""
    text = Text(f"job {status.get('id')} ({status.get('source')}, {_int(status.get('total_products'))} ")
    text.append("product)" if _int(status.get("total_products")) == 1 else "products)")
    text.append(": ")
    text.append_text(_status_text(status.get("status")))
    text.append(
        f", {_int(status.get('processed_products'))} processed, {_int(status.get('failed_products'))} failed"
    )
    return text


class JobProgress:
    """One bar per stage, updated from each polled job status (a rich Progress: live on a terminal,
    its last state printed once elsewhere)."""

    def __init__(self, console: Console) -> None:
        self.progress = Progress(
            TextColumn("{task.description:<10}"),
            BarColumn(bar_width=36),
            MofNCompleteColumn(),
            TextColumn("{task.fields[failed]}", style="red"),
            console=console,
            auto_refresh=console.is_terminal,
        )
        self._tasks: dict[str, TaskID] = {}

    def __enter__(self) -> JobProgress:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def update(self, status: Mapping[str, Any]) -> None:
        total = _int(status.get("total_products"))
        for stage, done, failed in stage_counts(status):
            task = self._tasks.get(stage)
            if task is None:
                task = self._tasks[stage] = self.progress.add_task(stage, total=total, failed="")
            self.progress.update(
                task,
                total=total,
                completed=min(done + failed, total),
                failed=f"{failed} failed" if failed else "",
            )
        self.progress.refresh()


# --- a job's summary ----------------------------------------------------------------------------


def top_blockers(blockers: Mapping[str, Any], top: int = TOP_BLOCKERS) -> str:
    """`price 3, language 2`: the blockers stopping the most listings first."""
    counted = sorted(
        ((str(code), _int(n)) for code, n in blockers.items()), key=lambda item: (-item[1], item[0])
    )
    return ", ".join(f"{code} {n}" for code, n in counted[:top] if n)


def summary_table(status: Mapping[str, Any]) -> Table | None:
    """Per marketplace: readiness and, for a job that publishes, what publishing did. None before
    the job has ended (the API counts readiness once it has)."""
    readiness: Mapping[str, Any] = status.get("readiness") or {}
    publishing: Mapping[str, Any] = status.get("publishing") or {}
    marketplaces = list(dict.fromkeys([*readiness, *publishing]))
    if not marketplaces:
        return None
    published_columns: list[str] = []
    if publishing:
        published_columns = [*PUBLISHING_SHOWN] + [
            outcome
            for outcome in PUBLISHING_OTHERS
            if any(_int((counts or {}).get(outcome)) for counts in publishing.values())
        ]
    table = Table(title="Listings per marketplace", title_justify="left")
    table.add_column("marketplace")
    table.add_column("publishable", justify="right", style="green")
    table.add_column("not publishable", justify="right")
    for column in published_columns:
        table.add_column(column, justify="right", style="red" if column in ("rejected", "failed") else None)
    table.add_column("top blockers")
    for marketplace in marketplaces:
        ready = readiness.get(marketplace) or {}
        published = publishing.get(marketplace) or {}
        table.add_row(
            Text(marketplace),
            str(_int(ready.get("publishable"))),
            str(_int(ready.get("not_publishable"))),
            *(str(_int(published.get(column))) for column in published_columns),
            Text(top_blockers(ready.get("blockers") or {}) or "-"),
        )
    return table


def error_lines(status: Mapping[str, Any], shown: int = ERRORS_SHOWN) -> list[Text]:
    """The job's first errors, one line each, and how many more there are."""
    errors: Sequence[Mapping[str, Any]] = status.get("errors") or []
    lines = [_error_line(error) for error in errors[:shown]]
    if len(errors) > shown or _int(status.get("failed_products")) > len(errors):
        every = f"GET /api/import/job/{status.get('id')}?errors_limit=1000"
        lines.append(Text(f"  … every error: {every}", style="dim"))
    return lines


def _error_line(error: Mapping[str, Any]) -> Text:
    """`  13000000001 [import] price: …` (the item's position when it has no source id)."""
    product = error.get("source_id") or f"#{error.get('position')}"
    return Text(f"  {product} [{error.get('stage')}] {error.get('field')}: {error.get('error')}")


def job_summary(status: Mapping[str, Any]) -> RenderableType:
    """The ended (or current) job: its heading, the marketplaces' table, the job's error, its first
    errors."""
    parts: list[RenderableType] = [job_heading(status)]
    if status.get("error"):
        parts.append(Text(f"error: {status['error']}", style="red"))
    table = summary_table(status)
    if table is not None:
        parts.append(table)
    lines = error_lines(status)
    if lines:
        parts.append(Text("First errors:", style="bold"))
        parts.extend(lines)
    return Group(*parts)


# --- tables of lists ----------------------------------------------------------------------------


def jobs_table(items: Iterable[Mapping[str, Any]]) -> Table:
    table = Table(title="Import jobs", title_justify="left")
    table.add_column("id", no_wrap=True)
    for name in ("status", "source", "products", "processed", "failed", "created", "completed"):
        numeric = name in ("products", "processed", "failed")
        table.add_column(name, justify="right" if numeric else "left")
    for job in items:
        failed = _int(job.get("failed_products"))
        table.add_row(
            Text(str(job.get("id"))),
            _status_text(job.get("status")),
            Text(str(job.get("source") or "-")),
            str(_int(job.get("total_products"))),
            str(_int(job.get("processed_products"))),
            Text(str(failed), style="red" if failed else ""),
            when(job.get("created_at")),
            when(job.get("completed_at")),
        )
    return table


def _money(price: object, currency: object) -> str:
    return "-" if price is None else f"{price} {currency or ''}".strip()


def _listing_cell(listing: Mapping[str, Any]) -> Text:
    """`amazon_de B 289.99 EUR ✓` or `… ✗ price, language`."""
    text = Text(f"{listing.get('marketplace')} {listing.get('grade') or '-'} ")
    text.append(_money(listing.get("price"), listing.get("currency")))
    publishable = listing.get("publishable")
    if publishable is True:
        text.append(" ✓", style="green")
    elif publishable is False:
        codes = ", ".join(str(b.get("code")) for b in listing.get("blockers") or [] if isinstance(b, Mapping))
        text.append(f" ✗ {codes}".rstrip(), style="red")
    return text


def products_table(items: Iterable[Mapping[str, Any]], marketplace: str | None = None) -> Table:
    """Products with their listings; on one marketplace, that listing's price, grade, readiness."""
    table = Table(title=f"Products on {marketplace}" if marketplace else "Products", title_justify="left")
    table.add_column("id", justify="right")
    table.add_column("source id")
    table.add_column("title", max_width=48, overflow="ellipsis", no_wrap=True)
    table.add_column("brand")
    table.add_column("status")
    if marketplace:
        for name in ("price", "grade", "score", "publishable", "blockers"):
            table.add_column(name, justify="right" if name in ("price", "score") else "left")
    else:
        table.add_column("score", justify="right")
        table.add_column("listings")
    for product in items:
        listings = [item for item in product.get("listings") or [] if isinstance(item, Mapping)]
        title = product.get("normalized_title") or product.get("title") or ""
        cells: list[RenderableType] = [
            str(product.get("id")),
            Text(str(product.get("source_id") or "")),
            Text(str(title)),
            Text(str(product.get("normalized_brand") or product.get("brand") or "-")),
            Text(str(product.get("status") or "-")),
        ]
        if marketplace:
            listing = next((item for item in listings if item.get("marketplace") == marketplace), {})
            publishable = listing.get("publishable")
            blockers = listing.get("blockers") or []
            cells += [
                Text(_money(listing.get("price"), listing.get("currency"))),
                Text(str(listing.get("grade") or "-")),
                "-" if listing.get("quality_score") is None else str(listing.get("quality_score")),
                Text("yes", style="green") if publishable else Text("no" if publishable is False else "-"),
                Text(_blocker_messages(blockers) or "-"),
            ]
        else:
            score = product.get("optimization_score")
            cells += [
                "-" if score is None else f"{score:.0f}" if isinstance(score, int | float) else str(score),
                Text("\n").join(_listing_cell(listing) for listing in listings) if listings else "-",
            ]
        table.add_row(*cells)
    return table


def _blocker_messages(blockers: Iterable[Any]) -> str:
    return "; ".join(str(b.get("message") or b.get("code")) for b in blockers if isinstance(b, Mapping))


def _change(change: Mapping[str, Any] | None) -> Text:
    if not change:
        return Text("-")
    amount = str(change.get("amount"))
    percent = change.get("percent")
    sign = "" if amount.startswith("-") else "+"
    text = f"{sign}{amount}" + ("" if percent is None else f" ({sign}{percent}%)")
    style = "red" if amount.startswith("-") else ("green" if amount.strip("0.") else "")
    return Text(text, style=style)


def price_history_table(product_id: object, items: Iterable[Mapping[str, Any]]) -> Table:
    table = Table(title=f"Price history of product {product_id}", title_justify="left")
    table.add_column("when")
    table.add_column("marketplace")
    table.add_column("price", justify="right")
    table.add_column("status")
    table.add_column("applied")
    table.add_column("change", justify="right")
    table.add_column("strategy")
    table.add_column("why", overflow="fold")
    for entry in items:
        table.add_row(
            when(entry.get("created_at")),
            Text(str(entry.get("marketplace"))),
            Text(_money(entry.get("price"), entry.get("currency"))),
            Text(str(entry.get("status") or "-")),
            "yes" if entry.get("applied") else "no",
            _change(entry.get("change")),
            Text(str(entry.get("strategy_used") or "-")),
            Text(str(entry.get("why") or "-")),
        )
    return table
