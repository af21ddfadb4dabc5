"""The stage actors' configuration: built from the settings, refused at a worker's start when a domain
cannot use it (the settings themselves know nothing of pricing, scoring or marketplaces)."""

from __future__ import annotations

import contextlib
from datetime import date
from decimal import Decimal

import pytest

from services.platform.settings import Settings
from services.pricing import ExchangeRates
from workers import sweeper
from workers.context import build_stage_context


def settings(**values):
    return Settings(_env_file=None, **values)


def test_rates_weights_and_languages_reach_the_stages():
    context = build_stage_context(
        settings(
            exchange_rates={"PLN": "4.2655"},
            quality_weights={"title": 40, "description": 20, "images": 20, "attributes": 20},
            marketplace_languages={"amazon_de": "en"},
            extra_brands="Hyundai, Vileda",
        ),
        redis=None,  # no Groq key: no copywriter, so no limiter and no Redis
    )

    assert context.rates.convert(Decimal("42.655"), "PLN", "EUR") == Decimal(10)
    assert context.weights.title == 40
    assert context.languages == {"amazon_de": "en"}
    assert context.copy.languages == {"amazon_de": "en"}  # the copy's key includes the language
    assert context.copywriter is None
    assert (context.brands["hyundai"], context.brands["vileda"], context.brands["sony"]) == (
        "Hyundai",
        "Vileda",
        "Sony",
    )
    assert "en" in context.detector.languages  # English told apart on the English Amazon


@pytest.mark.parametrize(
    ("values", "says"),
    [
        ({"exchange_rates": {"PLN": "0"}}, "the rate for PLN must be above zero"),
        ({"quality_weights": {"title": 1, "colour": 3}}, "unknown weight 'colour'"),
        ({"quality_weights": {"title": 0, "description": 0, "images": 0, "attributes": 0}}, "weights"),
        ({"marketplace_languages": {"etsy_de": "de"}}, "unknown marketplace 'etsy_de'"),
        ({"marketplace_languages": {"amazon_de": "Deutsch"}}, "must be a code such as de"),
    ],
)
def test_unusable_values_stop_the_start_naming_the_problem(values, says):
    with pytest.raises(ValueError, match=says):
        build_stage_context(settings(**values), redis=None)


def test_the_sweeper_refreshes_the_rates_from_the_configured_url(monkeypatch):
    """The worker's sweeper thread asks rates_store.refresh_rates with the settings' URL and period."""
    asked = []

    def refresh(session, url, *, refresh_hours):
        asked.append((url, refresh_hours))
        return ExchangeRates({"PLN": Decimal("4.3")}, date(2026, 12, 4))

    monkeypatch.setattr(sweeper, "refresh_rates", refresh)
    monkeypatch.setattr(sweeper, "get_settings", lambda: settings(exchange_rates_url="http://ecb.test/x.xml"))
    monkeypatch.setattr(sweeper, "session_scope", lambda: contextlib.nullcontext(None))
    assert sweeper.refresh_rates_once() is True
    assert asked == [("http://ecb.test/x.xml", 12.0)]
