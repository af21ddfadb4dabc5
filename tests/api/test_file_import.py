"""POST /api/import/file: a CSV or XLSX upload becomes a job as the webhook's batches do."""

from __future__ import annotations

import csv
import io
import uuid
from typing import Any

import orjson
import pytest
import xlsxwriter
from sqlalchemy import func, select

from models import ImportJob, JobChunk, JobItem, Webhook
from services.access import api_keys
from services.access.api_keys import Scope
from tests.support.jobs import run_job

URL = "/api/import/file"
HEADER = ["ID oferty", "Tytuł oferty", "Cena", "Liczba sztuk", "EAN", "Zdjęcia", "Kolor"]
ROWS = [
    ["13372954821", "Słuchawki Sony WH-1000XM4", "1 299,99 zł", "9", "4548736112100",
     "https://a/1.jpg|https://a/2.jpg", "czarny"],
    ["13372954822", "Plecak miejski", "-15", "2", "", "", "szary"],
    ["13372954823", "Kurtka zimowa", "349,00 zł", "", "", "https://a/3.jpg", ""],
]  # fmt: skip


def csv_file(rows: list[list[Any]], *, delimiter: str = ";", encoding: str = "utf-8") -> bytes:
    text = io.StringIO()
    csv.writer(text, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    return text.getvalue().encode(encoding)


def xlsx_file(rows: list[list[Any]]) -> bytes:
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = workbook.add_worksheet("Oferty")
    for number, row in enumerate(rows):
        sheet.write_row(number, 0, row)
    workbook.close()
    return buffer.getvalue()


def upload(client, data: bytes, name: str = "oferty.csv", headers: dict[str, str] | None = None, **form: Any):
    return client.post(
        URL, files={"file": (name, data, "application/octet-stream")}, data=form, headers=headers
    )


def job_count(db_session) -> int:
    return int(db_session.scalar(select(func.count()).select_from(ImportJob)) or 0)


class TestAccepted:
    def test_a_csv_becomes_a_job_answered_like_the_webhook(self, client, db_session, redis_client):
        response = upload(client, csv_file([HEADER, *ROWS]))

        assert response.status_code == 202, response.text
        answer = response.json()
        job_id = uuid.UUID(answer["job_id"])
        assert answer["status"] == "pending"
        assert answer["status_url"] == f"/api/import/job/{job_id}"
        assert answer["received"] == 3
        assert answer["created"] is True
        assert answer["file"] == {
            "name": "oferty.csv", "format": "csv", "encoding": "utf-8", "delimiter": ";", "sheet": None,
            "header_row": 1, "rows": 3, "ignored_columns": ["Kolor"],
            "columns": {"source_id": "ID oferty", "title": "Tytuł oferty", "price": "Cena", "ean": "EAN",
                        "images": "Zdjęcia", "stock": "Liczba sztuk"},
        }  # fmt: skip
        job = db_session.get(ImportJob, job_id)
        assert (job.source, job.total_products) == ("allegro", 3)
        assert job.options["file"]["encoding"] == "utf-8"
        chunk = db_session.scalar(select(JobChunk).where(JobChunk.job_id == job_id))
        assert orjson.loads(chunk.products)[0] == {
            "source_id": "13372954821", "title": "Słuchawki Sony WH-1000XM4", "price": "1 299,99 zł",
            "ean": "4548736112100", "images": ["https://a/1.jpg", "https://a/2.jpg"], "stock": "9",
        }  # fmt: skip
        webhook = db_session.scalar(select(Webhook).where(Webhook.import_job_id == job_id))
        assert webhook.event_type == "file.import"
        assert webhook.payload["options"]["file"]["name"] == "oferty.csv"
        assert int(redis_client.llen("dramatiq:pipeline")) == 1

    def test_a_bad_row_fails_alone_with_its_row_and_field(self, client, db_session):
        job_id = upload(client, csv_file([HEADER, *ROWS])).json()["job_id"]

        assert run_job(db_session, uuid.UUID(job_id)) == "completed_with_errors"
        job = client.get(f"/api/import/job/{job_id}").json()
        assert (job["total_products"], job["processed_products"], job["failed_products"]) == (3, 2, 1)
        assert job["errors"] == [
            {"source_id": "13372954822", "position": 0, "stage": "import", "field": "row 3: price",
             "error": "must be a positive number, got -15"},
        ]  # fmt: skip

    def test_an_xlsx_by_its_content_whatever_its_name(self, client, db_session):
        row: list[Any] = [13372954821, "Słuchawki", 1299.99, 9, 4548736112100, "https://a/1.jpg", "czarny"]
        rows = [HEADER, row]
        response = upload(client, xlsx_file(rows), name="oferty.csv")

        assert response.status_code == 202, response.text
        assert response.json()["file"]["format"] == "xlsx"
        assert response.json()["file"]["sheet"] == "Oferty"
        chunk = db_session.scalar(
            select(JobChunk).where(JobChunk.job_id == uuid.UUID(response.json()["job_id"]))
        )
        assert orjson.loads(chunk.products) == [
            {"source_id": "13372954821", "title": "Słuchawki", "price": 1299.99, "ean": "4548736112100",
             "images": ["https://a/1.jpg"], "stock": 9},
        ]  # fmt: skip

    def test_a_windows_1250_export_says_so(self, client, db_session):
        response = upload(client, csv_file([HEADER, *ROWS], encoding="cp1250"))
        assert response.status_code == 202, response.text
        assert response.json()["file"]["encoding"] == "cp1250"
        chunk = db_session.scalar(
            select(JobChunk).where(JobChunk.job_id == uuid.UUID(response.json()["job_id"]))
        )
        assert orjson.loads(chunk.products)[0]["title"] == "Słuchawki Sony WH-1000XM4"

    def test_the_form_options_and_mapping(self, client, db_session):
        response = upload(
            client,
            csv_file(
                [["Nr", "Nazwa", "Cena brutto", "Kolor"], ["7", "Kurtka", "12,30", "czarny"]], delimiter=","
            ),
            source="Allegro",
            marketplaces="amazon_de, ebay_de",
            publish="preview",
            optimize="false",
            mapping=orjson.dumps(
                {"source_id": "Nr", "price": "Cena brutto", "attributes.Kolor": "Kolor"}
            ).decode(),
        )

        assert response.status_code == 202, response.text
        job = db_session.get(ImportJob, uuid.UUID(response.json()["job_id"]))
        assert job.source == "allegro"
        assert {key: job.options[key] for key in ("marketplaces", "publish", "optimize")} == {
            "marketplaces": ["amazon_de", "ebay_de"], "publish": "preview", "optimize": False
        }  # fmt: skip
        chunk = db_session.scalar(select(JobChunk).where(JobChunk.job_id == job.id))
        assert orjson.loads(chunk.products) == [
            {"source_id": "7", "title": "Kurtka", "price": "12,30", "attributes": {"Kolor": "czarny"}}
        ]

    def test_publish_true_is_a_boolean(self, client, db_session):
        response = upload(client, csv_file([HEADER, *ROWS]), publish="true")
        job = db_session.get(ImportJob, uuid.UUID(response.json()["job_id"]))
        assert job.options["publish"] is True

    def test_an_idempotency_key_returns_the_first_job(self, client, db_session, redis_client):
        key = {"Idempotency-Key": "upload-2026-11-22"}
        first = upload(client, csv_file([HEADER, *ROWS]), headers=key).json()
        again = upload(client, csv_file([HEADER, *ROWS]), headers=key)

        assert again.status_code == 202
        assert again.json()["job_id"] == first["job_id"]
        assert again.json()["created"] is False
        assert again.json()["received"] == 3
        assert job_count(db_session) == 1
        assert int(redis_client.llen("dramatiq:pipeline")) == 1
        other = upload(client, csv_file([HEADER, *ROWS[:1]]), headers=key)
        assert other.status_code == 422
        assert "different body" in other.json()["detail"]


class TestRefused:
    @pytest.mark.parametrize(
        ("data", "expected"),
        [
            (b"%PDF-1.7\n" + b"\x00" * 50, "a PDF document"),
            (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 50, "XLS"),
            (b"PK\x05\x06" + b"\x00" * 18, "ZIP archive"),
        ],
        ids=["pdf", "xls", "empty-zip"],
    )
    def test_neither_csv_nor_xlsx_is_415(self, client, db_session, data, expected):
        response = upload(client, data, name="oferty.xlsx")
        assert response.status_code == 415
        assert "not a CSV or XLSX file" in response.json()["detail"]
        assert expected in response.json()["detail"]
        assert job_count(db_session) == 0

    def test_a_json_body_is_415(self, client):
        response = client.post(URL, json={"products": []})
        assert response.status_code == 415
        assert "multipart/form-data" in response.json()["detail"]

    def test_no_file_is_422(self, client):
        response = client.post(URL, data={"source": "allegro"}, files={"other": ("x.csv", b"a")})
        assert response.status_code == 422

    @pytest.mark.parametrize(
        ("data", "expected"),
        [
            (b"", "the file is empty"),
            (b"\r\n\r\n", "no header row"),
            (b"source_id;title\r\n", "no product rows"),
            (b"Sygnatura;Cena\r\n1;2\r\n", "no column for source_id and title"),
        ],
    )
    def test_a_file_without_header_or_columns_is_422(self, client, db_session, data, expected):
        response = upload(client, data)
        assert response.status_code == 422
        assert expected in response.json()["detail"]
        assert job_count(db_session) == 0

    def test_missing_columns_list_the_headers_found(self, client):
        detail = upload(client, csv_file([["Sygnatura", "Tytuł oferty"], ["1", "a"]])).json()["detail"]
        assert detail.startswith("no column for source_id (expected a header such as source_id: 'source_id'")
        assert "headers found: 'Sygnatura', 'Tytuł oferty'" in detail

    @pytest.mark.parametrize(
        ("form", "expected"),
        [
            ({"mapping": "{price"}, "mapping: not JSON"),
            ({"mapping": '{"price": "Cena netto"}'}, "mapping: no column 'Cena netto' (for price)"),
            ({"mapping": '{"colour": "Kolor"}'}, "'colour' is not a product field"),
            ({"marketplaces": "amazon_de,mars"}, "marketplaces: unknown marketplace 'mars'"),
            ({"pricing_profile": "nope"}, "no pricing profile named 'nope'"),
        ],
    )
    def test_wrong_options_are_422(self, client, db_session, form, expected):
        response = upload(client, csv_file([HEADER, *ROWS]), **form)
        assert response.status_code == 422
        assert expected in response.json()["detail"]
        assert job_count(db_session) == 0

    def test_a_wrong_publish_value_is_422(self, client):
        assert upload(client, csv_file([HEADER, *ROWS]), publish="maybe").status_code == 422

    def test_more_rows_than_max_file_rows_is_413_and_stores_nothing(self, client, db_session, monkeypatch):
        from services.platform.settings import get_settings

        monkeypatch.setattr(get_settings(), "max_file_rows", 2)
        monkeypatch.setattr(get_settings(), "import_chunk_size", 1)  # chunks stored before the limit is met
        response = upload(client, csv_file([HEADER, *ROWS]))

        assert response.status_code == 413
        assert "more than 2 product rows" in response.json()["detail"]
        assert job_count(db_session) == 0
        assert db_session.scalar(select(func.count()).select_from(JobChunk)) == 0
        assert db_session.scalar(select(func.count()).select_from(JobItem)) == 0

    def test_an_xlsx_taller_than_max_file_rows_is_413(self, client, monkeypatch):
        from services.platform.settings import get_settings

        monkeypatch.setattr(get_settings(), "max_file_rows", 2)
        response = upload(client, xlsx_file([HEADER, *ROWS]))
        assert response.status_code == 413

    def test_a_file_over_max_file_bytes_is_413(self, client, db_session, monkeypatch):
        from services.platform.settings import get_settings

        data = csv_file([HEADER, *ROWS])
        monkeypatch.setattr(get_settings(), "max_file_bytes", len(data) - 1)
        response = upload(client, data)
        assert response.status_code == 413
        assert "MAX_FILE_BYTES" in response.json()["detail"]
        assert job_count(db_session) == 0

    def test_a_spreadsheet_may_be_larger_than_a_json_body(self, client, monkeypatch):
        from services.platform.settings import get_settings

        monkeypatch.setattr(get_settings(), "max_body_bytes", 1000)  # a JSON body's limit
        response = upload(client, csv_file([HEADER, *(ROWS * 10)]))
        assert response.status_code == 202, response.text

    def test_an_upload_far_over_max_file_bytes_is_413_before_the_route(self, client, monkeypatch):
        from services.platform.settings import get_settings

        monkeypatch.setattr(get_settings(), "max_body_bytes", 1000)
        monkeypatch.setattr(get_settings(), "max_file_bytes", 0)  # the form's 1 MB margin is left
        response = upload(client, b"x" * (1024 * 1024 + 10), name="big.csv")
        assert response.status_code == 413

    def test_a_read_key_is_403_and_no_key_401(self, anonymous_client, db_session):
        key = api_keys.create_key(db_session, "dashboard", Scope.READ).key
        data = csv_file([HEADER, *ROWS])
        assert upload(anonymous_client, data).status_code == 401
        assert upload(anonymous_client, data, headers={"Authorization": f"Bearer {key}"}).status_code == 403
        assert job_count(db_session) == 0

    def test_the_webhook_secret_does_not_upload(self, anonymous_client):
        response = upload(
            anonymous_client, csv_file([HEADER, *ROWS]), headers={"X-Webhook-Secret": "test-secret"}
        )
        assert response.status_code == 401


def test_the_route_documents_its_form(client):
    operation = client.get("/openapi.json").json()["paths"][URL]["post"]
    content = operation["requestBody"]["content"]
    assert list(content) == ["multipart/form-data"]
    assert set(operation["responses"]) >= {"202", "401", "403", "409", "413", "415", "422"}
