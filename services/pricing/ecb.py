"""The European Central Bank's euro reference rates: fetched over HTTP and read from its XML.

The ECB publishes, each working day around 16:00 CET, how many units of some thirty currencies buy
one euro (https://www.ecb.europa.eu/stats/policy_and_exchange_rates/euro_reference_exchange_rates/,
the daily file `eurofxref-daily.xml`): the same base as ExchangeRates. The file is parsed with
defusedxml, since the URL is configuration and whatever answers it is not trusted. A reply that is not
the ECB's format is an error that says what was wrong; the caller keeps the rates it had.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation

import httpx
from defusedxml import ElementTree
from defusedxml.common import DefusedXmlException

from services.pricing.money import ExchangeRates, InvalidRates

_CUBE = "{http://www.ecb.int/vocabulary/2002-08-01/eurofxref}Cube"
MAX_BYTES = 1_000_000  # the daily file is about 2 KB


class RatesUnavailable(RuntimeError):
    """The reference rates could not be fetched or read; the message says why."""


def parse_reference_rates(xml: bytes) -> ExchangeRates:
    """The rates and their date from the ECB's daily XML; RatesUnavailable when it is not that."""
    try:
        root = ElementTree.fromstring(xml)
    except (ElementTree.ParseError, DefusedXmlException) as error:
        raise RatesUnavailable(f"not the ECB's XML: {error}") from None
    days = [cube for cube in root.iter(_CUBE) if cube.get("time")]
    if not days:
        raise RatesUnavailable("no dated rates in the ECB's XML")
    day = days[0]
    try:
        as_of = date.fromisoformat(day.get("time", ""))
        rates = {
            str(cube.get("currency")): Decimal(str(cube.get("rate")))
            for cube in day.iter(_CUBE)
            if cube.get("currency")
        }
        return ExchangeRates(rates, as_of)
    except (ValueError, InvalidOperation, InvalidRates) as error:
        raise RatesUnavailable(f"unreadable rates in the ECB's XML: {error}") from None


def fetch_reference_rates(url: str, *, timeout_seconds: float = 10.0) -> ExchangeRates:
    """GET the daily file and parse it; RatesUnavailable on any failure (network, status, format)."""
    try:
        with httpx.stream("GET", url, timeout=timeout_seconds, follow_redirects=True) as response:
            response.raise_for_status()
            body = b""
            for part in response.iter_bytes():
                body += part
                if len(body) > MAX_BYTES:
                    raise RatesUnavailable(f"the reply of {url} is over {MAX_BYTES} bytes")
    except httpx.HTTPError as error:
        raise RatesUnavailable(f"{url}: {type(error).__name__}: {error}") from None
    return parse_reference_rates(body)
