"""The import stage on a real database: bulk upsert, per-product failures, idempotency, outcomes."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select

from models import ImportJob, JobItem, Product
from services.imports.product import validate_product
from services.pipeline import jobs
from services.pipeline.stages import import_ as product_import
from services.pipeline.stages.import_ import _upsert_products as upsert_products
from services.pipeline.stages.import_ import import_chunk
from tests.support.factories import product
from tests.support.jobs import new_job, run_job
from tests.support.rows import id_of


def product_count(session):
    return session.scalar(select(func.count()).select_from(Product))


def spy_on_the_import(monkeypatch) -> tuple[list[str], list[list[str]]]:
    """The source ids the import stage validates, one by one, and those it writes, a list per chunk."""
    validated: list[str] = []
    written: list[list[str]] = []

    def validate(raw):
        validated.append(raw["source_id"])
        return validate_product(raw)

    def upsert(session, source, products):
        written.append([p.source_id for p in products])
        return upsert_products(session, source, products)

    monkeypatch.setattr(product_import, "validate_product", validate)
    monkeypatch.setattr(product_import, "_upsert_products", upsert)
    return validated, written


class TestImportChunk:
    def test_valid_products_are_upserted_with_parsed_prices(self, db_session):
        job_id = new_job(db_session, [product(1, price="1 299,99 zł", cost="950"), product(2)])

        assert run_job(db_session, job_id) == "completed"

        stored = db_session.scalar(select(Product).where(Product.source_id == product(1)["source_id"]))
        assert stored.source_platform == "allegro"
        assert stored.price == Decimal("1299.99")
        assert stored.cost == Decimal("950.00")
        assert stored.currency == "PLN"
        assert stored.images == product(1)["images"]
        assert stored.attributes["Kolor"] in ("czarny", "biały", "srebrny")
        assert len(stored.competitors) == 3
        assert stored.last_import_job_id == job_id
        assert product_count(db_session) == 2

    def test_unknown_keys_are_kept_in_raw_data(self, db_session):
        job_id = new_job(db_session, [product(1, seller_rating=4.9, gpsr={"producer": "Sony Europe"})])
        run_job(db_session, job_id)
        stored = db_session.scalar(select(Product))
        assert stored.raw_data == {"seller_rating": 4.9, "gpsr": {"producer": "Sony Europe"}}

    def test_nul_characters_are_dropped(self, db_session):
        run_job(
            db_session, new_job(db_session, [product(1, title="Mysz\u0000 USB", attributes={"K\u0000": "v"})])
        )
        stored = db_session.scalar(select(Product))
        assert (stored.title, stored.attributes) == ("Mysz USB", {"K": "v"})

    def test_an_invalid_product_fails_alone_with_field_and_reason(self, db_session):
        job_id = new_job(
            db_session,
            [
                product(1),
                product(2, cost="zapytaj sprzedawcę"),
                {"title": "no id"},
                product(3, images="x.jpg"),
                17,
            ],
        )

        assert run_job(db_session, job_id) == "completed_with_errors"

        view = jobs.job_view(db_session, job_id)
        assert view.processed_products == 1
        assert view.failed_products == 4
        assert view.stages["import"].model_dump() == {"done": 1, "failed": 4}
        assert view.progress == 1.0
        errors = {(e.position, e.field): e.error for e in view.errors}
        assert "not a number" in errors[(1, "cost")]
        assert errors[(2, "source_id")] == "is required"
        assert errors[(3, "images")] == "must be a list of image URLs"
        assert errors[(4, "product")].startswith("must be a JSON object")
        assert view.errors[0].source_id == product(2)["source_id"]
        assert all(e.stage == "import" for e in view.errors)
        assert product_count(db_session) == 1

    def test_a_price_that_cannot_be_read_imports_the_product_without_one(self, db_session):
        job_id = new_job(db_session, [product(1, price="zapytaj sprzedawcę")])

        assert run_job(db_session, job_id) == "completed"

        stored = db_session.scalar(select(Product))
        assert (stored.price, stored.currency) == (None, "PLN")
        assert jobs.job_view(db_session, job_id).processed_products == 1

    def test_running_a_chunk_twice_changes_and_counts_nothing_twice(self, db_session):
        job_id = new_job(db_session, [product(i) for i in range(5)] + [product(9, cost=-15)])
        run_job(db_session, job_id)
        before = jobs.job_view(db_session, job_id)

        again = import_chunk(db_session, job_id, 0)  # a redelivered message

        assert again.imported == again.failed == 0
        after = jobs.job_view(db_session, job_id)
        assert after.model_dump() == before.model_dump()
        assert product_count(db_session) == 5

    def test_a_job_is_fanned_out_in_chunks(self, db_session):
        job_id = new_job(db_session, [product(i) for i in range(7)], chunk_size=3)
        assert jobs.begin_job(db_session, job_id) == [0, 1, 2]
        import_chunk(db_session, job_id, 1)

        view = jobs.job_view(db_session, job_id)
        assert view.processed_products == 3
        assert view.progress == round(3 / 7, 4)
        assert jobs.finish_if_done(db_session, job_id) is None
        assert jobs.begin_job(db_session, job_id) == [0, 2]

    def test_a_chunk_that_gave_up_fails_its_products_and_the_job_ends(self, db_session):
        job_id = new_job(db_session, [product(i) for i in range(5)], chunk_size=3)
        jobs.begin_job(db_session, job_id)
        import_chunk(db_session, job_id, 1)

        assert jobs.fail_chunk(db_session, job_id, 0, reason="import failed after 8 attempts") == 3
        assert jobs.fail_chunk(db_session, job_id, 0, reason="again") == 0  # idempotent

        assert jobs.finish_if_done(db_session, job_id) == "completed_with_errors"
        view = jobs.job_view(db_session, job_id)
        assert (view.processed_products, view.failed_products) == (2, 3)
        assert {e.error for e in view.errors} == {"import failed after 8 attempts"}

    def test_a_finished_job_is_not_started_again(self, db_session):
        job_id = new_job(db_session, [product(1)])
        run_job(db_session, job_id)
        assert jobs.begin_job(db_session, job_id) == []
        assert db_session.get(ImportJob, job_id).status == "completed"


class TestReimport:
    def test_outcomes_created_unchanged_updated(self, db_session):
        first = new_job(db_session, [product(1), product(2)])
        run_job(db_session, first)
        stored = db_session.scalar(select(Product).where(Product.source_id == product(1)["source_id"]))
        updated_at = stored.updated_at

        second = new_job(db_session, [product(1), product(2, price="5,00 zł"), product(3)])
        run_job(db_session, second)

        assert jobs.job_view(db_session, first).outcomes == {"created": 2}
        assert jobs.job_view(db_session, second).outcomes == {"unchanged": 1, "updated": 1, "created": 1}
        db_session.expire_all()
        assert (
            db_session.get(Product, stored.id).updated_at == updated_at
        )  # an unchanged row is not rewritten
        assert product_count(db_session) == 3

    def test_an_unchanged_product_is_neither_validated_nor_written_again(self, db_session, monkeypatch):
        run_job(db_session, new_job(db_session, [product(1), product(2)]))
        stored_id = id_of(db_session, product(1)["source_id"])
        validated, written = spy_on_the_import(monkeypatch)

        job_id = new_job(db_session, [product(1), product(2, title="Renamed"), product(3)])
        (number,) = jobs.begin_job(db_session, job_id)
        result = import_chunk(db_session, job_id, number, next_stage="normalize")

        assert result.outcomes == {"unchanged": 1, "updated": 1, "created": 1}
        assert validated == [product(2)["source_id"], product(3)["source_id"]]
        assert written == [[product(2)["source_id"], product(3)["source_id"]]]
        item = db_session.get(JobItem, (job_id, 0))  # on to the next stage, with the stored product
        assert (item.stage, item.status, item.product_id, item.outcome, item.errors) == (
            "normalize",
            "pending",
            stored_id,
            "unchanged",
            None,
        )
        assert result.product_ids == [stored_id, id_of(db_session, product(2)["source_id"]),
                                      id_of(db_session, product(3)["source_id"])]  # fmt: skip

    def test_a_batch_all_unchanged_writes_no_product(self, db_session, monkeypatch):
        first = new_job(db_session, [product(1), product(2)])
        run_job(db_session, first)
        validated, written = spy_on_the_import(monkeypatch)

        again = new_job(db_session, [product(1), product(2)])
        assert run_job(db_session, again) == "completed"

        assert jobs.job_view(db_session, again).outcomes == {"unchanged": 2}
        assert (validated, written) == ([], [[]])
        db_session.expire_all()
        assert set(db_session.scalars(select(Product.last_import_job_id))) == {first}  # as the merge left it

    def test_a_changed_product_is_validated_again_and_fails_alone(self, db_session, monkeypatch):
        run_job(db_session, new_job(db_session, [product(1), product(2)]))
        validated, _ = spy_on_the_import(monkeypatch)

        job_id = new_job(db_session, [product(1, cost=-15), product(2)])
        assert run_job(db_session, job_id) == "completed_with_errors"

        assert validated == [product(1)["source_id"]]
        view = jobs.job_view(db_session, job_id)
        assert view.outcomes == {"unchanged": 1}
        assert [(e.source_id, e.field, e.error) for e in view.errors] == [
            (product(1)["source_id"], "cost", "must be a positive number, got -15")
        ]

    def test_an_unchanged_product_imported_without_its_price_keeps_its_warning(self, db_session, monkeypatch):
        unreadable = product(1, price="zapytaj sprzedawcę")
        first = new_job(db_session, [unreadable, product(2)])
        run_job(db_session, first)
        validated, _ = spy_on_the_import(monkeypatch)

        again = new_job(db_session, [unreadable, product(2)])
        run_job(db_session, again)

        assert validated == [unreadable["source_id"]]  # a price text without a digit may warn: checked
        view = jobs.job_view(db_session, again)
        assert view.outcomes == {"unchanged": 2}
        warnings = [(e.source_id, e.field, e.error) for e in view.errors]
        assert warnings == [(e.source_id, e.field, e.error) for e in jobs.job_view(db_session, first).errors]
        ((source_id, field, warning),) = warnings
        assert (source_id, field) == (unreadable["source_id"], "price")
        assert warning.startswith("warning: not a number")

    def test_same_source_id_on_two_platforms_is_two_products(self, db_session):
        run_job(db_session, new_job(db_session, [product(1)], source="allegro"))
        run_job(db_session, new_job(db_session, [product(1)], source="ebay"))
        assert product_count(db_session) == 2


class TestDuplicates:
    def test_a_product_repeated_in_one_batch_is_imported_once(self, db_session):
        job_id = new_job(
            db_session, [product(1, title="Old title"), product(2), product(1, title="New title")]
        )
        assert run_job(db_session, job_id) == "completed"
        view = jobs.job_view(db_session, job_id)
        assert view.outcomes == {"duplicate": 1, "created": 2}
        assert view.processed_products == 3
        assert (
            db_session.scalar(select(Product.title).where(Product.source_id == product(1)["source_id"]))
            == "New title"
        )
        assert product_count(db_session) == 2
        linked = db_session.scalars(
            select(JobItem.product_id).where(JobItem.job_id == job_id, JobItem.product_id.isnot(None))
        )
        assert len(set(linked)) == 2


class TestHashes:
    def hashes(self, session):
        session.expire_all()
        return session.execute(select(Product.content_hash, Product.offer_hash)).one()

    def test_a_change_of_offer_alone_keeps_the_content_hash(self, db_session):
        run_job(db_session, new_job(db_session, [product(1)]))
        content, offer = self.hashes(db_session)
        run_job(db_session, new_job(db_session, [product(1, price="1,00")]))
        new_content, new_offer = self.hashes(db_session)
        assert new_content == content
        assert new_offer != offer

    def test_a_change_of_title_changes_the_content_hash_only(self, db_session):
        run_job(db_session, new_job(db_session, [product(1)]))
        content, offer = self.hashes(db_session)
        run_job(db_session, new_job(db_session, [product(1, title="Another title")]))
        new_content, new_offer = self.hashes(db_session)
        assert new_content != content
        assert new_offer == offer
