"""Reading spreadsheets (CSV, XLSX) into product rows, and accepting them as a job in constant memory."""

from __future__ import annotations

import csv
import datetime
import io
import time
import tracemalloc
import uuid
import zipfile
from decimal import Decimal
from typing import Any

import orjson
import pytest
import xlsxwriter
from sqlalchemy import select

from models import ImportJob, ItemStatus, JobChunk, JobItem
from services.imports import spreadsheet
from services.imports.envelope import ImportRequest
from services.imports.intake import accept_import_stream
from services.imports.product import FieldError, ProductIn, validate_product
from services.imports.spreadsheet import (
    InvalidMapping,
    InvalidSheet,
    SheetRow,
    TooManyRows,
    UnsupportedFile,
    csv_delimiter,
    number_text,
    open_spreadsheet,
    parse_mapping,
    split_images,
)
from services.pipeline import jobs
from tests.support.jobs import run_job

HEADER = ["source_id", "title", "price", "stock", "images"]


def csv_bytes(rows: list[list[Any]], *, delimiter: str = ",", encoding: str = "utf-8") -> bytes:
    text = io.StringIO()
    csv.writer(text, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    return text.getvalue().encode(encoding)


def xlsx_bytes(rows: list[list[Any]], *, first_row: int = 0, other_sheet: bool = False) -> bytes:
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = workbook.add_worksheet("Oferty")
    dated = workbook.add_format({"num_format": "yyyy-mm-dd"})
    for number, row in enumerate(rows, start=first_row):
        for column, value in enumerate(row):
            if isinstance(value, datetime.date):
                sheet.write_datetime(number, column, value, dated)
            elif value is not None:
                sheet.write(number, column, value)
    if other_sheet:
        workbook.add_worksheet("Inne").write_row(0, 0, ["x", "y"])
    workbook.close()
    return buffer.getvalue()


def read(data: bytes, **kwargs: Any) -> tuple[spreadsheet.SheetInfo, list[SheetRow]]:
    kwargs.setdefault("max_rows", 1000)
    with open_spreadsheet(io.BytesIO(data), **kwargs) as sheet:
        return sheet.info, list(sheet.rows)


def products(data: bytes, **kwargs: Any) -> list[dict[str, Any]]:
    return [row.product for row in read(data, **kwargs)[1]]


class TestFormat:
    def test_an_xlsx_is_told_by_its_content(self):
        info, rows = read(xlsx_bytes([HEADER, ["1", "Plecak", 99.5, 3, "https://x/1.jpg"]]))
        assert info.format == "xlsx"
        assert info.sheet == "Oferty"
        assert info.encoding is None
        assert rows[0].product == {
            "source_id": "1", "title": "Plecak", "price": 99.5, "images": ["https://x/1.jpg"], "stock": 3
        }  # fmt: skip

    @pytest.mark.parametrize(
        ("data", "expected"),
        [
            (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "XLS"),
            (b"%PDF-1.7\n...", "PDF"),
            (b"\x89PNG\r\n\x1a\n\x00\x00", "PNG"),
            (b"\xff\xfes\x00o\x00u\x00", "UTF-16"),
            (b"source_id,title\n" + bytes(range(32)) * 4, "binary"),
        ],
        ids=["xls", "pdf", "png", "utf-16", "binary"],
    )
    def test_other_files_are_unsupported_saying_what_they_look_like(self, data, expected):
        with pytest.raises(UnsupportedFile, match=expected):
            read(data)

    def test_a_zip_that_is_not_a_workbook_is_unsupported(self):
        for member, expected in (("content.xml", "OpenDocument"), ("notes.txt", "ZIP archive")):
            buffer = io.BytesIO()
            with zipfile.ZipFile(buffer, "w") as archive:
                archive.writestr(member, "hello")
            with pytest.raises(UnsupportedFile, match=expected):
                read(buffer.getvalue())

    def test_a_damaged_zip_is_unsupported(self):
        with pytest.raises(UnsupportedFile, match="damaged"):
            read(b"PK\x03\x04" + b"garbage" * 10)

    def test_a_zip_bomb_is_refused_before_it_is_unpacked(self, monkeypatch):
        monkeypatch.setattr(spreadsheet, "MAX_UNPACKED_BYTES", 10_000)
        with pytest.raises(TooManyRows, match="unpacks to"):
            read(xlsx_bytes([HEADER, *([str(n), "x" * 100] for n in range(200))]))

    def test_an_empty_file_has_no_header(self):
        with pytest.raises(InvalidSheet, match="empty"):
            read(b"")
        with pytest.raises(InvalidSheet, match="no header row"):
            read(b"\r\n ; \r\n")


POLISH = [["source_id", "title", "brand"], ["1", "Zażółć gęślą jaźń", "Łucznik"]]


class TestCsvText:
    @pytest.mark.parametrize(
        ("encoding", "bom"), [("utf-8", b""), ("utf-8", b"\xef\xbb\xbf"), ("cp1250", b"")]
    )
    def test_utf8_with_or_without_a_bom_and_windows_1250(self, encoding, bom):
        info, rows = read(bom + csv_bytes(POLISH, encoding=encoding))
        assert info.encoding == encoding
        assert info.columns["source_id"] == "source_id"  # the BOM is not part of the first header
        assert rows[0].product == {"source_id": "1", "title": "Zażółć gęślą jaźń", "brand": "Łucznik"}

    def test_utf8_is_checked_over_the_whole_file_not_a_sample(self):
        rows = [["source_id", "title"], *([str(n), "plecak"] for n in range(40_000)), ["x", "Łódź"]]
        info, read_rows = read(csv_bytes(rows, encoding="cp1250"), max_rows=100_000)
        assert info.encoding == "cp1250"
        assert read_rows[-1].product["title"] == "Łódź"

    @pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
    def test_any_delimiter(self, delimiter):
        rows = [["source_id", "title", "price"], ["1", "Kurtka, zimowa; czarna", "1 299,99 zł"]]
        info, read_rows = read(csv_bytes(rows, delimiter=delimiter))
        assert info.delimiter == delimiter
        assert read_rows[0].product == {
            "source_id": "1",
            "title": "Kurtka, zimowa; czarna",
            "price": "1 299,99 zł",
        }

    def test_the_delimiter_falls_back_to_semicolon_then_comma(self):
        assert csv_delimiter("source_id;title") == (";", False)
        assert csv_delimiter("source_id,title") == (",", False)
        assert csv_delimiter("title") == (",", False)

    def test_rows_are_numbered_as_a_spreadsheet_shows_them(self):
        data = b'\r\nsource_id,title\r\n1,"two\r\nlines"\r\n\r\n,\r\n2,b\r\n'
        info, rows = read(data)
        assert info.header_row == 2
        assert [(row.number, row.product["source_id"]) for row in rows] == [(3, "1"), (6, "2")]
        assert rows[0].product["title"] == "two\r\nlines"

    def test_text_is_stripped_without_nul_and_empty_cells_are_left_out(self):
        rows = products(csv_bytes([["source_id", "title", "price", "brand"], [" 7 ", "a\x00b ", "", "  "]]))
        assert rows == [{"source_id": "7", "title": "ab"}]

    def test_a_header_without_products_is_said_when_the_rows_are_read(self):
        with pytest.raises(InvalidSheet, match="no product rows"):
            read(csv_bytes([["source_id", "title"]]))

    def test_a_malformed_csv_names_its_row(self, monkeypatch):
        monkeypatch.setattr(csv, "field_size_limit", csv.field_size_limit)
        csv.field_size_limit(50)
        try:
            with pytest.raises(InvalidSheet, match="row 3: not readable as CSV"):
                read(csv_bytes([["source_id", "title"], ["1", "a"], ["2", "x" * 100]]))
        finally:
            csv.field_size_limit(131072)

    def test_more_rows_than_allowed(self):
        data = csv_bytes([["source_id", "title"], *([str(n), "x"] for n in range(4))])
        with pytest.raises(TooManyRows, match="more than 3"):
            read(data, max_rows=3)
        assert len(read(data, max_rows=4)[1]) == 4


class TestColumns:
    def test_allegro_export_headers_in_any_case_and_without_accents(self):
        header = ["ID OFERTY", "tytul oferty", "Cena", "Dostępna  liczba sztuk", "EAN (GTIN)", "Kategoria",
                  "Marka", "Opis", "Link do zdjęcia", "Sygnatura", "Kolor"]  # fmt: skip
        row = ["13372954821", "Słuchawki", "1 299,99 zł", "9", "4548736112100", "RTV > Słuchawki", "Sony",
               "<p>Opis</p>", "https://a/1.jpg https://a/2.jpg", "SKU-1", "czarny"]  # fmt: skip
        info, rows = read(csv_bytes([header, row], delimiter=";"))
        assert info.columns == {
            "source_id": "ID OFERTY", "title": "tytul oferty", "description": "Opis", "price": "Cena",
            "brand": "Marka", "category": "Kategoria", "ean": "EAN (GTIN)", "images": "Link do zdjęcia",
            "stock": "Dostępna  liczba sztuk",
        }  # fmt: skip
        assert info.ignored_columns == ["Sygnatura", "Kolor"]  # unknown columns are not attributes by default
        product = rows[0].product
        assert product["images"] == ["https://a/1.jpg", "https://a/2.jpg"]
        assert "attributes" not in product
        checked = validate_product(product)
        assert isinstance(checked, ProductIn)
        assert (checked.price, checked.stock, checked.ean) == (Decimal("1299.99"), 9, "4548736112100")

    def test_other_allegro_names(self):
        info, _ = read(
            csv_bytes(
                [["Numer oferty", "Nazwa", "Liczba sztuk", "EAN", "Zdjęcia"], ["1", "a", "2", "3", "u"]]
            )
        )
        assert info.columns == {
            "source_id": "Numer oferty", "title": "Nazwa", "ean": "EAN", "images": "Zdjęcia",
            "stock": "Liczba sztuk",
        }  # fmt: skip

    def test_missing_required_columns_are_named_with_the_headers_found(self):
        with pytest.raises(InvalidSheet) as refused:
            read(csv_bytes([["Sygnatura", "Cena"], ["1", "2"]]))
        message = str(refused.value)
        assert "no column for source_id and title" in message
        assert "'ID oferty'" in message
        assert "headers found: 'Sygnatura', 'Cena'" in message
        assert "mapping" in message

    def test_the_mapping_overrides_the_defaults(self):
        header = ["Nr", "Nazwa towaru", "Cena", "Cena brutto", "Opis", "Kolor", "Rozmiar", "Materiał"]
        row = ["5", "Kurtka", "10", "12,30", "opis", "czarny", "XL", "bawełna"]
        mapping = {
            "source_id": "nr", "title": "NAZWA TOWARU", "price": "Cena brutto", "description": None,
            "attributes.Color": "Kolor", "attributes": ["Rozmiar", "material"],
        }  # fmt: skip
        info, rows = read(csv_bytes([header, row]), mapping=mapping)
        assert rows[0].product == {
            "source_id": "5", "title": "Kurtka", "price": "12,30",
            "attributes": {"Rozmiar": "XL", "Materiał": "bawełna", "Color": "czarny"},
        }  # fmt: skip
        assert info.columns["attributes.Color"] == "Kolor"
        assert info.ignored_columns == ["Cena", "Opis"]

    def test_a_mapped_header_the_file_lacks_is_named(self):
        with pytest.raises(InvalidSheet, match=r"no column 'Cena netto' \(for price\).*headers found"):
            read(csv_bytes([HEADER, ["1", "a", "2", "3", "u"]]), mapping={"price": "Cena netto"})

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("{", "not JSON"),
            ("[1]", "must be a JSON object"),
            ('{"colour": "Kolor"}', "'colour' is not a product field"),
            ('{"price": 3}', "must name a header"),
            ('{"attributes.": "Kolor"}', "attribute's name"),
            ('{"title": ["a"]}', "must name a header"),
        ],
    )
    def test_a_wrong_mapping_says_what_is_wrong(self, text, expected):
        with pytest.raises(InvalidMapping, match=expected):
            parse_mapping(text)

    def test_json_columns_of_the_seeds_own_csv(self):
        header = ["source_id", "title", "attributes", "competitors"]
        row = ["1", "a", '{"Kolor": "czarny"}', '[{"price": "10 zł", "seller": "s"}]']
        product = products(csv_bytes([header, row]))[0]
        assert product["attributes"] == {"Kolor": "czarny"}
        assert product["competitors"] == [{"price": "10 zł", "seller": "s"}]
        assert isinstance(validate_product(product), ProductIn)
        broken = products(csv_bytes([header, ["1", "a", "{Kolor", "x"]]))[0]
        assert validate_product(broken) == [
            FieldError("attributes", "must be an object"), FieldError("competitors", "must be a list")
        ]  # fmt: skip

    @pytest.mark.parametrize(
        ("cell", "urls"),
        [
            ("https://a/1.jpg|https://a/2.jpg", ["https://a/1.jpg", "https://a/2.jpg"]),
            ("https://a/1, https://a/2,https://a/3", ["https://a/1", "https://a/2", "https://a/3"]),
            ("https://a/1\nhttps://a/2  https://a/3", ["https://a/1", "https://a/2", "https://a/3"]),
            ("https://c.com/w_9,h_9/1.jpg | //cdn/2.jpg", ["https://c.com/w_9,h_9/1.jpg", "//cdn/2.jpg"]),
        ],
    )  # fmt: skip
    def test_images_split(self, cell, urls):
        assert split_images(cell) == urls


class TestXlsxValues:
    @pytest.mark.parametrize(
        ("value", "text"),
        [
            (199.99, "199.99"),
            (5901234123457.0, "5901234123457"),
            (0.1 + 0.2, "0.3"),
            (100.0, "100"),
            (1e-05, "0.00001"),
            (-0.0, "0"),
            (1234567.125, "1234567.125"),
        ],
    )
    def test_numbers_as_excel_shows_them(self, value, text):
        assert number_text(value) == text

    def test_cells_become_what_the_product_takes_without_float_artefacts(self):
        header = [*HEADER, "ean", "cost", "description", "Data dodania"]
        rows: list[list[Any]] = [
            header,
            [13372954821, "Plecak 2024", 199.99, 12.0, "https://x/1.jpg", 5901234123457, 245.98770000000002,
             True, datetime.date(2026, 11, 20)],
            ["2", 1984, 1.299, 2.5, None, None, 10, None, None],
        ]  # fmt: skip
        mapping = {"attributes.Dodano": "data dodania"}
        first, second = products(xlsx_bytes(rows), mapping=mapping)
        assert first == {
            "source_id": "13372954821", "title": "Plecak 2024", "description": "true", "price": 199.99,
            "ean": "5901234123457", "images": ["https://x/1.jpg"], "stock": 12, "cost": 245.9877,
            "attributes": {"Dodano": "2026-11-20"},
        }  # fmt: skip
        assert orjson.dumps(first["price"]) == b"199.99"
        checked = validate_product(first)
        assert isinstance(checked, ProductIn)
        assert (checked.price, checked.cost, checked.stock) == (Decimal("199.99"), Decimal("245.99"), 12)
        # 1.299 as text would be 1299 under the scraped-price rules: the number stays a number.
        assert second["price"] == 1.299
        assert second["title"] == "1984"
        assert validate_product(second) == [FieldError("stock", "must be a whole number")]

    def test_the_first_sheet_only_with_rows_numbered_as_excel_shows_them(self):
        info, rows = read(xlsx_bytes([HEADER, ["1", "a"], [None], ["2", "b"]], first_row=3, other_sheet=True))
        assert info.header_row == 4
        assert [(row.number, row.product["title"]) for row in rows] == [(5, "a"), (7, "b")]

    def test_a_sheet_taller_than_allowed_is_refused_at_once(self):
        data = xlsx_bytes([["source_id", "title"], *([str(n), "x"] for n in range(5))])
        with pytest.raises(TooManyRows, match="has 6 rows"):
            open_spreadsheet(io.BytesIO(data), max_rows=4)
        assert len(read(data, max_rows=5)[1]) == 5

    def test_missing_columns_in_a_workbook(self):
        with pytest.raises(InvalidSheet, match="no column for title"):
            read(xlsx_bytes([["source_id", "Cena"], ["1", 2]]))


# ---------------------------------------------------------------- accepting the rows as a job


def accept(session, data: bytes, *, chunk_size: int = 500, max_rows: int = 100_000, **kwargs: Any):
    with open_spreadsheet(io.BytesIO(data), max_rows=max_rows, **kwargs) as sheet:
        rows = ((f"row {row.number}", row.product) for row in sheet.rows)
        return accept_import_stream(
            session,
            ImportRequest(source="allegro", products=[]),
            rows,
            body_sha256=uuid.uuid4().hex * 2,
            body_bytes=len(data),
            chunk_size=chunk_size,
        )


class TestAcceptRows:
    def test_a_bad_row_fails_alone_naming_its_row_and_field(self, db_session):
        data = csv_bytes(
            [
                ["source_id", "title", "price", "stock"],
                ["1", "Plecak", "99,99 zł", "3"],
                ["2", "", "-15", "x"],
                ["3", "Kurtka", "120", ""],
                ["1", "Plecak nowszy", "89,99 zł", ""],
                ["4", "Namiot", "zapytaj", ""],
            ]
        )
        accepted = accept(db_session, data, chunk_size=2)

        assert accepted.created
        assert accepted.received == 5
        job = db_session.get(ImportJob, accepted.job_id)
        assert job.total_products == 5
        failed = db_session.scalars(select(JobItem).where(JobItem.job_id == job.id)).all()
        assert [(item.position, item.source_id, item.status, item.errors) for item in failed] == [
            (0, "2", ItemStatus.FAILED, [
                {"field": "row 3: title", "error": "is required"},
                {"field": "row 3: price", "error": "must be a positive number, got -15"},
                {"field": "row 3: stock", "error": "must be a whole number"},
            ]),
        ]  # fmt: skip
        chunks = db_session.scalars(
            select(JobChunk).where(JobChunk.job_id == job.id).order_by(JobChunk.number)
        )
        assert [(c.number, c.first_position, c.size, c.duplicates) for c in chunks] == [
            (0, 1, 2, [1]),  # row 2 (source_id 1) comes again in row 5: the later one is imported
            (1, 3, 2, []),
        ]

        assert run_job(db_session, job.id) == "completed_with_errors"
        view = jobs.job_view(db_session, job.id)
        assert (view.total_products, view.processed_products, view.failed_products) == (5, 4, 1)
        assert view.outcomes == {"created": 3, "duplicate": 1}
        assert [(e.source_id, e.field) for e in view.errors] == [
            ("2", "row 3: title"),
            ("2", "row 3: price"),
            ("2", "row 3: stock"),
            ("4", "price"),
        ]  # the unreadable price of row 6 is the import stage's warning, as for the webhook
        assert view.errors[-1].error.startswith("warning:")

    def test_a_file_of_bad_rows_is_a_job_that_ends_with_its_errors(self, db_session):
        data = csv_bytes([["source_id", "title", "price"], ["1", "a", "0"], ["2", "b", "-1"]])
        accepted = accept(db_session, data)

        assert db_session.scalar(select(JobChunk).where(JobChunk.job_id == accepted.job_id)) is None
        assert run_job(db_session, accepted.job_id) == "completed_with_errors"
        view = jobs.job_view(db_session, accepted.job_id)
        assert (view.total_products, view.failed_products) == (2, 2)
        assert [e.field for e in view.errors] == ["row 2: price", "row 3: price"]

    def test_a_row_limit_passed_midway_raises_from_the_rows(self, db_session):
        data = csv_bytes([["source_id", "title"], *([str(n), "x"] for n in range(5))])
        with pytest.raises(TooManyRows):
            accept(db_session, data, max_rows=4)


def generated_csv(count: int) -> bytes:
    """`count` rows as a seller's export: Allegro's headers, Polish text, three images a row."""
    text = io.StringIO()
    writer = csv.writer(text, delimiter=";", lineterminator="\r\n")
    writer.writerow(["ID oferty", "Tytuł oferty", "Cena", "Liczba sztuk", "EAN", "Marka", "Kategoria", "Opis",
                     "Zdjęcia"])  # fmt: skip
    for n in range(count):
        price = "-1" if n % 1000 == 999 else f"{100 + n % 900},99 zł"  # every 1000th: a bad row
        writer.writerow([
            13_000_000_000 + n, f"Słuchawki bezprzewodowe model {n} czarne ANC", price,
            n % 50, 5_900_000_000_000 + n, "Sony", "Elektronika > RTV > Słuchawki",
            f"<p>Słuchawki {n}: oryginalny produkt, gwarancja producenta 24 miesiące, faktura VAT.</p>",
            " | ".join(f"https://a.allegroimg.com/original/{n}/{i}.jpg" for i in range(3)),
        ])  # fmt: skip
    return text.getvalue().encode()


def peak_bytes(work: Any) -> tuple[Any, int]:
    tracemalloc.start()
    try:
        result = work()
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


class TestConstantMemory:
    ROWS = 50_000

    def test_fifty_thousand_rows_import_without_holding_them(self, db_session):
        data = generated_csv(self.ROWS)
        started = time.perf_counter()

        accepted, streamed_peak = peak_bytes(lambda: accept(db_session, data))

        accepted_in = time.perf_counter() - started
        job = db_session.get(ImportJob, accepted.job_id)
        assert accepted.received == job.total_products == self.ROWS
        chunks = db_session.execute(
            select(JobChunk.size, JobChunk.first_position)
            .where(JobChunk.job_id == job.id)
            .order_by(JobChunk.number)
        ).all()
        bad = self.ROWS // 1000
        assert [size for size, _ in chunks] == [500] * 99 + [500 - bad]
        assert (chunks[0].first_position, chunks[-1].first_position) == (bad, bad + 99 * 500)
        failed = db_session.execute(
            select(JobItem.position, JobItem.errors)
            .where(JobItem.job_id == job.id)
            .order_by(JobItem.position)
        ).all()
        assert [position for position, _ in failed] == list(range(bad))
        assert failed[0].errors == [
            {"field": "row 1001: price", "error": "must be a positive number, got -1"}
        ]

        # What holding every row as a dict would take, parsed the same way.
        def hold_all() -> int:
            with open_spreadsheet(io.BytesIO(data), max_rows=self.ROWS) as sheet:
                return len(list(sheet.rows))

        _, held_peak = peak_bytes(hold_all)
        print(
            f"\n{self.ROWS:,} rows ({len(data) / 1e6:.1f} MB of CSV): accepted in {accepted_in:.1f} s with "
            f"tracemalloc on; peak {streamed_peak / 1e6:.1f} MB streamed, {held_peak / 1e6:.1f} MB held"
        )
        assert streamed_peak < held_peak / 4
