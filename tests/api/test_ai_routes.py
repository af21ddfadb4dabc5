"""The seed's AI routes, with the real groq SDK against the fake Groq server."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text

from api.app import app
from api.routes.ai import route_copywriter
from models import JobItem, Listing, stages
from services.pipeline import jobs
from services.platform.settings import get_settings
from tests.support.ai import COPY_BY_LANGUAGE, groq_copywriter, translated
from tests.support.factories import spam_product
from tests.support.fake_groq import FakeGroq
from tests.support.jobs import processed
from tests.support.pipeline import run_stages
from tests.support.rows import id_of

GERMAN = COPY_BY_LANGUAGE["German"]


@pytest.fixture
def fake():
    with FakeGroq() as server:
        server.set_default("good", answer=translated)
        yield server


def copywriter_for(fake, model="llama-3.3-70b-versatile", **limits):
    return groq_copywriter(fake, model=model, **limits)


@pytest.fixture
def with_groq(fake):
    app.dependency_overrides[route_copywriter] = lambda: copywriter_for(fake)
    yield fake
    app.dependency_overrides.pop(route_copywriter, None)


@pytest.fixture
def product_id(db_session):
    processed(db_session, [spam_product(1)])
    return id_of(db_session, spam_product(1)["source_id"])


class TestOptimizeOne:
    def test_optimize_answers_the_product_with_its_new_copy(self, client, with_groq, product_id):
        answer = client.post(f"/api/ai/optimize/{product_id}?target_marketplace=amazon")

        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["id"] == product_id
        assert body["ai"]["marketplace"] == "amazon_de"  # the seed's name, mapped
        assert (body["ai"]["ai_status"], body["ai"]["source"]) == ("optimized", "model")
        assert body["ai"]["prompt_tokens"] > 0
        amazon = next(listing for listing in body["listings"] if listing["marketplace"] == "amazon_de")
        assert amazon["title"] == GERMAN["title"]
        assert amazon["ai_status"] == "optimized"
        assert with_groq.chat_requests[0].body["model"] == "llama-3.3-70b-versatile"

    def test_optimize_title_answers_the_seed_fields_and_a_second_call_costs_nothing(
        self, client, with_groq, product_id
    ):
        first = client.post(f"/api/ai/optimize-title/{product_id}?target_marketplace=ebay_de").json()
        again = client.post(f"/api/ai/optimize-title/{product_id}?target_marketplace=ebay_de").json()

        assert {k: first[k] for k in ("product_id", "original_title", "optimized_title", "marketplace")} == {
            "product_id": product_id,
            "original_title": spam_product(1)["title"],
            "optimized_title": GERMAN["title"],
            "marketplace": "ebay_de",
        }
        assert (again["ai"]["source"], again["ai"]["prompt_tokens"]) == ("listing", 0)
        assert again["optimized_title"] == GERMAN["title"]
        assert len(with_groq.chat_requests) == 1

    def test_optimize_description(self, client, with_groq, product_id):
        body = client.post(f"/api/ai/optimize-description/{product_id}?target_marketplace=kaufland").json()

        assert body["optimized_description"].startswith("<p>Kabellose Kopfhörer")
        assert body["original_description"] == spam_product(1).get("description")
        assert body["marketplace"] == "kaufland_de"

    def test_a_slow_model_answers_the_deterministic_copy_in_time(self, client, fake, product_id, monkeypatch):
        fake.set_default("slow", seconds=3)
        patient = copywriter_for(fake, timeout=10, max_wait=10)
        monkeypatch.setitem(app.dependency_overrides, route_copywriter, lambda: patient)
        monkeypatch.setattr(get_settings(), "ai_request_timeout_seconds", 0.5)

        body = client.post(f"/api/ai/optimize-title/{product_id}").json()

        assert body["ai"]["ai_status"] == "fallback"
        assert body["ai"]["ai_reason"] == "AI unavailable: no answer within 0.5 s"
        assert body["optimized_title"]  # the deterministic title

    def test_without_a_key_the_deterministic_copy_says_why(self, client, product_id):
        app.dependency_overrides[route_copywriter] = lambda: None
        try:
            body = client.post(f"/api/ai/optimize-title/{product_id}").json()
        finally:
            app.dependency_overrides.pop(route_copywriter, None)

        assert (body["ai"]["ai_status"], body["ai"]["ai_reason"]) == (
            "deterministic",
            "no GROQ_API_KEY is configured",
        )

    def test_unknown_product_and_marketplace(self, client, with_groq, product_id):
        assert client.post("/api/ai/optimize/999999").status_code == 404
        unknown = client.post(f"/api/ai/optimize/{product_id}?target_marketplace=etsy")
        assert unknown.status_code == 422
        assert "unknown marketplace 'etsy'" in unknown.json()["detail"]
        assert with_groq.chat_requests == []

    def test_a_product_not_normalized_yet_is_a_conflict(self, client, with_groq):
        imported = client.post("/api/import/product", json=spam_product(3))  # no worker runs here
        fresh = imported.json()["product_id"]

        answer = client.post(f"/api/ai/optimize/{fresh}")

        assert answer.status_code == 409
        assert "not normalized yet" in answer.json()["detail"]


class TestRefusedAnswers:
    """The route's copy goes by the cache as the stage's does: a refused answer for
    AI_REFUSAL_CACHE_HOURS, then the model is asked again."""

    def ask(self, client, product_id):
        return client.post(f"/api/ai/optimize-title/{product_id}?target_marketplace=ebay_de").json()["ai"]

    def test_a_refusal_is_reused_until_its_hours_are_up(self, client, with_groq, product_id, db_session):
        with_groq.set_default("good", answer=lambda body: COPY_BY_LANGUAGE["Polish"])  # untranslated

        first, again = self.ask(client, product_id), self.ask(client, product_id)

        assert (first["ai_status"], first["source"]) == ("fallback", "model")
        assert first["ai_reason"] == (
            "model output failed checks after a repair: "
            "the copy must be in German (de); the title and the description are in Polish"
        )
        assert (again["ai_status"], again["source"], again["ai_reason"]) == (
            "fallback",
            "cache",
            first["ai_reason"],
        )
        assert len(with_groq.chat_requests) == 2

        db_session.execute(text("UPDATE ai_copy_cache SET created_at = now() - interval '25 hours'"))
        with_groq.set_default("good", answer=translated)
        later = self.ask(client, product_id)

        assert (later["ai_status"], later["source"], later["title"]) == (
            "optimized",
            "model",
            GERMAN["title"],
        )
        assert len(with_groq.chat_requests) == 3

    def test_zero_hours_asks_again_at_once(self, client, with_groq, product_id, monkeypatch):
        monkeypatch.setattr(get_settings(), "ai_refusal_cache_hours", 0.0)
        with_groq.set_default("good", answer=lambda body: COPY_BY_LANGUAGE["Polish"])

        first, again = self.ask(client, product_id), self.ask(client, product_id)

        assert [(r["ai_status"], r["source"]) for r in (first, again)] == [("fallback", "model")] * 2
        assert len(with_groq.chat_requests) == 4


class TestBatchOptimize:
    def test_a_job_writes_the_copy_of_each_product_and_fails_unknown_ids_alone(
        self, client, fake, db_session
    ):
        processed(db_session, [spam_product(1), spam_product(2)])
        ids = [id_of(db_session, spam_product(i)["source_id"]) for i in (1, 2)]

        answer = client.post(
            "/api/ai/batch-optimize", json={"product_ids": [*ids, 999999], "target_marketplace": "ebay"}
        )
        assert answer.status_code == 202, answer.text
        accepted = answer.json()
        assert accepted["received"] == 3
        job_id = accepted["job_id"]
        assert client.get(accepted["status_url"]).json()["stages"]["optimize"] == {"done": 0, "failed": 1}

        run_stages(db_session, job_id, copywriter=copywriter_for(fake, model="llama-3.1-8b-instant"))
        assert jobs.finish_if_done(db_session, job_id) == "completed_with_errors"

        view = client.get(accepted["status_url"]).json()
        assert view["processed_products"] == 2
        assert view["ai"]["copy_status"] == {"optimized": 2}
        assert view["ai"]["requests"] >= 1
        (error,) = view["errors"]
        assert (error["field"], error["error"]) == ("product_ids[2]", "no product with id 999999")
        db_session.expire_all()
        titles = db_session.scalars(select(Listing.title).where(Listing.marketplace == "ebay_de")).all()
        assert titles == [GERMAN["title"]] * 2
        assert view["stages"]["score"]["done"] == 2  # scored again, with the new copy

    def test_bad_requests(self, client):
        assert client.post("/api/ai/batch-optimize", json={"product_ids": []}).status_code == 422
        assert client.post("/api/ai/batch-optimize", json={"product_ids": ["x"]}).status_code == 422
        unknown = client.post(
            "/api/ai/batch-optimize", json={"product_ids": [1], "target_marketplace": "etsy"}
        )
        assert unknown.status_code == 422

    def test_only_unknown_ids_end_the_job_at_once(self, client):
        accepted = client.post("/api/ai/batch-optimize", json={"product_ids": [999998, 999999]}).json()

        assert accepted["status"] == "completed_with_errors"
        assert client.get(accepted["status_url"]).json()["failed_products"] == 2


def test_items_of_a_batch_optimize_job_start_at_optimize(client, db_session):
    processed(db_session, [spam_product(1)])
    accepted = client.post(
        "/api/ai/batch-optimize", json={"product_ids": [id_of(db_session, spam_product(1)["source_id"])]}
    ).json()
    (stage,) = db_session.scalars(select(JobItem.stage).where(JobItem.job_id == accepted["job_id"])).all()
    assert stage == stages.OPTIMIZE
