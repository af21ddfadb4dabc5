"""What the stages made of a product, through the API: listings, filters, and the explanation."""

from __future__ import annotations

from models import RuleRow
from tests.support.factories import product, spam_product
from tests.support.jobs import new_job, processed, run_job
from tests.support.rows import id_of


class TestProductRead:
    def test_the_product_has_its_normalized_fields_and_a_listing_per_marketplace(self, client, db_session):
        processed(db_session, [spam_product(1)])

        answer = client.get(f"/api/products/{id_of(db_session, spam_product(1)['source_id'])}").json()

        assert answer["status"] == "scored"
        assert answer["normalized_brand"] == "Sony"
        assert "OKAZJA" not in answer["normalized_title"]
        assert [listing["marketplace"] for listing in answer["listings"]] == [
            "amazon_de",
            "ebay_de",
            "kaufland_de",
        ]
        ebay = answer["marketplace_data"]["ebay_de"]
        # the source price converted, raised to cost + fee + VAT (tests/services/pipeline/test_stage_chain.py)
        assert (ebay["price"], ebay["currency"], ebay["price_status"]) == ("306.99", "EUR", "priced")
        assert ebay["grade"] in "ABCDE"
        assert ebay["evaluation"] == "ok"
        assert answer["optimization_score"] is not None
        assert isinstance(answer["specifications"], list)

    def test_unknown_and_absurd_ids(self, client):
        assert client.get("/api/products/999999").status_code == 404
        assert client.get("/api/products/999999/explain").status_code == 404
        assert client.get(f"/api/products/{2**70}").status_code == 422


class TestFilters:
    def test_marketplace_grade_and_evaluation(self, client, db_session):
        db_session.add(
            RuleRow(name="no Bosch on eBay", type="product", action="block", weight=1,
                    conditions={"all": [{"field": "brand", "op": "eq", "value": "Bosch"},
                                        {"field": "marketplace", "op": "eq", "value": "ebay_de"}]})
        )  # fmt: skip
        db_session.flush()
        processed(db_session, [spam_product(1), product(2, brand="Bosch")])
        processed(db_session, [product(3, brand="Tefal")], marketplaces=["allegro_pl"])

        def source_ids(**params):
            page = client.get("/api/products", params=params)
            assert page.status_code == 200, page.text
            return sorted(item["source_id"] for item in page.json()["items"])

        assert source_ids(marketplace="allegro_pl") == [product(3)["source_id"]]
        assert source_ids(evaluation="blocked") == [product(2)["source_id"]]
        assert source_ids(evaluation="blocked", marketplace="kaufland_de") == []
        assert source_ids(evaluation="ok", marketplace="kaufland_de") == sorted(
            [spam_product(1)["source_id"], product(2)["source_id"]]
        )
        tefal = client.get(f"/api/products/{id_of(db_session, product(3)['source_id'])}").json()
        grade = tefal["listings"][0]["grade"]
        assert product(3)["source_id"] in source_ids(grade=grade, marketplace="allegro_pl")
        other = next(g for g in "ABCDE" if g != grade)
        assert product(3)["source_id"] not in source_ids(grade=other, marketplace="allegro_pl")
        assert client.get("/api/products", params={"marketplace": "amazon_xx"}).status_code == 422
        assert client.get("/api/products", params={"grade": "F"}).status_code == 422
        stats = client.get("/api/products/stats/summary").json()
        assert stats["by_evaluation"] == {"ok": 2, "blocked": 1}


class TestExplain:
    def test_every_stage_explains_itself(self, client, db_session):
        processed(  # a wrong check digit
            db_session, [spam_product(1, ean="4548736112101")], marketplaces=["ebay_de", "allegro_pl"]
        )

        answer = client.get(f"/api/products/{id_of(db_session, spam_product(1)['source_id'])}/explain")

        assert answer.status_code == 200, answer.text
        explained = answer.json()
        normalize = explained["normalize"]
        assert normalize["brand"] == {"value": "Sony", "confidence": 1.0}
        assert normalize["ean"]["valid"] is False
        assert any(change.startswith("title: ") for change in normalize["changes"])
        assert any("ean: flagged as invalid" in change for change in normalize["changes"])
        ebay = explained["marketplaces"]["ebay_de"]
        price = ebay["price"]
        assert price["status"] == "priced"
        assert price["applied"] is True
        # eBay.de is priced from its own offers only: the Allegro ones are named, not followed
        assert "no competitor offer can be followed (3 seen on Allegro, 1 out of stock)" in price["summary"]
        assert "price 306,99 EUR with VAT 19% (DE): 257,97 EUR net + 49,02 EUR VAT" in price["steps"]
        assert price["floor"] == "306.07"  # cost + fee + VAT
        reasons = {offer["seller"]: offer["reason"] for offer in price["competitors"]}
        assert reasons == {
            "a": "seen on Allegro",
            "b": "seen on Allegro",
            "c": "seen on Allegro",
            "d": "out of stock",
        }
        assert price["marketplace_fee_percent"] == "11"  # the floor's and the margin's fee
        allegro = explained["marketplaces"]["allegro_pl"]["price"]
        assert "lowest in-stock competitor 1 249,00 PLN (a)" in allegro["summary"]
        dropped = {offer["seller"]: offer for offer in allegro["competitors"] if not offer["counted"]}
        assert dropped["c"]["is_outlier"] is True
        assert dropped["d"]["reason"] == "out of stock"
        assert 0 <= ebay["quality"]["score"] <= 100
        assert any("EAN" in fix for fix in ebay["quality"]["fixes"])
        assert ebay["rules"]["status"] == "ok"

    def test_a_product_not_processed_yet_explains_what_there_is(self, client, db_session):
        run_job(db_session, new_job(db_session, [product(1)]))
        explained = client.get(f"/api/products/{id_of(db_session, product(1)['source_id'])}/explain").json()
        assert (explained["status"], explained["normalize"], explained["marketplaces"]) == (
            "imported",
            None,
            {},
        )
