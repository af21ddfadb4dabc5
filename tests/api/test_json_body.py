"""JSON bodies: strict JSON, bounded nesting, bounded number of values; messages a client can act on."""

from __future__ import annotations

import orjson
import pytest

from api.json_body import InvalidJson, TooManyJsonValues, parse_json
from tests.support.factories import product

NOT_A_NUMBER = "malformed JSON: NaN and Infinity are not JSON numbers"


class TestParseJson:
    def test_a_full_batch_of_products_is_taken(self):
        raw = orjson.dumps({"products": [product(i) for i in range(10_000)]})  # 19 MB
        assert len(parse_json(raw, max_depth=32)["products"]) == 10_000

    @pytest.mark.parametrize(("levels", "taken"), [(1, True), (32, True), (33, False), (5_000, False)])
    def test_nesting(self, levels, taken):
        raw = b'{"a": ' * (levels - 1) + b"[]" + b"}" * (levels - 1)
        if taken:
            assert parse_json(raw, max_depth=32) is not None
        else:
            with pytest.raises(InvalidJson, match=r"^JSON nested deeper than 32 levels"):
                parse_json(raw, max_depth=32)

    def test_scalars_have_no_depth(self):
        assert parse_json(b'"text"', max_depth=4) == "text"

    @pytest.mark.parametrize(
        ("raw", "message"),
        [
            (b'{"a": NaN}', f"{NOT_A_NUMBER} (line 1 column 7): send a number, or null"),
            (b'{"a":\n -Infinity}', f"{NOT_A_NUMBER} (line 2 column 3): send a number, or null"),
            (b'{"a": "\xc3\x28"}', "malformed JSON: the body is not valid UTF-8 (byte 0xC3 at offset 7): "
                                   "send JSON encoded as UTF-8"),
            (b"[1,]", "malformed JSON: trailing comma is not allowed (line 1 column 3)"),
        ],
    )  # fmt: skip
    def test_messages_say_what_and_where(self, raw, message):
        with pytest.raises(InvalidJson) as error:
            parse_json(raw, max_depth=32)
        assert str(error.value) == message

    def test_millions_of_values_are_refused_before_parsing(self):
        with pytest.raises(TooManyJsonValues):
            parse_json(b"[" + b"1.5," * 2_000_001 + b"1]", max_depth=32)
        # The same count in a small body is harmless: not counted.
        assert len(parse_json(b"[" + b"0," * 1_000_000 + b"0]", max_depth=32)) == 1_000_001
