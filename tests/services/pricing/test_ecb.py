"""The ECB's reference rates: read from its XML, fetched over HTTP, stored, and merged over the
configured rates."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from services.pricing import ExchangeRates
from services.pricing.ecb import RatesUnavailable, fetch_reference_rates, parse_reference_rates
from services.pricing.rates_store import current_rates, refresh_rates, store_rates

# The shape of https://www.ecb.europa.eu/stats/eurofxref/eurofxref-daily.xml (values of that day).
DAILY = b"""<?xml version="1.0" encoding="UTF-8"?>
<gesmes:Envelope xmlns:gesmes="http://www.gesmes.org/xml/2002-08-01"
                 xmlns="http://www.ecb.int/vocabulary/2002-08-01/eurofxref">
  <gesmes:subject>Reference rates</gesmes:subject>
  <gesmes:Sender><gesmes:name>European Central Bank</gesmes:name></gesmes:Sender>
  <Cube>
    <Cube time="2026-12-04">
      <Cube currency="USD" rate="1.0512"/>
      <Cube currency="PLN" rate="4.2655"/>
      <Cube currency="CZK" rate="25.123"/>
    </Cube>
  </Cube>
</gesmes:Envelope>"""
CONFIGURED = ExchangeRates({"PLN": Decimal("4.25"), "GBP": Decimal("0.85")}, date(2026, 11, 20))
D = Decimal


def test_the_daily_file_gives_the_rates_of_its_day():
    rates = parse_reference_rates(DAILY)
    assert rates.as_of == date(2026, 12, 4)
    assert rates.rates["PLN"] == D("4.2655")
    assert rates.rates["EUR"] == 1
    assert rates.convert(D("426.55"), "PLN", "EUR") == D(100)


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b"<html>maintenance</html>", "no dated rates"),
        (b"not xml at all", "not the ECB's XML"),
        (DAILY.replace(b'rate="4.2655"', b'rate="-1"'), "unreadable rates"),
        (
            b'<!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><x>&b;</x>',
            "not the ECB's XML",  # entities are refused (defusedxml): no "billion laughs"
        ),
    ],
)
def test_anything_else_is_refused_saying_what_was_wrong(body, says):
    with pytest.raises(RatesUnavailable, match=says):
        parse_reference_rates(body)


@pytest.fixture
def ecb() -> Iterator[dict[str, Any]]:
    """A local stand-in for the ECB's server: serves `state["body"]` with `state["status"]`."""
    state: dict[str, Any] = {"body": DAILY, "status": 200, "requests": 0}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state["requests"] += 1
            self.send_response(state["status"])
            self.send_header("Content-Type", "text/xml")
            self.end_headers()
            self.wfile.write(state["body"])

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state["url"] = f"http://127.0.0.1:{server.server_address[1]}/stats/eurofxref/eurofxref-daily.xml"
    yield state
    server.shutdown()
    server.server_close()


def test_fetched_over_http(ecb):
    assert fetch_reference_rates(ecb["url"]).as_of == date(2026, 12, 4)
    ecb["status"] = 503
    with pytest.raises(RatesUnavailable, match="HTTPStatusError"):
        fetch_reference_rates(ecb["url"])


def test_the_configured_rates_price_until_a_day_is_stored_and_fill_what_it_lacks(db_session):
    assert current_rates(db_session, CONFIGURED) == CONFIGURED
    store_rates(db_session, parse_reference_rates(DAILY), "https://ecb.example/daily.xml")

    rates = current_rates(db_session, CONFIGURED)

    assert rates.as_of == date(2026, 12, 4)
    assert (rates.rates["PLN"], rates.rates["USD"]) == (D("4.2655"), D("1.0512"))
    assert rates.rates["GBP"] == D("0.85")  # the ECB's day lacks it here: the configured rate stays


def test_refreshed_once_a_day_by_one_process_and_a_failure_changes_nothing(db_session, ecb):
    fetched = refresh_rates(db_session, ecb["url"], refresh_hours=24)
    assert fetched is not None
    assert fetched.as_of == date(2026, 12, 4)
    assert refresh_rates(db_session, ecb["url"], refresh_hours=24) is None  # fetched just now
    assert ecb["requests"] == 1

    later = datetime.now(UTC) + timedelta(hours=25)
    ecb["body"] = DAILY.replace(b"2026-12-04", b"2026-12-07").replace(b"4.2655", b"4.3001")
    assert refresh_rates(db_session, ecb["url"], refresh_hours=24, now=later) is not None
    assert current_rates(db_session, CONFIGURED).rates["PLN"] == D("4.3001")

    ecb["status"] = 500
    with pytest.raises(RatesUnavailable):
        refresh_rates(db_session, ecb["url"], refresh_hours=24, now=later + timedelta(hours=25))
    assert current_rates(db_session, CONFIGURED).as_of == date(2026, 12, 7)  # still the last good day
    assert refresh_rates(db_session, "", refresh_hours=24) is None  # no URL: never fetched
