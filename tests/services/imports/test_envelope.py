"""The four body shapes, and the envelope errors that name what was expected."""

from __future__ import annotations

import re

import pytest

from services.imports.envelope import InvalidEnvelope, TooManyProducts, parse_import_body


def parse(body, max_products=100):
    return parse_import_body(body, default_source="allegro", max_products=max_products)


class TestShapes:
    def test_envelope_with_options(self):
        request = parse({"source": "Allegro ", "options": {"marketplaces": ["ebay_de"], "publish": True},
                         "products": [{"source_id": "1"}]})  # fmt: skip
        assert request.source == "allegro"
        assert request.options.marketplaces == ["ebay_de"]
        assert request.options.publish is True
        assert request.products == [{"source_id": "1"}]
        assert request.envelope == {
            "source": "Allegro ",
            "options": {"marketplaces": ["ebay_de"], "publish": True},
        }

    def test_original_envelope(self):
        request = parse(
            {"source": "allegro", "event_type": "product.import", "data": {"products": [{"a": 1}]}}
        )
        assert request.products == [{"a": 1}]
        assert request.event_type == "product.import"

    def test_bare_array_takes_the_default_source(self):
        request = parse([{"source_id": "1"}, "junk"])
        assert request.source == "allegro"
        assert request.products == [{"source_id": "1"}, "junk"]  # junk fails later, alone

    def test_single_product(self):
        body = {"source_id": "1", "title": "Mouse"}
        assert parse(body).products == [body]

    def test_single_product_names_its_source(self):
        assert parse({"source": "ebay", "source_id": "1", "title": "Mouse"}).source == "ebay"

    def test_unknown_options_are_kept(self):
        assert parse({"products": [{}], "options": {"language": "de"}}).options.model_extra == {
            "language": "de"
        }


class TestErrors:
    @pytest.mark.parametrize(
        ("body", "message"),
        [
            ({}, "expected a JSON object"),
            (None, "got null"),
            (True, "got boolean"),
            ([], "no products"),
            ({"products": "x"}, '"products" must be an array of products, got string'),
            ({"data": {"items": []}}, '"data" must be an object with a "products" array'),
            ({"source": 5, "products": [{}]}, '"source" must be a non-empty string'),
            ({"source": "x" * 51, "products": [{}]}, "at most 50"),
            ({"products": [{}], "options": {"callback_url": "not a url"}}, '"options.callback_url"'),
            ({"products": [{}], "options": {"marketplaces": "amazon_de"}}, '"options.marketplaces"'),
            (
                {"products": [{}], "options": {"callback_headers": {"Host": "x"}}},
                "set by the callback itself",
            ),
            ({"products": [{}], "options": {"callback_headers": {"webhook-id": "1"}}}, "set by the callback"),
            ({"products": [{}], "options": {"callback_headers": {"X-A": "a\r\nX-B: b"}}}, "must be one line"),
            (
                {"products": [{}], "options": {"callback_headers": {"bad name": "v"}}},
                "not an HTTP header name",
            ),
            (
                {"products": [{}], "options": {"callback_headers": {f"X-{n}": "v" for n in range(11)}}},
                '"options.callback_headers"',
            ),
        ],
    )
    def test_invalid_envelope(self, body, message):
        with pytest.raises(InvalidEnvelope, match=re.escape(message)):
            parse(body)

    def test_too_many_products(self):
        with pytest.raises(TooManyProducts, match="the limit is 2"):
            parse([{}, {}, {}], max_products=2)
