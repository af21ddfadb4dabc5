"""Hostile input: every bound a request can hit answers a status and a message a client can act on,
and a bad product fails alone with its field and reason while the others are imported."""

from __future__ import annotations

import asyncio
import time
import uuid

import orjson
import pytest
from sqlalchemy import func, select

from api.body import BodyLimits, BodyTooLarge
from models import ImportJob, Product, Webhook
from tests.support.factories import product
from tests.support.pipeline import run_pipeline

WEBHOOK = "/api/import/webhook"
SECRET = {"X-Webhook-Secret": "test-secret", "Content-Type": "application/json"}
MB = 1024 * 1024
TOO_LARGE = "request body larger than 20971520 bytes: split the batch"
TOO_DEEP = "JSON nested deeper than 32 levels of arrays and objects: flatten the data"
SCRIPT = '<script>alert("x")</script>'


def post(client, body: bytes, path: str = WEBHOOK):
    return client.post(path, content=body, headers=SECRET)


def nested(levels: int) -> bytes:
    return b"[" * levels + b"]" * levels


class TestBodySize:
    def test_50_mb_with_its_length_is_413_at_once(self, client):
        started = time.monotonic()
        response = post(client, b" " * (50 * MB))
        assert (response.status_code, response.json()) == (413, {"detail": TOO_LARGE})
        assert time.monotonic() - started < 2

    @pytest.mark.parametrize("path", [WEBHOOK, "/api/rules", "/api/pricing-profiles"])
    def test_50_mb_without_a_length_is_413(self, client, path):
        chunks = (b" " * MB for _ in range(50))  # chunked: no Content-Length to trust
        response = client.post(path, content=chunks, headers=SECRET)
        assert (response.status_code, response.json()) == (413, {"detail": TOO_LARGE})

    @pytest.mark.parametrize("content_type", [b"application/json", b"text/plain"])
    def test_reading_stops_at_the_limit(self, content_type):
        pulled = 0

        async def receive():
            nonlocal pulled
            pulled += 1
            return {"type": "http.request", "body": b" " * MB, "more_body": pulled < 50}

        async def route(scope, receive, send):
            while (await receive()).get("more_body"):
                pass
            raise AssertionError("the whole body was read")

        sent = []

        async def send(message):
            sent.append(message)

        scope = {
            "type": "http",
            "method": "POST",
            "path": "/api/rules",
            "headers": [(b"content-type", content_type)],
        }
        if content_type == b"application/json":  # read and answered by the middleware itself
            asyncio.run(BodyLimits(route)(scope, receive, send))
            assert sent[0]["status"] == 413
        else:  # read by the route: its reading fails with the 413 (FastAPI answers it)
            with pytest.raises(BodyTooLarge):
                asyncio.run(BodyLimits(route)(scope, receive, send))
        assert pulled == 21  # 20 MB, then the chunk that passes the limit

    def test_millions_of_tiny_values_are_413_before_they_are_parsed(self, client):
        response = post(client, b"[" + b"[]," * 2_500_000 + b"[]]")
        assert response.status_code == 413
        assert response.json()["detail"] == (
            "JSON with more than 2,000,000 values (arrays, objects and their items): split the batch"
        )

    def test_100_000_products_is_413_naming_the_limit(self, client, db_session):
        body = orjson.dumps([{"source_id": str(i), "title": "t"} for i in range(100_000)])
        response = post(client, body)
        assert response.status_code == 413
        assert response.json() == {
            "detail": "100000 products in one request; the limit is 10000: split the batch"
        }
        assert db_session.scalar(select(func.count()).select_from(ImportJob)) == 0


class TestJson:
    def test_32_levels_are_taken_33_are_422(self, client):
        # envelope, products, product, attributes: 4 levels; the attribute's value adds the rest.
        def body(levels):
            deep = orjson.loads(nested(levels))
            return orjson.dumps({"products": [product(1, attributes={"deep": deep})]})

        assert post(client, body(28)).status_code == 202
        response = post(client, body(29))
        assert (response.status_code, response.json()) == (422, {"detail": TOO_DEEP})

    @pytest.mark.parametrize("path", [WEBHOOK, "/api/import/product", "/api/rules", "/api/pricing-profiles"])
    def test_100_000_levels_are_422_not_a_crash(self, client, path):
        response = post(client, nested(100_000), path)
        assert (response.status_code, response.json()) == (422, {"detail": TOO_DEEP})

    def test_deep_rule_conditions_are_422(self, client):
        conditions = b'{"not":' * 40 + b'{"field": "price", "op": "lt", "value": 1}' + b"}" * 40
        rule = b'{"name": "x", "type": "budget", "action": "warn", "conditions": ' + conditions + b"}"
        response = post(client, rule, "/api/rules")
        assert (response.status_code, response.json()) == (422, {"detail": TOO_DEEP})

    @pytest.mark.parametrize("token", [b"NaN", b"Infinity", b"-Infinity"])
    @pytest.mark.parametrize("path", [WEBHOOK, "/api/pricing-profiles", "/api/ai/batch-optimize"])
    def test_nan_and_infinity_are_422(self, client, token, path):
        body = b'{"products": [{"source_id": "1", "title": "x", "price": ' + token + b"}]}"
        response = post(client, body, path)
        assert response.status_code == 422
        detail = response.json()["detail"]
        assert detail.startswith("malformed JSON: NaN and Infinity are not JSON numbers (line 1 column ")
        assert detail.endswith("): send a number, or null")

    @pytest.mark.parametrize("path", [WEBHOOK, "/api/rules"])
    def test_invalid_utf8_is_422_saying_where(self, client, path):
        response = post(client, b'{"name": "caf\xe9", "products": []}', path)
        assert response.status_code == 422
        assert response.json() == {
            "detail": "malformed JSON: the body is not valid UTF-8 (byte 0xE9 at offset 13): "
            "send JSON encoded as UTF-8"
        }

    def test_a_lone_surrogate_escape_is_422(self, client):
        response = post(client, b'{"products": [{"source_id": "1", "title": "\\ud800"}]}')
        assert response.status_code == 422
        assert response.json()["detail"].startswith("malformed JSON: no low surrogate in string")


class TestProductValues:
    def test_bad_values_fail_their_product_alone(self, client, db_session):
        products = [
            product(1),
            product(2, title="T" * 20_000),
            product(3, price=-15),
            product(4, price="999999999999"),
            product(5, price="NaN"),
            product(6, cost=0),
            product(7, ean="5" * 10_000),
            product(8, stock=10**12),
            product(9, price=1e300),
            product(10, title="x", price="Infinity"),
        ]
        response = post(client, orjson.dumps(products))
        assert response.status_code == 202, response.text
        job_id = response.json()["job_id"]

        assert run_pipeline(db_session, uuid.UUID(job_id)) == "completed_with_errors"
        job = client.get(f"/api/import/job/{job_id}").json()
        assert (job["total_products"], job["processed_products"], job["failed_products"]) == (10, 1, 9)
        assert job["stages"]["import"] == {"done": 1, "failed": 9}
        assert job["stages"]["score"] == {"done": 1, "failed": 0}
        assert [(e["source_id"], e["stage"], e["field"], e["error"]) for e in job["errors"]] == [
            (product(2)["source_id"], "import", "title", "must be at most 1000 characters"),
            (product(3)["source_id"], "import", "price", "must be a positive number, got -15"),
            (product(4)["source_id"], "import", "price", "is too large: 999999999999 (at most 100,000,000)"),
            (product(5)["source_id"], "import", "price", "must be a finite number, got 'NaN'"),
            (product(6)["source_id"], "import", "cost", "must be a positive number, got 0"),
            (product(7)["source_id"], "import", "ean", "must be at most 64 characters"),
            (product(8)["source_id"], "import", "stock", "must be at most 2147483647"),
            (product(9)["source_id"], "import", "price", "is too large: 1.000e+300 (at most 100,000,000)"),
            (product(10)["source_id"], "import", "price", "must be a finite number, got 'Infinity'"),
        ]

    def test_huge_text_in_other_fields_is_kept_and_goes_through_every_stage(self, client, db_session):
        huge = product(
            1,
            brand="B" * 100_000,
            category="C" * 100_000,
            description="<p>" + "d" * 500_000 + "</p>",
            source_url="https://allegro.pl/" + "h" * 100_000,
            attributes={"k" * 10_000: "v" * 100_000},
            unknown_key="u" * 100_000,
        )
        response = post(client, orjson.dumps([huge, product(2)]))
        job_id = uuid.UUID(response.json()["job_id"])

        assert run_pipeline(db_session, job_id) == "completed"
        job = client.get(f"/api/import/job/{job_id}").json()
        assert (job["total_products"], job["processed_products"], job["failed_products"]) == (2, 2, 0)
        stored = db_session.scalar(select(Product).where(Product.source_id == huge["source_id"]))
        assert (len(stored.brand), len(stored.category), len(stored.source_url)) == (
            100_000,
            100_000,
            100_019,
        )
        assert stored.raw_data == {"unknown_key": "u" * 100_000}

    def test_html_in_every_text_field_is_data_and_descriptions_are_cleaned(self, client, db_session):
        hostile = product(
            1,
            title=f"{SCRIPT} Sony WH-1000XM4",
            description=f'{SCRIPT}<p onclick="steal()">ok</p><img src=x onerror=alert(1)>'
            '<a href="javascript:x()">a</a>',
            brand=f"Sony{SCRIPT}",
            category=f"{SCRIPT}Elektronika",
            attributes={"Kolor": SCRIPT},
            images=[f"javascript:{SCRIPT}"],
            competitors=[{"seller": SCRIPT, "price": 1200, "currency": "PLN", "url": SCRIPT}],
        )
        job_id = post(client, orjson.dumps([hostile])).json()["job_id"]
        assert run_pipeline(db_session, uuid.UUID(job_id)) == "completed"
        product_id = db_session.scalar(select(Product.id).where(Product.source_id == hostile["source_id"]))

        response = client.get(f"/api/products/{product_id}")

        assert response.headers["content-type"] == "application/json"
        answer = response.json()
        # What the scraper sent is kept exactly, as data in JSON strings...
        for field in ("title", "description", "brand", "category", "images", "attributes"):
            assert answer[field] == hostile[field], field
        # ...and the descriptions made for the marketplaces keep no script, handler or javascript: URL.
        for listing in answer["listings"]:
            html = listing["description_html"]
            assert html.startswith("<p>ok</p>"), html
            for dangerous in ("<script", "onclick", "onerror", "javascript:"):
                assert dangerous not in html, html


class TestEnvelopeText:
    def test_nul_characters_in_the_envelope_are_dropped(self, client, db_session):
        body = {
            "source": "alle\u0000gro",
            "event_type": "product.\u0000import",
            "note": {"k\u0000": "v\u0000"},
            "options": {"pricing_profile": "default\u0000"},
            "products": [product(1)],
        }
        response = post(client, orjson.dumps(body))
        assert response.status_code == 202, response.text
        webhook = db_session.scalar(select(Webhook))
        assert (webhook.source, webhook.event_type) == ("allegro", "product.import")
        assert webhook.payload["note"] == {"k": "v"}

    def test_a_long_event_type_is_422(self, client):
        body = {"event_type": "e" * 65, "data": {"products": [product(1)]}}
        response = post(client, orjson.dumps(body))
        assert (response.status_code, response.json()) == (
            422,
            {"detail": '"event_type" must be at most 64 characters'},
        )


class TestQueryStrings:
    def test_sql_in_a_filter_is_just_text(self, client, db_session):
        title = "Sony '; DROP TABLE products;-- edition"
        post(client, orjson.dumps([product(1, title=title), product(2)]))
        run_pipeline(db_session, db_session.scalar(select(ImportJob.id)))

        page = client.get("/api/products", params={"search": "'; DROP TABLE products;--"})

        assert page.status_code == 200
        assert [item["title"] for item in page.json()["items"]] == [title]
        assert client.get("/api/products").json()["total"] == 2

    def test_an_unknown_parameter_is_422_naming_it_and_the_accepted_ones(self, client):
        response = client.get("/api/products", params={"pagesize": 50, "page": 2})
        assert response.status_code == 422
        assert response.json() == {
            "detail": [
                {
                    "type": "extra_forbidden",
                    "loc": ["query", "pagesize"],
                    "msg": "unknown query parameter 'pagesize'; this route takes: ai_status, brand, "
                    "evaluation, grade, job_id, marketplace, page, page_size, publishable, search, source, "
                    "status",
                }
            ]
        }

    def test_every_unknown_parameter_is_named(self, client):
        response = client.get("/api/rules/fields", params={"b": 1, "a": 2})
        assert response.status_code == 422
        assert [(e["loc"], e["msg"]) for e in response.json()["detail"]] == [
            (["query", "a"], "unknown query parameter 'a'; this route takes: none"),
            (["query", "b"], "unknown query parameter 'b'; this route takes: none"),
        ]

    def test_declared_parameters_pass(self, client):
        assert client.post(WEBHOOK, content=orjson.dumps([product(1)]), headers=SECRET,
                           params={"source": "allegro"}).status_code == 202  # fmt: skip

    @pytest.mark.parametrize(
        ("url", "loc"),
        [("/api/products?brand=%00", ["query", "brand"]), ("/api/rules/templates/a%00b", ["path", "key"])],
    )
    def test_nul_in_a_query_or_path_is_422(self, client, url, loc):
        response = client.request("DELETE" if "templates" in url else "GET", url)
        assert response.status_code == 422
        assert response.json()["detail"] == [
            {"type": "string_pattern_mismatch", "loc": loc, "msg": "must not contain NUL characters"}
        ]
