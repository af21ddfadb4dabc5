"""A marketplace's feed: every listing that could be published there, as its bulk upload takes it.

The rows are what the publish stage would send (services.publishing.outgoing): only publishable
listings with an applied price and a known quantity, the same SKU, copy and gross price. A seller
without API access uploads the file; n8n fetches it. The listings are read in batches from a
server-side cursor and written out as they come, so a feed of any size streams in constant memory
(XLSX: XlsxWriter's constant-memory mode writes the rows to a temporary file, which then streams).

Scraped text is untrusted: a cell that starts with `=`, `@`, a tab or a carriage return, or with `+`
or `-` without being a plain number ("-2+3+cmd|..."), would run as a formula when a spreadsheet
opens the CSV, so it gets a leading apostrophe (OWASP's advice for CSV injection); the XLSX writes
every cell as text.
"""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Iterator
from typing import Any, Literal

import orjson
import xlsxwriter
from sqlalchemy import text
from sqlalchemy.orm import Session

from services.publishing.clients.base import OutgoingListing
from services.publishing.outgoing import NotSent, outgoing_listing
from services.scoring import facts_from_normalized
from services.scoring.facts import with_listing_copy

Format = Literal["csv", "json", "xlsx"]
COLUMNS = (
    "sku", "ean", "title", "description", "price", "currency", "quantity", "brand", "images", "condition",
    "handling_time_days", "category", "language",
)  # fmt: skip
BATCH = 500
_ROWS = text(
    "SELECT p.id, p.source_platform, p.source_id, p.stock, p.normalized, l.title, l.description_html,"
    " l.ai_status, l.ai_grounding, l.price, l.currency, l.publishable, l.blockers, l.marketplace_ids"
    " FROM product_listings l JOIN products p ON p.id = l.product_id"
    " WHERE l.marketplace = :marketplace AND l.publishable AND p.normalized IS NOT NULL"
    " ORDER BY p.id"
)


def feed_listings(
    session: Session, marketplace: str, *, default_quantity: int | None
) -> Iterator[OutgoingListing]:
    """The marketplace's sendable listings, in product order, read `BATCH` at a time."""
    rows = session.execute(_ROWS.execution_options(yield_per=BATCH), {"marketplace": marketplace})
    for row in rows:
        facts = with_listing_copy(facts_from_normalized(row.normalized, marketplace, attribute_count=0), row)
        listing = outgoing_listing(row, row, facts, default_quantity=default_quantity)
        if not isinstance(listing, NotSent):
            yield listing


def feed_row(listing: OutgoingListing) -> dict[str, Any]:
    return {
        "sku": listing.sku,
        "ean": listing.ean or "",
        "title": listing.title,
        "description": listing.description_html,
        "price": f"{listing.price:.2f}",
        "currency": listing.currency,
        "quantity": listing.quantity,
        "brand": listing.brand or "",
        "images": " | ".join(listing.images),
        "condition": listing.condition,
        "handling_time_days": listing.handling_time_days,
        "category": " > ".join(listing.category),
        "language": listing.language,
    }


def safe_cell(value: Any) -> Any:
    """A text cell a spreadsheet will not run as a formula (see the module's docstring)."""
    if not isinstance(value, str) or not value:
        return value
    if value[0] in "=@\t\r" or (value[0] in "+-" and not _is_number(value)):
        return "'" + value
    return value


def _is_number(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True


def csv_chunks(listings: Iterator[OutgoingListing]) -> Iterator[bytes]:
    """UTF-8 CSV with a BOM (spreadsheets then read umlauts and Polish letters right), a header row,
    and a chunk of bytes per `BATCH` rows."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    yield ("\ufeff" + buffer.getvalue()).encode()
    buffer.seek(0)
    buffer.truncate()
    for count, listing in enumerate(listings, start=1):
        writer.writerow({name: safe_cell(value) for name, value in feed_row(listing).items()})
        if count % BATCH == 0:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue().encode()


def json_chunks(listings: Iterator[OutgoingListing], marketplace: str) -> Iterator[bytes]:
    """`{"marketplace": ..., "columns": [...], "items": [...]}`, written as the items come."""
    head = {"marketplace": marketplace, "columns": COLUMNS}
    yield orjson.dumps(head)[:-1] + b',"items":['
    for count, listing in enumerate(listings):
        yield (b"," if count else b"") + orjson.dumps(feed_row(listing))
    yield b"]}"


def xlsx_chunks(listings: Iterator[OutgoingListing], marketplace: str) -> Iterator[bytes]:
    """One sheet named after the marketplace, a header row and a row per listing; the price and the
    quantity as numbers, everything else as text."""
    with tempfile.TemporaryFile() as out:
        workbook = xlsxwriter.Workbook(
            out, {"constant_memory": True, "strings_to_numbers": False, "strings_to_formulas": False,
                  "strings_to_urls": False},
        )  # fmt: skip
        sheet = workbook.add_worksheet(marketplace[:31])
        bold = workbook.add_format({"bold": True})
        sheet.write_row(0, 0, COLUMNS, bold)
        for number, listing in enumerate(listings, start=1):
            row = feed_row(listing)
            for column, name in enumerate(COLUMNS):
                value = row[name]
                if name == "price":
                    sheet.write_number(number, column, float(value))
                elif isinstance(value, int):
                    sheet.write_number(number, column, value)
                else:
                    sheet.write_string(number, column, str(value))
        workbook.close()
        out.seek(0)
        while chunk := out.read(64 * 1024):
            yield chunk
