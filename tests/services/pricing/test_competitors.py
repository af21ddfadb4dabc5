"""Competitor offers: out of stock, unusable and unknown-currency offers, outliers and (unless the
profile says so) offers seen on other marketplaces do not count."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from urllib.parse import urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.marketplaces import MARKETPLACES
from services.pricing.competitors import (
    CompetitorOffer,
    EvaluatedOffer,
    Market,
    clean_competitors,
    marketplace_from_url,
    normalize_marketplace,
)
from services.pricing.money import ExchangeRates
from services.pricing.vat import VatRate

D = Decimal
RATES = ExchangeRates({"PLN": D("4.30"), "CZK": D("25.00")}, date(2026, 11, 20))
DE, PL = VatRate("DE", D(19)), VatRate("PL", D(23))


def offer(
    price: str,
    currency: str | None = None,
    *,
    in_stock: bool = True,
    seller: str | None = "s",
    marketplace: str | None = None,
):
    return CompetitorOffer(seller, D(price), currency, in_stock, marketplace)


def clean(offers: list[CompetitorOffer], currency: str = "PLN") -> list[EvaluatedOffer]:
    """For no marketplace in particular; an offer naming no currency is in the target's here."""
    market = Market(currency, bare_currency=currency, bare_currency_why="the product's currency")
    return clean_competitors(offers, currency=currency, rates=RATES, market=market)


AMAZON_DE = Market(
    "EUR", marketplace="amazon_de", vat=DE, vat_rates={"DE": DE, "PL": PL}, bare_currency="PLN",
    bare_currency_why="the currency of source allegro",
)  # fmt: skip


def on_amazon_de(offers: list[CompetitorOffer], **changes) -> list[EvaluatedOffer]:
    market = Market(**{**{name: getattr(AMAZON_DE, name) for name in Market.__dataclass_fields__}, **changes})
    return clean_competitors(offers, currency="EUR", rates=RATES, market=market)


def outliers(prices: list[str], currency: str = "EUR") -> list[str]:
    cleaned = clean([offer(price) for price in prices], currency)
    return [f"{result.price}" for result in cleaned if result.is_outlier]


def test_the_one_zloty_offer_among_1200_zloty_offers_is_an_outlier():
    cleaned = clean([offer(p, "PLN") for p in ["1230", "1", "1240", "1250", "1260"]])
    assert [result.counted for result in cleaned] == [True, False, True, True, True]
    assert cleaned[1].is_outlier
    assert cleaned[1].reason == "outlier: 1,00 PLN is far below the median 1 240,00 PLN"


def test_an_outlier_in_another_currency_is_shown_in_both():
    cleaned = clean([offer(p, "PLN") for p in ["1", "1240", "1249", "1260"]], "EUR")
    assert cleaned[0].reason == "outlier: 1,00 PLN (0,23 EUR) is far below the median 289,42 EUR"


def test_a_far_higher_offer_is_an_outlier_too():
    cleaned = clean([offer("100"), offer("105"), offer("110"), offer("500")], "EUR")
    assert cleaned[3].reason == "outlier: 500,00 EUR is far above the median 107,50 EUR"


@pytest.mark.parametrize(
    ("prices", "flagged"),
    [
        (["1"], []),  # alone, nothing to compare with
        (["1", "1200"], ["1"]),  # below median/3
        (["350", "100"], []),
        (["1", "1200", "1240"], ["1"]),
        (["500", "1200", "1240"], []),  # 500 is above 1200/3
        (["100", "100", "301"], ["301"]),  # above median×3
        (["100", "100", "300"], []),
        (["1", "1", "1200", "1240", "1250"], ["1", "1"]),  # a few baits: the median rule still sees them
        # Tukey's fences with four or more prices: 60 is inside median/3 but far outside the fences
        (["100", "102", "104", "60", "106", "108"], ["60"]),
        (["100", "102", "104", "80", "106", "108"], []),  # outside the fences, but within 25% of the median
        # identical prices make the IQR 0: one a little cheaper is a competitor, not an outlier
        (["99", "100", "100", "100", "100"], []),
        (["70", "100", "100", "100", "100"], ["70"]),
        (["100", "100", "100", "100", "130"], ["130"]),
    ],
)
def test_outlier_rules(prices, flagged):
    assert outliers(prices) == flagged


def test_out_of_stock_offers_are_ignored_and_never_outliers():
    cleaned = clean([offer("1", in_stock=False), offer("1200"), offer("1240"), offer("1250")])
    assert cleaned[0] == EvaluatedOffer(
        "s", D("1"), "PLN", False, D("1.00"), False, False, "out of stock", None, "the product's currency"
    )
    assert all(result.counted for result in cleaned[1:])


def test_offers_are_converted_to_the_target_currency_in_cents():
    cleaned = clean([offer("1249", "PLN"), offer("300"), offer("7500", "CZK"), offer("290", "eur")], "EUR")
    assert [result.converted_price for result in cleaned] == [
        D("290.47"),
        D("300.00"),
        D("300.00"),
        D("290.00"),
    ]
    assert [result.currency for result in cleaned] == ["PLN", "EUR", "CZK", "EUR"]
    assert all(result.counted for result in cleaned)


def test_an_offer_without_currency_is_in_the_bare_currency_given():
    (result,) = clean([offer("100", None)], "CZK")
    assert (result.converted_price, result.currency_assumed) == (D("100.00"), "the product's currency")


def test_never_in_the_target_currency_by_default():
    (result,) = clean_competitors([offer("1249", None)], currency="EUR", rates=RATES)
    assert (result.counted, result.reason, result.converted_price) == (False, "no currency", None)


def test_an_unknown_currency_is_not_counted():
    cleaned = clean([offer("100", "XYZ"), offer("100", "XYZ", in_stock=False)])
    assert (cleaned[0].counted, cleaned[0].is_outlier, cleaned[0].reason) == (
        False,
        False,
        "unknown currency XYZ",
    )
    assert cleaned[0].converted_price is None
    assert cleaned[1].reason == "out of stock"


@pytest.mark.parametrize(
    ("price", "currency", "reason"),
    [
        ("0", None, "not a usable price: 0"),
        ("-5", None, "not a usable price: -5"),
        ("NaN", None, "not a usable price: NaN"),
        ("0.01", "CZK", "not a usable price: 0,01 CZK is less than 0,01 EUR"),
    ],
)
def test_unusable_prices_are_not_counted(price, currency, reason):
    cleaned = clean([offer(price, currency), offer("100")], "EUR")
    assert (cleaned[0].counted, cleaned[0].is_outlier, cleaned[0].reason) == (False, False, reason)
    assert cleaned[1].counted


def test_to_json_is_plain_json():
    result = clean([offer("1E+3", "PLN", seller=None)], "EUR")[0]
    assert json.loads(json.dumps(result.to_json())) == {
        "seller": None,
        "price": "1000",
        "currency": "PLN",
        "in_stock": True,
        "converted_price": "232.56",
        "counted": True,
        "is_outlier": False,
        "reason": None,
        "marketplace": None,
        "currency_assumed": None,
    }


def test_no_offers_give_no_results():
    assert clean([]) == []


offers = st.builds(
    CompetitorOffer,
    seller=st.none() | st.sampled_from(["a", "b", "c"]),
    price=st.integers(min_value=-100, max_value=10_000_000).map(lambda n: D(n).scaleb(-2)),
    currency=st.none() | st.sampled_from(["EUR", "PLN", "CZK", "XYZ"]),
    in_stock=st.booleans(),
    marketplace=st.none() | st.sampled_from(["amazon_de", "allegro_pl", "etsy"]),
)


@settings(deadline=None)
@given(st.lists(offers, max_size=12), st.sampled_from(["EUR", "PLN"]))
def test_cleaning_invariants(given_offers, currency):
    cleaned = clean(given_offers, currency)
    assert cleaned == clean(given_offers, currency)  # deterministic
    assert len(cleaned) == len(given_offers)
    for source, result in zip(given_offers, cleaned, strict=True):
        assert (result.seller, result.price, result.in_stock) == (
            source.seller,
            source.price,
            source.in_stock,
        )
        if not source.in_stock:
            assert not result.is_outlier
            assert not result.counted
            assert result.reason == "out of stock"
        if result.counted:
            assert result.reason is None
            assert result.converted_price is not None
            assert result.converted_price.as_tuple().exponent == -2
        else:
            assert result.reason
        assert result.is_outlier == (result.reason or "").startswith("outlier: ")
    # Cleaning never drops every usable offer: the one at the median is never an outlier.
    if any(result.counted or result.is_outlier for result in cleaned):
        assert any(result.counted for result in cleaned)


class TestMarketplaces:
    def test_offers_seen_elsewhere_do_not_count_unless_the_profile_says_so(self):
        offers = [
            offer("1249", "PLN", marketplace="allegro_pl"),
            offer("300", "EUR", marketplace="amazon_de"),
        ]
        mine, theirs = on_amazon_de(offers)[1], on_amazon_de(offers)[0]
        assert (mine.counted, theirs.counted, theirs.reason) == (True, False, "seen on Allegro")
        assert theirs.converted_price is None  # not converted: it cannot count on Amazon.de
        assert all(result.counted for result in on_amazon_de(offers, other_marketplaces=True))

    def test_an_offer_naming_no_marketplace_was_seen_on_the_source(self):
        (result,) = on_amazon_de([offer("1249", "PLN")], seen_on="allegro_pl")
        assert (result.marketplace, result.reason) == ("allegro_pl", "seen on Allegro")
        (unknown,) = on_amazon_de([offer("1249", "PLN")])
        assert (unknown.marketplace, unknown.reason) == (None, "seen on an unknown marketplace")

    def test_another_countrys_offer_is_converted_through_net_prices(self):
        (result,) = on_amazon_de([offer("1249", "PLN", marketplace="allegro_pl")], other_marketplaces=True)
        assert result.converted_price == D("281.02")  # 1 249 / 1.23 = 1 015.45 PLN, / 4.30, × 1.19
        assert result.conversion == (
            "= 1 015,45 PLN net of VAT 23% (PL) = 236,15 EUR net at 4,30 PLN/EUR (rates of 2026-11-20)"
            " = 281,02 EUR with VAT 19% (DE)"
        )

    def test_an_offer_of_the_same_country_converts_at_the_rate_only(self):
        (result,) = on_amazon_de([offer("1249", "PLN", marketplace="ebay_de")], other_marketplaces=True)
        assert result.converted_price == D("290.47")
        assert result.conversion == "= 290,47 EUR at 4,30 PLN/EUR (rates of 2026-11-20)"

    def test_a_bare_number_takes_its_marketplaces_currency_then_the_bare_one(self):
        allegro, unknown = on_amazon_de(
            [offer("1249", marketplace="allegro_pl"), offer("1249")], other_marketplaces=True
        )
        assert (allegro.currency, allegro.currency_assumed) == ("PLN", "the currency of Allegro")
        assert (unknown.currency, unknown.currency_assumed) == ("PLN", "the currency of source allegro")
        assert allegro.converted_price == D("281.02")  # never 1 249 EUR
        (amazon,) = on_amazon_de([offer("300", marketplace="amazon_de")])
        assert (amazon.currency, amazon.converted_price) == ("EUR", D("300.00"))

    def test_out_of_stock_comes_before_where_it_was_seen(self):
        (result,) = on_amazon_de([offer("1249", "PLN", marketplace="allegro_pl", in_stock=False)])
        assert result.reason == "out of stock"


@pytest.mark.parametrize(
    ("url", "marketplace"),
    [
        ("https://allegro.pl/oferta/x-1", "allegro_pl"),
        ("https://www.amazon.de/dp/B08", "amazon_de"),
        ("http://m.ebay.de/itm/1", "ebay_de"),
        ("https://www.kaufland.de/product/1/", "kaufland_de"),
        ("https://www.amazon.pl/dp/1", "amazon_pl"),
        ("allegro.pl/oferta/1", "allegro_pl"),
        ("https://www.amazon.co.uk/dp/1", None),
        ("https://example.com", None),
        ("https://[::1", None),
        ("", None),
        (None, None),
    ],
)
def test_the_marketplace_of_a_url(url, marketplace):
    assert marketplace_from_url(url) == marketplace


@pytest.mark.parametrize(
    ("value", "marketplace"),
    [
        ("amazon_de", "amazon_de"),
        (" Allegro ", "allegro_pl"),
        ("amazon.de", "amazon_de"),
        ("https://www.ebay.de/itm/1", "ebay_de"),
        ("Etsy", "etsy"),
        ("  ", None),
        (None, None),
    ],
)
def test_a_marketplace_as_an_offer_names_it(value, marketplace):
    assert normalize_marketplace(value) == marketplace


HOSTS = [
    "www.amazon.de", "allegro.pl", "M.EBAY.DE", "kaufland.de.", "amazon", "user@ebay.de", "ebay.de:443",
    "[::1]", "shop.example.com", "",
]  # fmt: skip


def _by_urlsplit(url: str) -> str | None:
    """marketplace_from_url as it was, every URL through urlsplit: the fast path must agree."""
    text = url.strip()
    if not text:
        return None
    try:
        host = urlsplit(text if "//" in text else f"//{text}").hostname
    except ValueError:
        return None
    labels = (host or "").rstrip(".").split(".")
    if len(labels) < 2:
        return None
    candidate = f"{labels[-2]}_{labels[-1]}"
    return candidate if candidate in MARKETPLACES else None


@given(
    st.sampled_from(["https://", "http://", "HTTPS://", "", "//", "ftp://"]),
    st.sampled_from(HOSTS),
    st.text(alphabet="/?#:@.-aZ9 %\\[]\t", max_size=12),
)
def test_the_plain_url_fast_path_reads_the_host_as_urlsplit_does(scheme, host, rest):
    url = scheme + host + rest
    assert marketplace_from_url(url) == _by_urlsplit(url)
