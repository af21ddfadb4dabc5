"""`listing-pipeline import|job|jobs|products|price-history`: the API's client on the command line.

The commands run through `cli.main(argv)` as the installed script does; their HTTP goes to the app
in-process (the suite's TestClient as the httpx transport, on the test's rolled-back session), or to
an httpx.MockTransport where an answer is canned. No worker runs: a followed job is driven by the
in-process pipeline between two polls (`pause`)."""

from __future__ import annotations

import contextlib
import io
import json
import re
import signal
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, ClassVar

import httpx
import pytest
from rich.console import Console
from sqlalchemy import select, update

from models import ImportJob, Listing, PriceRecord, Product
from services.platform import cli, cli_client
from services.platform import cli_display as display
from services.platform.settings import get_settings
from tests.support.api import API_KEY
from tests.support.factories import product
from tests.support.jobs import new_job, processed, run_job
from tests.support.pipeline import run_pipeline


def route_exists(method: str, path: str) -> bool:
    """Whether the app has the route (the file upload and the jobs list came with another change)."""
    from api.app import app

    return method.lower() in app.openapi()["paths"].get(path, {})


class AppTransport(httpx.BaseTransport):
    """The command line's requests answered by the app in-process, through the suite's TestClient."""

    def __init__(self, client) -> None:
        self.client = client

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.read()
        answer = self.client.send(request)
        return httpx.Response(answer.status_code, headers=answer.headers, content=answer.content)


@pytest.fixture
def run(monkeypatch, capsys):
    """`run(*argv)` -> (exit code, stdout, stderr): `listing-pipeline ...` with the suite's API key."""
    monkeypatch.setenv("LISTING_API_KEY", API_KEY)
    monkeypatch.delenv("LISTING_API_URL", raising=False)
    monkeypatch.setenv("COLUMNS", "220")  # rich's width off a terminal: no cell cut short
    for name in ("FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(cli_client, "pause", lambda seconds: None)
    sigterm = signal.getsignal(signal.SIGTERM)

    def run(*argv: str) -> tuple[int, str, str]:
        code = cli.main(list(argv))
        out, err = capsys.readouterr()
        return code, out, err

    yield run
    signal.signal(signal.SIGTERM, sigterm)


@pytest.fixture
def app_api(client, monkeypatch):
    """The client commands talk to the app in-process."""
    monkeypatch.setattr(cli_client, "TRANSPORT", AppTransport(client))


def canned(monkeypatch, handler) -> list[httpx.Request]:
    """The client commands talk to `handler(request) -> httpx.Response`; returns the requests seen."""
    seen: list[httpx.Request] = []

    def recorded(request: httpx.Request):
        request.read()
        seen.append(request)
        return handler(request)

    monkeypatch.setattr(cli_client, "TRANSPORT", httpx.MockTransport(recorded))
    return seen


def one_line(text: str) -> str:
    assert "Traceback" not in text
    lines = text.strip().splitlines()
    assert len(lines) == 1, text
    return lines[0]


def squeezed(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


# --- canned job statuses ------------------------------------------------------------------------

JOB_ID = "6f1c2a7e-0000-4000-8000-000000000001"


def job_status(status: str = "running", stages: dict[str, Any] | None = None, **fields) -> dict[str, Any]:
    return {
        "id": JOB_ID, "status": status, "source": "allegro", "total_products": 4,
        "processed_products": 0, "failed_products": 0,
        "stages": stages or {s: {"done": 0, "failed": 0} for s in ("import", "normalize", "optimize",
                                                                    "price", "score")},
        "outcomes": {}, "analysis": {}, "readiness": {}, "publishing": {}, "progress": 0.0, "errors": [],
        "error": None, "options": {}, "created_at": "2026-11-22T10:00:00Z", "started_at": None,
        "completed_at": None, **fields,
    }  # fmt: skip


def stages(*counts: tuple[int, int], publish: bool = False) -> dict[str, Any]:
    names = ("import", "normalize", "optimize", "price", "score", "publish")[: 6 if publish else 5]
    return {
        name: {"done": done, "failed": failed} for name, (done, failed) in zip(names, counts, strict=True)
    }


ENDED = job_status(
    "completed_with_errors",
    stages((4, 0), (3, 1), (3, 0), (3, 0), (3, 0), (2, 1), publish=True),
    processed_products=2, failed_products=2,
    readiness={
        "amazon_de": {"publishable": 1, "not_publishable": 2,
                      "blockers": {"language": 2, "price": 3, "missing": 1, "rules": 0}},
        "ebay_de": {"publishable": 3, "not_publishable": 0, "blockers": {}},
    },
    publishing={
        "amazon_de": {"published": 0, "valid": 1, "rejected": 0, "failed": 1, "updated": 0},
        "ebay_de": {"published": 0, "valid": 3, "rejected": 0, "failed": 0, "updated": 0},
    },
    errors=[
        {"source_id": "13000000001", "position": 0, "stage": "normalize", "field": "title",
         "error": "[bold]no title[/bold] left"},
        {"source_id": None, "position": 3, "stage": "publish", "field": "amazon_de",
         "error": "amazon_de is not configured"},
    ],
)  # fmt: skip


def rendered(*renderables) -> str:
    buffer = io.StringIO()
    console = Console(file=buffer, width=160, highlight=False)
    for renderable in renderables:
        console.print(renderable)
    return buffer.getvalue()


class TestDisplay:
    def test_one_bar_per_stage_with_its_failures(self):
        buffer = io.StringIO()
        console = Console(file=buffer, width=120)
        with display.JobProgress(console) as progress:
            progress.update(job_status())
            progress.update(job_status(stages=stages((4, 0), (3, 1), (2, 0), (0, 0), (0, 0))))
        out = buffer.getvalue()

        lines = {line.split()[0]: squeezed(line) for line in out.strip().splitlines()}
        assert list(lines) == ["import", "normalize", "optimize", "price", "score"]
        assert lines["import"].endswith("4/4")
        assert lines["normalize"].endswith("4/4 1 failed")
        assert lines["optimize"].endswith("2/4")
        assert lines["score"].endswith("0/4")

    def test_the_publish_bar_when_the_job_publishes(self):
        buffer = io.StringIO()
        console = Console(file=buffer, width=120)
        with display.JobProgress(console) as progress:
            progress.update(ENDED)
        out = buffer.getvalue()
        assert [line.split()[0] for line in out.strip().splitlines()][-1] == "publish"
        assert "3/4 1 failed" in squeezed(out)

    def test_the_summary_per_marketplace(self):
        out = rendered(display.job_summary(ENDED))

        assert f"job {JOB_ID} (allegro, 4 products): completed_with_errors, 2 processed, 2 failed" in out
        header = squeezed(next(line for line in out.splitlines() if "publishable" in line))
        # published, rejected and failed always; valid because a preview validated some; never updated.
        assert header.strip("┃│ ").split(" ┃ ") == [
            "marketplace", "publishable", "not publishable", "published", "rejected", "failed", "valid",
            "top blockers",
        ]  # fmt: skip
        amazon = squeezed(next(line for line in out.splitlines() if "amazon_de" in line))
        assert amazon.strip("│ ") == "amazon_de │ 1 │ 2 │ 0 │ 0 │ 1 │ 1 │ price 3, language 2, missing 1"
        ebay = squeezed(next(line for line in out.splitlines() if "ebay_de" in line))
        assert ebay.strip("│ ") == "ebay_de │ 3 │ 0 │ 0 │ 0 │ 0 │ 3 │ -"
        # The first errors, text as the API sent it (never read as markup).
        assert "13000000001 [normalize] title: [bold]no title[/bold] left" in out
        assert "#3 [publish] amazon_de: amazon_de is not configured" in out

    def test_no_table_before_the_job_ends(self):
        assert display.summary_table(job_status()) is None
        assert "Listings per marketplace" not in rendered(display.job_summary(job_status()))

    @pytest.mark.parametrize(
        ("status", "code"),
        [("completed", 0), ("completed_with_errors", 1), ("failed", 1), ("running", 0), ("pending", 0)],
    )
    def test_exit_codes(self, status, code):
        assert display.exit_code({"status": status}) == code

    def test_a_title_is_text_not_markup(self):
        listing = {"marketplace": "amazon_de", "grade": "B", "price": "289.99", "currency": "EUR",
                   "publishable": False, "blockers": [{"code": "price", "message": "held"}]}  # fmt: skip
        item = {"id": 7, "source_id": "1", "title": "[red]Sony[/red] WH-1000XM4", "status": "imported",
                "listings": [listing]}  # fmt: skip
        out = rendered(display.products_table([item]))
        assert "[red]Sony[/red] WH-1000XM4" in out
        assert "amazon_de B 289.99 EUR ✗ price" in out


class TestWithOptions:
    OPTIONS: ClassVar[dict[str, Any]] = {"marketplaces": ["amazon_de"], "publish": "preview"}

    def test_a_bare_array_gets_an_envelope(self):
        assert cli_client.with_options([{"source_id": "1"}], self.OPTIONS) == {
            "products": [{"source_id": "1"}], "options": self.OPTIONS,
        }  # fmt: skip

    def test_the_envelopes_keep_their_own_options_unless_given(self):
        body = {"source": "ebay", "options": {"optimize": False, "publish": True}, "products": []}
        assert cli_client.with_options(body, self.OPTIONS) == {
            "source": "ebay", "options": {"optimize": False, **self.OPTIONS}, "products": [],
        }  # fmt: skip
        original = {"event_type": "product.import", "data": {"products": [], "options": {"optimize": True}}}
        assert cli_client.with_options(original, self.OPTIONS)["options"] == {
            "optimize": True,
            **self.OPTIONS,
        }

    def test_one_product_keeps_its_source(self):
        assert cli_client.with_options({"source_id": "1", "source": "ebay"}, self.OPTIONS) == {
            "products": [{"source_id": "1", "source": "ebay"}], "options": self.OPTIONS, "source": "ebay",
        }  # fmt: skip

    def test_nothing_given_sends_the_body_as_it_is(self):
        body = [{"source_id": "1"}]
        assert cli_client.with_options(body, {}) is body


# --- import -------------------------------------------------------------------------------------


def the_job(session) -> ImportJob:
    job: ImportJob = session.scalars(select(ImportJob).order_by(ImportJob.created_at.desc())).first()
    return job


class TestImport:
    def test_a_json_file_is_followed_until_the_job_ends(
        self, run, app_api, db_session, monkeypatch, tmp_path
    ):
        path = tmp_path / "batch.json"
        path.write_text(json.dumps({"products": [product(1), product(2)]}), encoding="utf-8")
        polls: list[float] = []

        def drive(seconds: float) -> None:  # the worker's part, between two polls
            polls.append(seconds)
            if len(polls) == 1:
                run_pipeline(db_session, the_job(db_session).id)

        monkeypatch.setattr(cli_client, "pause", drive)
        code, out, err = run("import", str(path), "--marketplaces", "amazon_de,ebay_de", "--interval", "0.5")

        job = the_job(db_session)
        assert err == ""
        assert job.options["marketplaces"] == ["amazon_de", "ebay_de"]
        assert job.status in ("completed", "completed_with_errors")
        assert code == (0 if job.status == "completed" else 1)
        assert polls == [0.5]  # polled once while pending, then it had ended
        assert f"Accepted batch.json: job {job.id}, 2 products." in out
        bars = {
            line.split()[0]: squeezed(line) for line in out.splitlines() if line[:1].isalpha() and "━" in line
        }
        assert list(bars) == ["import", "normalize", "optimize", "price", "score"]
        assert all(" 2/2" in bar for bar in bars.values())
        assert f"job {job.id} (allegro, 2 products): {job.status}" in out
        assert "Listings per marketplace" in out
        assert {"amazon_de", "ebay_de"} <= {squeezed(line).strip("│ ").split()[0]
                                           for line in out.splitlines() if "_de " in line}  # fmt: skip

    @pytest.mark.skipif(
        not route_exists("POST", "/api/import/file"), reason="POST /api/import/file is not in the app yet"
    )
    def test_a_csv_file(self, run, app_api, db_session, monkeypatch, tmp_path):
        path = tmp_path / "offers.csv"
        path.write_text(
            'source_id,title,price\n13372954821,"Słuchawki SONY WH-1000XM4","1 299,99 zł"\n', encoding="utf-8"
        )

        def drive(seconds: float) -> None:
            run_pipeline(db_session, the_job(db_session).id)

        monkeypatch.setattr(cli_client, "pause", drive)
        code, out, err = run("import", str(path), "--marketplaces", "amazon_de")

        job = the_job(db_session)
        assert err == ""
        assert (job.total_products, job.options["marketplaces"]) == (1, ["amazon_de"])
        assert code == (0 if job.status == "completed" else 1)
        assert f"Accepted offers.csv: job {job.id}, 1 product." in out
        assert "Read as csv (utf-8, delimiter ','); columns: source_id ← 'source_id', title ← 'title'" in out
        assert "Listings per marketplace" in out

    def test_a_url_of_json_without_following(self, run, app_api, db_session, monkeypatch):
        feed = httpx.MockTransport(
            lambda request: httpx.Response(200, json=[product(1), product(2)])
            if request.url == "https://feeds.example/allegro.json" else httpx.Response(404)
        )  # fmt: skip
        monkeypatch.setattr(cli_client, "FETCH_TRANSPORT", feed)

        code, out, err = run("import", "https://feeds.example/allegro.json", "--preview", "--no-follow")

        job = the_job(db_session)
        assert (code, err) == (0, "")
        assert (job.total_products, job.status, job.options["publish"]) == (2, "pending", "preview")
        assert out.splitlines() == [
            f"Accepted allegro.json: job {job.id}, 2 products.",
            f"Follow it: listing-pipeline job {job.id} --follow",
        ]

    def test_a_spreadsheet_goes_to_the_file_route_with_its_form(self, run, monkeypatch, tmp_path):
        path = tmp_path / "offers.xlsx"
        path.write_bytes(b"PK\x03\x04 not really a workbook")
        answer = {
            "job_id": JOB_ID,
            "status": "pending",
            "status_url": f"/api/import/job/{JOB_ID}",
            "received": 3,
        }
        seen = canned(monkeypatch, lambda request: httpx.Response(202, json=answer))

        code, out, _ = run(
            "import", str(path), "--source", "ebay", "--marketplaces", "amazon_de, ebay_de", "--publish",
            "--no-follow", "--api-url", "https://listing.up.railway.app/", "--api-key", "lpk_railway",
        )  # fmt: skip

        assert code == 0
        assert f"job {JOB_ID}, 3 products" in out
        (request,) = seen
        assert (request.method, str(request.url)) == (
            "POST",
            "https://listing.up.railway.app/api/import/file",
        )
        assert request.headers["authorization"] == "Bearer lpk_railway"
        assert request.headers["content-type"].startswith("multipart/form-data; boundary=")
        body = request.content
        assert b'name="file"; filename="offers.xlsx"' in body
        assert b"Content-Type: application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" in body
        assert b"PK\x03\x04 not really a workbook" in body
        for name, value in (
            ("source", b"ebay"),
            ("marketplaces", b"amazon_de,ebay_de"),
            ("publish", b"true"),
        ):
            assert b'name="%s"\r\n\r\n%s\r\n' % (name.encode(), value) in body

    def test_no_publish_field_unless_asked(self, run, monkeypatch, tmp_path):
        path = tmp_path / "offers.csv"
        path.write_text("source_id,title\n1,x\n", encoding="utf-8")
        seen = canned(
            monkeypatch, lambda request: httpx.Response(202, json={"job_id": JOB_ID, "received": 1})
        )
        assert run("import", str(path), "--no-follow")[0] == 0
        assert b'name="publish"' not in seen[0].content
        assert b'name="marketplaces"' not in seen[0].content
        assert b'name="source"\r\n\r\nallegro\r\n' in seen[0].content

    def test_how_a_spreadsheet_was_read(self):
        read = {"name": "o.xlsx", "format": "xlsx", "encoding": None, "delimiter": None, "sheet": "Oferty",
                "header_row": 1, "rows": 2, "columns": {"source_id": "ID", "price": "Cena"},
                "ignored_columns": ["Kolor", "Waga"]}  # fmt: skip
        assert cli_client.file_read(read) == (
            "Read as xlsx (sheet 'Oferty'); columns: source_id ← 'ID', price ← 'Cena'; "
            "ignored: 'Kolor', 'Waga'"
        )

    @pytest.mark.parametrize(
        ("name", "content", "message"),
        [
            ("missing.json", None, "no such file"),
            ("offers.txt", "x", "expected a .csv, .xlsx or .json file"),
            ("broken.json", "{not json", "broken.json is not JSON"),
        ],
    )
    def test_usage_errors_exit_2_on_one_line(self, run, app_api, tmp_path, name, content, message):
        if content is not None:
            (tmp_path / name).write_text(content, encoding="utf-8")
        code, out, err = run("import", str(tmp_path / name))
        assert (code, out) == (2, "")
        assert message in one_line(err)

    def test_the_apis_refusal_is_one_line(self, run, app_api, tmp_path):
        path = tmp_path / "batch.json"
        path.write_text(json.dumps({"products": [product(1)]}), encoding="utf-8")
        code, _, err = run("import", str(path), "--marketplaces", "amazon_de,mars_de")
        assert code == 1
        line = one_line(err)
        assert line.startswith("error: 422 Unprocessable")
        assert "unknown marketplace 'mars_de'" in line


# --- job, jobs ----------------------------------------------------------------------------------


class TestJob:
    def test_follows_through_a_transient_failure_to_the_summary(self, run, monkeypatch):
        polls = iter([
            httpx.Response(200, json=job_status("pending")),
            httpx.Response(503, json={"detail": "database unavailable"}),
            httpx.Response(200, json=job_status(stages=stages((4, 0), (2, 1), (0, 0), (0, 0), (0, 0)))),
            httpx.Response(200, json={**ENDED, "errors": []}),  # the polls ask for no errors
        ])  # fmt: skip

        def answer(request: httpx.Request) -> httpx.Response:
            assert request.url.path == f"/api/import/job/{JOB_ID}"
            if request.url.params["errors_limit"] == "0":
                return next(polls)
            assert request.url.params["errors_limit"] == str(display.ERRORS_SHOWN + 1)
            return httpx.Response(200, json=ENDED)

        seen = canned(monkeypatch, answer)
        code, out, err = run("job", JOB_ID, "--follow")

        assert (code, err) == (1, "")  # completed_with_errors
        assert len(seen) == 5
        assert "price 3, language 2, missing 1" in out
        assert "13000000001 [normalize] title: [bold]no title[/bold] left" in out

    def test_without_follow_one_look(self, run, monkeypatch):
        seen = canned(monkeypatch, lambda request: httpx.Response(200, json=job_status()))
        code, out, _ = run("job", JOB_ID)
        assert code == 0
        assert len(seen) == 2  # the bars, then the summary with its errors
        assert f"job {JOB_ID} (allegro, 4 products): running" in out
        assert "Listings per marketplace" not in out

    def test_a_job_in_the_app(self, run, app_api, db_session):
        job_id = processed(db_session, [product(1)], marketplaces=["ebay_de"])
        code, out, _ = run("job", str(job_id))
        status = the_job(db_session).status
        assert code == (0 if status == "completed" else 1)
        assert f"job {job_id} (allegro, 1 product): {status}" in out
        assert "ebay_de" in out

    def test_an_unknown_job_is_one_line(self, run, app_api):
        job_id = uuid.uuid4()
        code, out, err = run("job", str(job_id))
        assert (code, out) == (1, "")
        assert one_line(err) == f"error: 404 Not Found: job {job_id} not found"


class TestJobs:
    def test_pages_until_the_limit(self, run, monkeypatch):
        def job(n: int) -> dict[str, Any]:
            return {"id": f"00000000-0000-4000-8000-00000000000{n}", "status": "completed",
                    "source": "allegro", "total_products": 10, "processed_products": 9, "failed_products": 1,
                    "created_at": "2026-11-22T10:00:00Z",
                    "completed_at": "2026-11-22T10:01:00+00:00"}  # fmt: skip

        def answer(request: httpx.Request) -> httpx.Response:
            page = int(request.url.params.get("page", "1"))
            assert request.url.params["status"] == "completed"
            items = [job(1), job(2)] if page == 1 else [job(3), job(4)]
            following = "/api/import/jobs?status=completed&page_size=2&page=2" if page == 1 else None
            return httpx.Response(200, json={"items": items, "total": 5, "page": page, "page_size": 2,
                                             "total_pages": 3, "next": following})  # fmt: skip

        monkeypatch.setattr(cli_client, "PAGE_SIZE", 2)
        seen = canned(monkeypatch, answer)
        code, out, _ = run("jobs", "--status", "completed", "--limit", "3")

        assert code == 0
        assert [str(r.url) for r in seen] == [
            "http://127.0.0.1:8000/api/import/jobs?page=1&page_size=2&status=completed",
            "http://127.0.0.1:8000/api/import/jobs?status=completed&page_size=2&page=2",
        ]
        assert [n for n in range(1, 5) if job(n)["id"] in out] == [1, 2, 3]
        assert "2026-11-22 10:00Z" in out
        assert "2026-11-22 10:01Z" in out
        assert "3 of 5 jobs" in out

    @pytest.mark.skipif(
        not route_exists("GET", "/api/import/jobs"), reason="GET /api/import/jobs is not in the app yet"
    )
    def test_the_apps_jobs(self, run, app_api, db_session):
        first, second = new_job(db_session, [product(1)]), new_job(db_session, [product(2)])
        code, out, _ = run("jobs")
        assert code == 0
        assert str(first) in out
        assert str(second) in out


# --- products, price history --------------------------------------------------------------------


class TestProducts:
    def test_by_grade_on_one_marketplace(self, run, app_api, db_session):
        processed(db_session, [product(1), product(2), product(3)], marketplaces=["amazon_de", "ebay_de"])
        ids = {p.source_id: p.id for p in db_session.scalars(select(Product))}
        db_session.execute(update(Listing).values(grade="A"))
        db_session.execute(
            update(Listing)
            .where(Listing.product_id == ids[product(2)["source_id"]], Listing.marketplace == "ebay_de")
            .values(grade="E", publishable=False, blockers=[{"code": "price", "message": "held for review"}])
        )

        code, out, _ = run("products", "--grade", "e", "--marketplace", "ebay_de")

        assert code == 0
        assert product(2)["source_id"] in out
        assert product(1)["source_id"] not in out
        row = squeezed(next(line for line in out.splitlines() if product(2)["source_id"] in line))
        assert "│ E │" in row
        assert row.strip("│ ").endswith("│ no │ held for review")
        assert "1 of 1 products" in out
        # On any marketplace: the same product (its ebay_de listing is the E one).
        code, out, _ = run("products", "--grade", "E")
        assert [sid for sid in ids if sid in out] == [product(2)["source_id"]]

    def test_follows_the_next_pages_up_to_the_limit(self, run, app_api, db_session, monkeypatch):
        run_job(db_session, new_job(db_session, [product(i) for i in range(3)]))
        monkeypatch.setattr(cli_client, "PAGE_SIZE", 1)
        code, out, _ = run("products", "--limit", "2")
        assert code == 0
        assert [i for i in range(3) if product(i)["source_id"] in out] == [1, 2]  # newest first
        assert "2 of 3 products" in out

    def test_no_product_matches(self, run, app_api):
        assert run("products", "--not-publishable")[1] == "No products match.\n"

    def test_a_wrong_key_is_one_line(self, run, app_api):
        code, out, err = run("products", "--api-key", "lpk_wrong")
        assert (code, out) == (1, "")
        line = one_line(err)
        assert line.startswith("error: 401 Unauthorized: ")
        assert "--api-key" not in line  # a key was given: the API's words say what is wrong

    def test_no_key_says_how_to_give_one(self, run, app_api, monkeypatch):
        monkeypatch.delenv("LISTING_API_KEY")
        code, _, err = run("products")
        assert code == 1
        assert one_line(err).endswith("(pass --api-key or set LISTING_API_KEY)")

    def test_a_refused_parameter_is_one_line(self, run, app_api):
        code, _, err = run("products", "--marketplace", "mars_de")
        assert code == 1
        line = one_line(err)
        assert line.startswith("error: 422 Unprocessable")
        assert "marketplace: " in line

    def test_an_unreachable_api_is_one_line(self, run, monkeypatch):
        def refuse(request: httpx.Request) -> httpx.Response:
            raise httpx.ConnectError("[Errno 111] Connection refused")

        canned(monkeypatch, refuse)
        code, _, err = run("products", "--api-url", "http://127.0.0.1:9")
        assert code == 1
        assert (
            one_line(err)
            == "error: cannot reach the API at http://127.0.0.1:9: [Errno 111] Connection refused"
        )

    @pytest.mark.parametrize(
        ("argv", "message"),
        [(["--grade", "F"], "--grade must be one of A, B, C, D, E"), (["--api-url", "ftp://x"], "--api-url")],
    )
    def test_usage_errors_exit_2(self, run, argv, message):
        code, _, err = run("products", *argv)
        assert code == 2
        assert message in one_line(err)


class TestPriceHistory:
    def test_a_table_of_the_decisions(self, run, app_api, db_session):
        run_job(db_session, new_job(db_session, [product(1)]))
        product_id = db_session.scalar(select(Product.id))
        start = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
        for minutes, marketplace, price in ((0, "amazon_de", "100.00"), (1, "ebay_de", "70.00"),
                                            (2, "amazon_de", "110.00")):  # fmt: skip
            db_session.add(PriceRecord(
                product_id=product_id, marketplace=marketplace, job_id=uuid.uuid4(), price=Decimal(price),
                currency="EUR", status="priced", applied=True, competitors=[],
                decision={"strategy_used": "beat_lowest", "steps": [f"→ {price} EUR"], "reasons": []},
                created_at=start + timedelta(minutes=minutes),
            ))  # fmt: skip
        db_session.flush()

        code, out, _ = run("price-history", str(product_id), "--marketplace", "amazon_de")

        assert code == 0
        rows = [squeezed(line).strip("│ ").split(" │ ") for line in out.splitlines() if "amazon_de" in line]
        assert [row[:2] for row in rows] == [
            ["2026-11-20 12:02Z", "amazon_de"],
            ["2026-11-20 12:00Z", "amazon_de"],
        ]
        assert rows[0][2:] == [
            "110.00 EUR",
            "priced",
            "yes",
            "+10.00 (+10.00%)",
            "beat_lowest",
            "→ 110.00 EUR",
        ]
        assert rows[1][2:] == ["100.00 EUR", "priced", "yes", "-", "beat_lowest", "→ 100.00 EUR"]
        assert "ebay_de" not in out

    def test_an_unknown_product_is_one_line(self, run, app_api):
        code, _, err = run("price-history", "999999")
        assert code == 1
        assert one_line(err) == "error: 404 Not Found: product 999999 not found"

    def test_no_decisions_yet(self, run, app_api, db_session):
        run_job(db_session, new_job(db_session, [product(1)]))
        product_id = db_session.scalar(select(Product.id))
        assert run("price-history", str(product_id))[1] == f"No price decisions for product {product_id}.\n"


# --- the commands that were there ---------------------------------------------------------------


class TestTheOperatorsCommands:
    def test_migrate_still_runs_on_database_url(self, run, monkeypatch):
        urls: list[str] = []
        monkeypatch.setattr(cli, "upgrade_database", urls.append)
        assert run("migrate")[0] == 0
        assert urls == [get_settings().database_url]

    def test_api_keys_still_run_on_the_database(self, run, db_session, monkeypatch):
        monkeypatch.setattr(cli, "open_session", lambda: contextlib.nullcontext(db_session))
        monkeypatch.setattr(cli, "_start_logging", lambda: None)
        code, out, _ = run("api-keys", "create", "--name", "cli", "--scope", "read")
        assert code == 0
        key = out.strip().splitlines()[-1]
        assert key[:12] in run("api-keys", "list")[1]
        with pytest.raises(SystemExit):
            run("api-keys", "create", "--name", "x", "--scope", "admin")

    def test_help_lists_every_command(self, run, capsys):
        with pytest.raises(SystemExit) as exit_:
            cli.main(["--help"])
        out = capsys.readouterr().out
        assert exit_.value.code == 0
        for command in ("migrate", "api-keys", "import", "job", "jobs", "products", "price-history"):
            assert f"    {command} " in out

    def test_a_client_commands_help(self, run):
        code, out, _ = run("import", "--help")
        assert code == 0
        for flag in ("--source", "--marketplaces", "--publish / --preview", "--no-follow", "--api-url",
                     "--api-key", "LISTING_API_URL", "LISTING_API_KEY"):  # fmt: skip
            assert flag in out
        assert API_KEY not in out  # the key from the environment is never shown
