"""What `GET /api/export/marketplaces` tells: configured or not, credentials tried, last exchanges."""

from __future__ import annotations

from models import SyncLog
from services.publishing.clients.ebay import EbayClient
from services.publishing.clients.registry import Availability
from services.publishing.status import marketplace_statuses
from tests.support.marketplaces import fake_marketplaces


def by_id(session, availability, *, check=False):
    return {m.id: m for m in marketplace_statuses(session, availability, check=check)}


def test_credentials_are_tried_only_when_asked(db_session):
    with fake_marketplaces() as markets:
        unchecked = by_id(db_session, markets.availability)
        checked = by_id(db_session, markets.availability, check=True)

    assert unchecked["amazon_de"].credentials_valid is None
    assert markets.amazon.token_requests  # asked once, when checked
    for marketplace in ("amazon_de", "ebay_de", "kaufland_de"):
        assert (checked[marketplace].status, checked[marketplace].credentials_valid) == ("configured", True)
    assert checked["allegro_pl"].status == "feed_only"


def test_refused_credentials_say_what_the_marketplace_answered(db_session):
    with fake_marketplaces() as markets:
        wrong = EbayClient(markets.ebay.ebay_config(client_secret="not-the-secret"))
        availability = Availability({**markets.availability.clients, "ebay_de": wrong}, {})
        status = by_id(db_session, availability, check=True)["ebay_de"]
        wrong.close()

    assert status.credentials_valid is False
    assert "invalid_client" in (status.credentials_error or "")


def test_the_last_success_and_the_last_error_come_from_the_sync_log(db_session):
    db_session.add_all(
        [
            SyncLog(marketplace="kaufland_de", action="publish", status="published"),
            SyncLog(
                marketplace="kaufland_de", action="publish", status="rejected", error_message="ean: invalid"
            ),
        ]
    )
    db_session.flush()

    status = by_id(db_session, Availability({}, {}))["kaufland_de"]

    assert status.last_success_at is not None
    assert status.last_error_at is not None
    assert status.last_error == "ean: invalid"
    assert by_id(db_session, Availability({}, {}))["amazon_de"].last_error is None
