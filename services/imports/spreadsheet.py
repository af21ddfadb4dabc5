"""Reading a spreadsheet of products (CSV or XLSX) one row at a time, each row a product dict as the
webhook receives one (validated later, alone, by services.imports.product).

    open_spreadsheet(file, mapping=..., max_rows=...) -> Spreadsheet(info, rows)

The rules:
- The format is told by the content, never by the name alone: an XLSX workbook is a ZIP (it starts
  with `PK`) holding `xl/workbook.xml`; anything else must be text. An XLS, ODS, PDF, image, other ZIP
  or binary file is `UnsupportedFile` (a 415), saying what it looks like and what to send instead.
- CSV text is UTF-8 (with or without a BOM), read strictly first over the whole file; failing that,
  Windows-1250 (cp1250), as Polish exports come; `info.encoding` says which. The delimiter is
  sniffed (csv.Sniffer, among `,` `;` tab `|`) from the first 8 KB; when that fails or names a
  character the header line lacks, `;` if the header line has one, else `,`. Quotes are `"`.
- XLSX: the first sheet, through python-calamine. Its cells are held natively by calamine (the
  sheet is parsed whole on opening: calamine has no streaming reader), and turned into Python one
  row at a time. The ZIP's unpacked size is checked before that (`MAX_UNPACKED_BYTES`).
- The header is the first row with a value. Rows are numbered as a spreadsheet shows them (a CSV's
  records, 1 for the first, quoted line breaks inside a cell not counted); blank rows are skipped,
  their numbers kept. More than `max_rows` product rows is `TooManyRows` (a 413), raised by the
  rows' iterator (an XLSX sheet taller than that at once).
- Columns: headers match case-, accent- and spacing-insensitively ("Tytuł oferty" = "tytul  OFERTY",
  "source_id" = "Source ID"). `DEFAULT_COLUMNS` lists the headers each of our fields is read from:
  our own field names, and Allegro's sales-export headers. The seller's `mapping` (our field → the
  file's header) overrides them: `null` reads a field from no column; `"attributes.Kolor": "Kolor"`
  reads one attribute; `"attributes": ["Kolor", "Rozmiar"]` reads several, each named by its
  header. Other columns are ignored (`info.ignored_columns`). Without columns for `source_id` and
  `title` the file is `InvalidSheet` (a 422) naming what is missing and listing the headers found.
- Values: text is stripped (NUL characters dropped: Postgres text cannot hold them); an empty cell
  is left out of the product. `images` may hold several URLs separated by `|`, whitespace or commas
  (a comma only splits before another URL, so a URL's own commas stay). `attributes` and
  `competitors` columns hold JSON (the seed's own CSVs). An XLSX number becomes text with at most 15
  significant digits, as Excel shows it, never an artefact of binary floats (199.99, not
  199.98999999999998; an EAN 5901234123457, not 5901234123457.0); a price or cost stays a number,
  which the product reads exactly (text "1.299" would be read as 1299 by the scraped-price rules),
  and an integral stock a whole number. Dates become ISO text.
"""

from __future__ import annotations

import codecs
import csv
import io
import math
import re
import unicodedata
import zipfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, time, timedelta
from decimal import Decimal
from typing import IO, Any, Literal

import orjson
from python_calamine import CalamineError, CalamineWorkbook

from services.imports.product import ProductIn

SpreadsheetFormat = Literal["csv", "xlsx"]

# The fields a column may fill: ProductIn's, in its order (so the product dict reads like a webhook's).
FIELDS: tuple[str, ...] = tuple(ProductIn.model_fields)
REQUIRED_FIELDS = ("source_id", "title")
ATTRIBUTES = "attributes"
ATTRIBUTE_PREFIX = "attributes."
# Columns read as JSON (the seed's own CSVs put an object or an array there).
JSON_FIELDS = frozenset({"attributes", "competitors"})
# Kept as numbers from an XLSX cell: text would go through the scraped-price rules ("1.299" = 1299).
NUMBER_FIELDS = frozenset({"price", "cost", "stock"})

# Our field → the headers it is read from by default, the first found winning. Our own names, then
# Allegro's sales-export headers (Polish). Conservative: a column is read only for the field it names.
DEFAULT_COLUMNS: dict[str, tuple[str, ...]] = {
    "source_id": ("source_id", "ID oferty", "Numer oferty"),
    "title": ("title", "Tytuł oferty", "Nazwa", "Nazwa oferty", "Nazwa produktu", "Tytuł"),
    "source_url": ("source_url", "Link do oferty"),
    "description": ("description", "Opis", "Opis oferty"),
    "price": ("price", "Cena", "Cena brutto", "Cena Kup Teraz"),
    "currency": ("currency", "Waluta"),
    "brand": ("brand", "Marka", "Producent"),
    "category": ("category", "Kategoria"),
    "ean": ("ean", "EAN (GTIN)", "GTIN", "Kod EAN"),
    "images": ("images", "Zdjęcia", "Link do zdjęcia", "Linki do zdjęć", "Zdjęcie"),
    "attributes": ("attributes",),
    "stock": ("stock", "Liczba sztuk", "Dostępna liczba sztuk", "Stan magazynowy", "Ilość"),
    "cost": ("cost", "Koszt", "Cena zakupu"),
    "competitors": ("competitors",),
}

# What the format is told from (binary or text).
HEAD_BYTES = 64 * 1024
# What the delimiter is sniffed from: csv.Sniffer's time grows with the square of its sample
# (64 KB of quoted cells: 1.7 s; 8 KB: 0.02 s, 0.1 s at worst).
SNIFF_BYTES = 8 * 1024
SNIFF_DELIMITERS = ",;\t|"
READ_BLOCK_BYTES = 1024 * 1024
# An XLSX's parts unpacked: what calamine parses and holds (about as much memory again: a 50,000-row
# export of 3.7 MB unpacks to 54 MB and takes 45 MB). A ZIP bomb unpacks to thousands of times its size.
MAX_UNPACKED_BYTES = 256 * 1024 * 1024
MAX_MAPPING_ENTRIES = 200
MAX_HEADER_LENGTH = 255
HEADERS_SHOWN = 60

_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
_OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
# Some binary formats, by their first bytes, to say what was sent instead of a spreadsheet.
_KNOWN_BINARY = (
    (b"%PDF", "a PDF document"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"Rar!", "a RAR archive"),
    (b"7z\xbc\xaf", "a 7-Zip archive"),
)
_CONTROL_BYTES = bytes(b for b in range(32) if b not in b"\t\n\v\f\r") + b"\x7f"
# A comma splits image URLs only before another URL; `|` and whitespace always.
_IMAGE_SEPARATORS = re.compile(r"[|\s]+|,(?=\s*(?:https?:)?//)")


class SpreadsheetError(ValueError):
    """The file cannot be imported; the message says why, for the seller."""


class UnsupportedFile(SpreadsheetError):
    """Neither CSV nor XLSX (a 415)."""


class InvalidSheet(SpreadsheetError):
    """A CSV or XLSX we cannot read products from: no header, no source_id or title column, a
    mapping naming no column, a malformed CSV (a 422)."""


class InvalidMapping(InvalidSheet):
    """The `mapping` is not an object of our field names to headers."""


class TooManyRows(SpreadsheetError):
    """More product rows than allowed (a 413)."""


ColumnMapping = dict[str, str | list[str] | None]


@dataclass(frozen=True, slots=True)
class SheetRow:
    """One product row: its number as a spreadsheet shows it, and the product as the webhook takes it."""

    number: int
    product: dict[str, Any]


@dataclass(frozen=True, slots=True)
class SheetInfo:
    """What was read and how: for the answer and the job."""

    format: SpreadsheetFormat
    encoding: str | None  # "utf-8" or "cp1250" for a CSV
    delimiter: str | None  # a CSV's
    sheet: str | None  # an XLSX's first sheet
    header_row: int
    columns: dict[str, str]  # our field ("attributes.Kolor" for an attribute) → the header read
    ignored_columns: list[str]

    def describe(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "encoding": self.encoding,
            "delimiter": self.delimiter,
            "sheet": self.sheet,
            "header_row": self.header_row,
            "columns": self.columns,
            "ignored_columns": self.ignored_columns,
        }


_PENDING_INFO = SheetInfo("csv", None, None, None, 0, {}, [])  # until the header is read


class Spreadsheet:
    """An opened spreadsheet: its header read and mapped (so `open_spreadsheet` raises every 415 and
    422 about the file as a whole), its product rows to come from `rows`, one at a time. Closed when
    the rows are exhausted, or by `close()` (a context manager too); the caller's file stays open."""

    def __init__(self, info: SheetInfo, rows: Iterator[SheetRow], close: Callable[[], None]) -> None:
        self.info = info
        self.rows = rows
        self._close = close

    def close(self) -> None:
        self._close()

    def __enter__(self) -> Spreadsheet:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _closer(release: Callable[[], object]) -> Callable[[], None]:
    """`release`, called once however often the result is."""
    released = False

    def close() -> None:
        nonlocal released
        if not released:
            released = True
            release()

    return close


@dataclass(frozen=True, slots=True)
class _Column:
    index: int
    field: str  # one of FIELDS
    attribute: str | None = None  # for an attribute column: its name


@dataclass(slots=True)
class _Header:
    number: int
    cells: list[str] = field(default_factory=list)


# ---------------------------------------------------------------- the mapping


def header_key(text: str) -> str:
    """A header as matched: case-, accent- and spacing-insensitive, `_` as a space."""
    text = text.replace("\ufeff", "").replace("ł", "l").replace("Ł", "L").replace("_", " ")
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).split())


def parse_mapping(text: str | None) -> ColumnMapping:
    """The `mapping` form field: a JSON object of our field names to the file's headers."""
    if text is None or not text.strip():
        return {}
    try:
        data = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise InvalidMapping(
            f'mapping: not JSON ({exc}); send an object such as {{"price": "Cena"}}'
        ) from None
    return check_mapping(data)


def check_mapping(data: object) -> ColumnMapping:
    if not isinstance(data, dict):
        raise InvalidMapping(
            'mapping: must be a JSON object of our field names to headers, e.g. {"price": "Cena"}'
        )
    if len(data) > MAX_MAPPING_ENTRIES:
        raise InvalidMapping(f"mapping: at most {MAX_MAPPING_ENTRIES} entries")
    mapping: ColumnMapping = {}
    for name, header in data.items():
        if name.startswith(ATTRIBUTE_PREFIX):
            if not name.removeprefix(ATTRIBUTE_PREFIX).strip():
                raise InvalidMapping('mapping: "attributes." must be followed by the attribute\'s name')
        elif name not in FIELDS:
            raise InvalidMapping(
                f"mapping: {name[:60]!r} is not a product field; known: {', '.join(FIELDS)}, "
                'or "attributes.<name>" for one attribute'
            )
        if name == ATTRIBUTES and isinstance(header, list):
            if not all(_is_header(h) for h in header):
                raise InvalidMapping(
                    'mapping: "attributes" as a list must hold the headers of attribute columns'
                )
            mapping[name] = [str(h) for h in header]
        elif header is None or _is_header(header):
            mapping[name] = header
        else:
            raise InvalidMapping(f"mapping: {name!r} must name a header (text), or be null to read no column")
    return mapping


def _is_header(value: object) -> bool:
    return isinstance(value, str) and 0 < len(value.strip()) <= MAX_HEADER_LENGTH


def _resolve_columns(headers: list[str], mapping: ColumnMapping) -> tuple[list[_Column], dict[str, str]]:
    """The columns to read, and our field → the header it is read from. Raises InvalidSheet for a
    mapped header the file lacks, or no column for a required field."""
    first_index: dict[str, int] = {}
    for position, text in enumerate(headers):
        if text:
            first_index.setdefault(header_key(text), position)

    # (our field, an attribute's name ("" for the header's own) or None, the headers to try in
    # order, whether the seller named it)
    wanted: list[tuple[str, str | None, Sequence[str], bool]] = []
    for name in FIELDS:
        target = mapping.get(name, DEFAULT_COLUMNS.get(name, ()))
        if isinstance(target, str):
            wanted.append((name, None, (target,), True))
        elif name in mapping and isinstance(target, list):  # "attributes": several attribute columns
            wanted.extend((ATTRIBUTES, "", (header,), True) for header in target)
        elif name not in mapping and isinstance(target, tuple):
            wanted.append((name, None, target, False))
    for name, target in mapping.items():
        if name.startswith(ATTRIBUTE_PREFIX) and isinstance(target, str):
            wanted.append((ATTRIBUTES, name.removeprefix(ATTRIBUTE_PREFIX).strip(), (target,), True))

    columns: list[_Column] = []
    read_from: dict[str, str] = {}
    not_found: list[str] = []
    for name, attribute, candidates, named in wanted:
        found = next((first_index[k] for h in candidates if (k := header_key(h)) in first_index), None)
        if found is None:
            if named:
                not_found.append(f"{candidates[0]!r} (for {name if attribute is None else 'attributes'})")
            continue
        if attribute is not None:
            attribute = attribute or headers[found]
            read_from[f"{ATTRIBUTE_PREFIX}{attribute}"] = headers[found]
        else:
            read_from[name] = headers[found]
        columns.append(_Column(found, name, attribute))

    if not_found:
        raise InvalidSheet(
            f"mapping: no column {', '.join(not_found)} in the file; {_headers_found(headers)}"
        )
    if missing := [name for name in REQUIRED_FIELDS if name not in read_from]:
        expected = "; ".join(
            f"{name}: {' or '.join(repr(h) for h in DEFAULT_COLUMNS[name])}" for name in missing
        )
        raise InvalidSheet(
            f"no column for {' and '.join(missing)} (expected a header such as {expected}); "
            f'{_headers_found(headers)}. Name the columns with mapping, e.g. {{"{missing[0]}": "<header>"}}'
        )
    return columns, read_from


def _headers_found(headers: Sequence[str]) -> str:
    shown = [repr(h[:100]) for h in headers if h][:HEADERS_SHOWN]
    more = len([h for h in headers if h]) - len(shown)
    return f"headers found: {', '.join(shown) or 'none'}" + (f" and {more} more" if more > 0 else "")


# ---------------------------------------------------------------- values


def number_text(value: float) -> str:
    """A spreadsheet number as Excel shows it: at most 15 significant digits, no exponent, no
    trailing zeros (199.99 → "199.99", 5901234123457.0 → "5901234123457", 0.1 + 0.2 → "0.3")."""
    if not math.isfinite(value):
        return str(value)
    text = format(Decimal(format(value, ".15g")).normalize(), "f")
    return "0" if text == "-0" else text


def _cell_value(value: Any, name: str) -> Any:
    """An XLSX cell (or CSV text) as the product takes it; None for an empty cell."""
    if isinstance(value, str):
        text = value.replace("\x00", "").strip()
        return text or None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        if isinstance(value, float) and not math.isfinite(value):
            return str(value)
        text = number_text(float(value)) if isinstance(value, float) else str(value)
        if name in NUMBER_FIELDS:
            number = Decimal(text)
            return int(number) if number == number.to_integral_value() else float(text)
        return text
    if isinstance(value, date | time):  # datetime is a date
        return value.isoformat()
    if isinstance(value, timedelta):
        return str(value)
    return None if value is None else str(value)


def split_images(text: str) -> list[str]:
    """Image URLs from one cell: separated by `|`, whitespace, or a comma before another URL."""
    return [url.strip(",") for url in _IMAGE_SEPARATORS.split(text) if url.strip(",")]


def _json_cell(text: str) -> Any:
    """A JSON object or array as written in a cell; other text as it is (the product says what is wrong)."""
    if text[:1] in ("{", "["):
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            return text
    return text


def _product(cells: Sequence[Any], columns: list[_Column]) -> dict[str, Any]:
    product: dict[str, Any] = {}
    attributes: dict[str, Any] = {}
    for column in columns:
        if column.index >= len(cells):
            continue
        value = _cell_value(cells[column.index], column.field)
        if value is None:
            continue
        if column.attribute is not None:
            attributes[column.attribute] = value
        elif column.field == "images":
            product["images"] = split_images(value) if isinstance(value, str) else value
        elif column.field in JSON_FIELDS and isinstance(value, str):
            product[column.field] = _json_cell(value)
        else:
            product[column.field] = value
    if attributes:
        whole = product.get(ATTRIBUTES)  # an attributes column's JSON, if any
        if whole is None or isinstance(whole, dict):
            product[ATTRIBUTES] = {**(whole or {}), **attributes}
        # else: not an object, which the product's validation reports (not dropped here)
    return product


def _is_blank(cells: Sequence[Any]) -> bool:
    return all(cell is None or (isinstance(cell, str) and not cell.strip()) for cell in cells)


# ---------------------------------------------------------------- the file


def file_format(file: IO[bytes]) -> SpreadsheetFormat:
    """CSV or XLSX, by content; UnsupportedFile for anything else. Leaves the file at its start."""
    file.seek(0)
    head = file.read(HEAD_BYTES)
    file.seek(0)
    if not head:
        raise InvalidSheet("the file is empty: expected a CSV or XLSX with a header row")
    if head.startswith(_ZIP_MAGIC):
        return _zip_format(file)
    if head.startswith(_OLE2_MAGIC):
        raise UnsupportedFile(
            "an Excel 97-2003 workbook (XLS), or a workbook protected with a password: save it as XLSX "
            "(without a password) or CSV"
        )
    for magic, what in _KNOWN_BINARY:
        if head.startswith(magic):
            raise UnsupportedFile(f"{what}, not a CSV or XLSX file")
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise UnsupportedFile('UTF-16 text (Excel\'s "Unicode text"): save the sheet as CSV UTF-8 or XLSX')
    if _looks_binary(head):
        raise UnsupportedFile("a binary file, not a CSV or XLSX file")
    return "csv"


def _looks_binary(head: bytes) -> bool:
    """Control characters other than tab, line breaks and form feed in more than 1% of the bytes
    (a stray NUL in scraped text is dropped later, not taken for a binary file)."""
    controls = len(head) - len(head.translate(None, _CONTROL_BYTES))
    return controls > max(4, len(head) // 100)


def _zip_format(file: IO[bytes]) -> SpreadsheetFormat:
    try:
        with zipfile.ZipFile(file) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError):
        raise UnsupportedFile("a damaged ZIP archive, not a readable XLSX workbook") from None
    finally:
        file.seek(0)
    names = {member.filename for member in members}
    if "xl/workbook.xml" not in names:
        if "content.xml" in names:
            raise UnsupportedFile("an OpenDocument file (ODS): save the sheet as XLSX or CSV")
        if "word/document.xml" in names:
            raise UnsupportedFile("a Word document, not a CSV or XLSX file")
        raise UnsupportedFile("a ZIP archive, not an XLSX workbook: send the CSV or XLSX itself")
    unpacked = sum(member.file_size for member in members)
    if unpacked > MAX_UNPACKED_BYTES:
        raise TooManyRows(
            f"the workbook unpacks to {unpacked:,} bytes (at most {MAX_UNPACKED_BYTES:,}): split the file"
        )
    return "xlsx"


def text_encoding(file: IO[bytes]) -> str:
    """The file's text encoding: utf-8 if the whole file is UTF-8 (a BOM allowed), else cp1250 if it
    is Windows-1250; read block by block, in constant memory. Leaves the file at its start."""
    for encoding in ("utf-8", "cp1250"):
        decoder = codecs.getincrementaldecoder(encoding)("strict")
        file.seek(0)
        offset = 0
        try:
            while block := file.read(READ_BLOCK_BYTES):
                decoder.decode(block)
                offset += len(block)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError as exc:
            if encoding == "cp1250":
                at = offset + exc.start
                raise UnsupportedFile(
                    f"text that is neither UTF-8 nor Windows-1250 (byte 0x{exc.object[exc.start]:02X} at "
                    f"offset {at}): save the sheet as CSV UTF-8"
                ) from None
            continue
        finally:
            file.seek(0)
        return encoding
    raise AssertionError("unreachable")  # pragma: no cover


def csv_delimiter(sample: str) -> tuple[str, bool]:
    """The delimiter of a CSV sample (its first 8 KB), and whether to skip spaces after it."""
    first_line = next((line for line in sample.splitlines() if line.strip()), "")
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=SNIFF_DELIMITERS)
    except csv.Error:
        dialect = None
    if dialect is not None and dialect.delimiter in first_line:
        return dialect.delimiter, bool(dialect.skipinitialspace)
    return (";" if ";" in first_line else ","), False


def open_spreadsheet(
    file: IO[bytes], *, mapping: Mapping[str, Any] | None = None, max_rows: int
) -> Spreadsheet:
    """Open a CSV or XLSX: its format, encoding and header read, its columns mapped. The rows come
    from `Spreadsheet.rows`, one at a time, while the file stays open."""
    checked = check_mapping(dict(mapping or {}))
    if file_format(file) == "xlsx":
        return _open_xlsx(file, checked, max_rows)
    return _open_csv(file, checked, max_rows)


def _open_csv(file: IO[bytes], mapping: ColumnMapping, max_rows: int) -> Spreadsheet:
    encoding = text_encoding(file)
    head = file.read(SNIFF_BYTES)
    file.seek(0)
    sample = head.decode(encoding, errors="ignore").removeprefix("\ufeff")
    if len(head) == SNIFF_BYTES and "\n" in sample:
        sample = sample[: sample.rindex("\n")]  # whole lines only
    delimiter, skip_spaces = csv_delimiter(sample)
    # utf-8-sig reads a BOM as nothing, and UTF-8 without one as UTF-8.
    text = io.TextIOWrapper(
        file,
        encoding="utf-8-sig" if encoding == "utf-8" else encoding,
        newline="",
    )
    reader = csv.reader(text, delimiter=delimiter, quotechar='"', skipinitialspace=skip_spaces)
    sheet = Spreadsheet(_PENDING_INFO, iter(()), _closer(text.detach))
    records = _csv_records(reader)
    try:
        header = _first_row(records)
        columns, read_from = _resolve_columns(header.cells, mapping)
    except BaseException:
        sheet.close()
        raise
    sheet.info = SheetInfo(
        format="csv",
        encoding=encoding,
        delimiter=delimiter,
        sheet=None,
        header_row=header.number,
        columns=read_from,
        ignored_columns=_ignored(header.cells, columns),
    )
    sheet.rows = _rows(sheet, records, columns, max_rows)
    return sheet


def _csv_records(reader: Iterator[list[str]]) -> Iterator[tuple[int, list[str]]]:
    """The CSV's records with their numbers; a malformed one is InvalidSheet, naming its row."""
    number = 0
    while True:
        number += 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise InvalidSheet(f"row {number}: not readable as CSV ({exc})") from None
        yield number, cells


def _first_row(records: Iterator[tuple[int, Sequence[Any]]]) -> _Header:
    for number, cells in records:
        if not _is_blank(cells):
            return _Header(number, [_header_text(cell) for cell in cells])
    raise InvalidSheet(
        "no header row: the file holds no values (expected a header row, then a row per product)"
    )


def _header_text(cell: Any) -> str:
    if isinstance(cell, float):
        return number_text(cell)
    return str(cell).replace("\x00", "").replace("\ufeff", "").strip()[:MAX_HEADER_LENGTH]


def _ignored(headers: list[str], columns: list[_Column]) -> list[str]:
    read = {column.index for column in columns}
    return [header for index, header in enumerate(headers) if header and index not in read]


def _rows(
    sheet: Spreadsheet, records: Iterator[tuple[int, Sequence[Any]]], columns: list[_Column], max_rows: int
) -> Iterator[SheetRow]:
    count = 0
    try:
        for number, cells in records:
            if _is_blank(cells):
                continue
            count += 1
            if count > max_rows:
                raise TooManyRows(f"more than {max_rows:,} product rows: split the file")
            yield SheetRow(number, _product(cells, columns))
    finally:
        sheet.close()
    if not count:
        raise InvalidSheet("no product rows: the file has a header row and nothing under it")


def _open_xlsx(file: IO[bytes], mapping: ColumnMapping, max_rows: int) -> Spreadsheet:
    file.seek(0)
    try:
        workbook = CalamineWorkbook.from_filelike(file)
    except CalamineError as exc:
        raise InvalidSheet(f"not a readable XLSX workbook: {exc}") from None
    sheet = Spreadsheet(_PENDING_INFO, iter(()), _closer(workbook.close))  # the cells calamine holds
    try:
        first = workbook.get_sheet_by_index(0)
        # The header, then the products (blank rows between them count too: a loose bound, said at once).
        if first.height - 1 > max_rows:
            raise TooManyRows(
                f"the first sheet ({first.name!r}) has {first.height:,} rows; at most {max_rows:,} product "
                "rows: split the file"
            )
        # calamine yields rows from the sheet's first row: the index + 1 is the row's number.
        records = enumerate(first.iter_rows(), start=1)
        header = _first_row(records)
        columns, read_from = _resolve_columns(header.cells, mapping)
    except CalamineError as exc:
        sheet.close()
        raise InvalidSheet(f"not a readable XLSX workbook: {exc}") from None
    except BaseException:
        sheet.close()
        raise
    sheet.info = SheetInfo(
        format="xlsx",
        encoding=None,
        delimiter=None,
        sheet=first.name,
        header_row=header.number,
        columns=read_from,
        ignored_columns=_ignored(header.cells, columns),
    )
    sheet.rows = _rows(sheet, records, columns, max_rows)
    return sheet
