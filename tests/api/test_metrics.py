"""GET /metrics: requests and their latency by route template and status, the process's and the
product's metrics, and METRICS_TOKEN when it is set."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from services.platform import metrics as product_metrics
from tests.support.api import AUTH
from tests.support.metrics import sample

TOKEN = "a-metrics-token-for-prometheus"


def requests(text: str, method: str, route: str, status: int) -> float | None:
    return sample(text, "http_requests_total", method=method, route=route, status=str(status))


@pytest.fixture
def api(make_app):
    """An app of its own: its request counts start at zero."""
    return TestClient(make_app(), headers=AUTH)


class TestRequestMetrics:
    def test_requests_are_counted_by_route_template_and_status(self, api):
        before = api.get("/metrics").text
        assert requests(before, "GET", "/api/products", 200) is None

        assert api.get("/api/products").status_code == 200
        assert api.get("/api/products").status_code == 200
        assert api.get("/api/products/987654").status_code == 404
        assert api.get("/api/products/987655").status_code == 404
        assert api.get("/health").status_code == 200

        text = api.get("/metrics").text
        assert requests(text, "GET", "/api/products", 200) == 2
        assert requests(text, "GET", "/api/products/{product_id}", 404) == 2
        assert requests(text, "GET", "/health", 200) == 1
        assert "987654" not in text  # never the path a client sent
        labels = {"method": "GET", "route": "/api/products", "status": "200"}
        assert sample(text, "http_request_duration_seconds_count", **labels) == 2
        assert (sample(text, "http_request_duration_seconds_sum", **labels) or 0) > 0

    def test_the_counts_move_with_every_request(self, api):
        api.get("/api/products")
        first = requests(api.get("/metrics").text, "GET", "/api/products", 200) or 0
        api.get("/api/products")
        assert requests(api.get("/metrics").text, "GET", "/api/products", 200) == first + 1

    def test_metrics_itself_is_not_counted(self, api):
        for _ in range(3):
            text = api.get("/metrics").text
        assert 'route="/metrics"' not in text

    def test_an_unknown_path_is_unmatched_and_a_wrong_method_its_route(self, api):
        assert api.get("/wp-login.php").status_code == 404
        assert api.put("/api/products").status_code == 405
        api.request("BREW", "/api/products")
        text = api.get("/metrics").text
        assert requests(text, "GET", "unmatched", 404) == 1
        assert requests(text, "PUT", "/api/products", 405) == 1
        assert requests(text, "other", "/api/products", 405) == 1
        assert "wp-login" not in text

    def test_a_request_refused_before_its_route_counts_under_the_route(self, make_app):
        limited = TestClient(make_app(rate_limit_enabled=True, rate_limit_api="1/minute"), headers=AUTH)
        assert limited.get("/api/products/1/explain").status_code == 404
        assert limited.get("/api/products/2/explain").status_code == 429
        text = limited.get("/metrics", headers={"Authorization": "Bearer another-client"}).text
        assert requests(text, "GET", "/api/products/{product_id}/explain", 404) == 1
        assert requests(text, "GET", "/api/products/{product_id}/explain", 429) == 1

    def test_errors_the_app_answers_are_counted_with_their_status(self, api):
        assert api.get("/api/products", params={"pagesize": 5}).status_code == 422
        assert api.get("/api/products", headers={"Authorization": "Bearer nope"}).status_code == 401
        text = api.get("/metrics").text
        assert requests(text, "GET", "/api/products", 422) == 1
        assert requests(text, "GET", "/api/products", 401) == 1


class TestExposition:
    def test_it_needs_no_key_and_speaks_prometheus_text(self, make_app):
        response = TestClient(make_app()).get("/metrics")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/plain; version=")
        assert "# TYPE http_requests_total counter" in response.text

    def test_openmetrics_when_the_scraper_asks_for_it(self, api):
        response = api.get("/metrics", headers={"Accept": "application/openmetrics-text; version=1.0.0"})
        assert response.headers["content-type"].startswith("application/openmetrics-text")
        assert response.text.rstrip().endswith("# EOF")

    def test_the_process_and_the_product_metrics_come_along(self, api):
        product_metrics.record_callback_attempt("delivered")
        text = api.get("/metrics").text
        assert (sample(text, "listing_callback_attempts_total", outcome="delivered") or 0) >= 1
        assert "python_info" in text

    def test_it_is_not_in_the_openapi_document(self, make_app):
        assert "/metrics" not in make_app().openapi()["paths"]


class TestMetricsToken:
    @pytest.fixture
    def guarded(self, make_app):
        return TestClient(make_app(metrics_token=SecretStr(TOKEN)))

    def test_without_the_token_it_is_401(self, guarded):
        response = guarded.get("/metrics")
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"
        assert "METRICS_TOKEN" in response.json()["detail"]
        assert "http_requests_total" not in response.text

    @pytest.mark.parametrize(
        "authorization", ["Bearer wrong-token", f"Basic {TOKEN}", AUTH["Authorization"], TOKEN]
    )
    def test_another_credential_is_401(self, guarded, authorization):
        assert guarded.get("/metrics", headers={"Authorization": authorization}).status_code == 401

    def test_with_the_token_it_answers(self, guarded):
        response = guarded.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        assert response.status_code == 200
        assert "http_requests_total" in response.text
