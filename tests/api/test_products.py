"""The seed's product routes: pages, filters, read, delete, counts."""

from __future__ import annotations

from sqlalchemy import func, select

from models import JobItem, Product
from services.pipeline import jobs
from tests.support.factories import product
from tests.support.jobs import new_job, run_job


def import_products(session, products, source="allegro"):
    job_id = new_job(session, products, source=source)
    run_job(session, job_id)
    return job_id


class TestListProducts:
    def test_pages_newest_first_with_the_seed_fields(self, client, db_session):
        import_products(db_session, [product(i) for i in range(5)])

        page = client.get("/api/products", params={"page": 2, "page_size": 2}).json()

        assert (page["total"], page["page"], page["page_size"], page["total_pages"]) == (5, 2, 2, 3)
        assert [item["source_id"] for item in page["items"]] == [
            product(2)["source_id"],
            product(1)["source_id"],
        ]
        first = page["items"][0]
        for field in ("title", "description", "status", "optimized_title", "optimization_score",
                      "marketplace_data", "created_at", "updated_at"):  # fmt: skip
            assert field in first

    def test_filters(self, client, db_session):
        job_id = import_products(
            db_session, [product(1, brand="Sony", title="Słuchawki 100% ANC_X"), product(2, brand="Bosch")]
        )
        import_products(db_session, [product(3)], source="ebay")

        def ids(**params):
            return {item["source_id"] for item in client.get("/api/products", params=params).json()["items"]}

        assert ids(source="ebay") == {product(3)["source_id"]}
        assert ids(brand="sony") == {product(1)["source_id"]}
        assert ids(job_id=str(job_id)) == {product(1)["source_id"], product(2)["source_id"]}
        assert ids(search="100% anc_x") == {product(1)["source_id"]}
        assert ids(search="100_") == set()  # a literal underscore, not a wildcard for the "%"
        assert ids(status="imported", source="allegro") == {product(1)["source_id"], product(2)["source_id"]}

    def test_an_empty_page(self, client):
        assert client.get("/api/products").json() == {
            "items": [], "total": 0, "page": 1, "page_size": 20, "total_pages": 0, "next": None,
        }  # fmt: skip

    def test_bad_parameters_are_422(self, client):
        assert client.get("/api/products", params={"page": 0}).status_code == 422
        assert client.get("/api/products", params={"page_size": 1000}).status_code == 422
        assert client.get("/api/products", params={"job_id": "x"}).status_code == 422


class TestNextLinks:
    """`next`: the next page's absolute path with the same query parameters, null on the last page."""

    def test_walks_every_page_with_the_same_filters(self, client, db_session):
        import_products(db_session, [product(i) for i in range(5)])
        import_products(db_session, [product(9)], source="ebay")

        first = client.get("/api/products", params={"source": "allegro", "page_size": 2}).json()
        assert first["next"] == "/api/products?source=allegro&page_size=2&page=2"
        second = client.get(first["next"]).json()
        assert (second["page"], second["next"]) == (2, "/api/products?source=allegro&page_size=2&page=3")
        last = client.get(second["next"]).json()
        assert (last["page"], last["total_pages"], last["next"]) == (3, 3, None)
        seen = [item["source_id"] for page in (first, second, last) for item in page["items"]]
        assert sorted(seen) == sorted(product(i)["source_id"] for i in range(5))

    def test_the_page_keeps_its_place_and_the_values_their_encoding(self, client, db_session):
        import_products(db_session, [product(i, title=f"Słuchawki & co {i}") for i in range(3)])
        answer = client.get("/api/products?page=1&search=S%C5%82uchawki+%26+co&page_size=1").json()
        assert answer["next"] == "/api/products?page=2&search=S%C5%82uchawki+%26+co&page_size=1"
        assert client.get(answer["next"]).json()["total"] == 3

    def test_none_on_the_last_page_and_past_it(self, client, db_session):
        import_products(db_session, [product(1)])
        assert client.get("/api/products").json()["next"] is None
        assert client.get("/api/products", params={"page": 5}).json()["next"] is None


class TestOneProduct:
    def test_read_and_delete(self, client, db_session):
        job_id = import_products(db_session, [product(1)])
        product_id = db_session.scalar(select(Product.id))

        assert client.get(f"/api/products/{product_id}").json()["source_id"] == product(1)["source_id"]
        assert client.delete(f"/api/products/{product_id}").json() == {
            "status": "success", "message": "Product deleted",
        }  # fmt: skip
        assert client.get(f"/api/products/{product_id}").status_code == 404
        assert client.delete(f"/api/products/{product_id}").status_code == 404
        # The job keeps its record of the item; it just no longer points at a product.
        assert (
            db_session.scalar(select(func.count()).select_from(JobItem).where(JobItem.product_id.isnot(None)))
            == 0
        )
        assert jobs.job_view(db_session, job_id).processed_products == 1


class TestStats:
    def test_counts_by_status_and_source(self, client, db_session):
        import_products(db_session, [product(1), product(2)])
        import_products(db_session, [product(3)], source="ebay")
        assert client.get("/api/products/stats/summary").json() == {
            "total_products": 3, "by_status": {"imported": 3}, "by_source": {"allegro": 2, "ebay": 1},
            "by_evaluation": {},
        }  # fmt: skip


def test_next_page_url_keeps_repeated_parameters_and_the_path():
    from starlette.requests import Request

    from api.pagination import next_page_url

    scope = {"type": "http", "method": "GET", "path": "/api/things", "root_path": "", "headers": [],
             "query_string": b"tag=a&page=2&tag=b", "server": ("x", 80)}  # fmt: skip
    request = Request(scope)
    assert next_page_url(request, 2, 3) == "/api/things?tag=a&page=3&tag=b"
    assert next_page_url(request, 3, 3) is None
    assert next_page_url(request, 1, 0) is None
