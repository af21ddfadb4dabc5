"""Parsing a JSON request body, with the rules a client can act on.

- JSON is RFC 8259 JSON, in UTF-8: `NaN`, `Infinity`, a byte order mark, invalid UTF-8 or a lone
  surrogate escape are refused, each with a message that says what to send instead and where the
  problem is.
- Arrays and objects nest at most `max_depth` levels (the whole body is level 1), so nothing that
  walks the data later can recurse too deep. The check walks the parsed data once, without recursion.
- A body over 2 MB may hold at most `MAX_JSON_VALUES` values (counted, before parsing, as its commas,
  brackets and braces, those inside strings too): 20 MB of `[],[],...` would become 7 million Python
  objects, 640 MB and seconds of CPU. A full batch of 10,000 scraped products has about 600,000.
"""

from __future__ import annotations

from typing import Any

import orjson

MAX_JSON_VALUES = 2_000_000
COUNT_VALUES_ABOVE_BYTES = 2 * 1024 * 1024  # smaller bodies cannot grow past a few dozen MB


class InvalidJson(ValueError):
    """The body is not JSON we take; the message says why, for the client."""


class TooManyJsonValues(InvalidJson):
    """Too big a body by its number of values (a 413, where InvalidJson is a 422)."""


def parse_json(raw: bytes, *, max_depth: int) -> Any:
    if len(raw) > COUNT_VALUES_ABOVE_BYTES:
        values = raw.count(b",") + raw.count(b"[") + raw.count(b"{")
        if values > MAX_JSON_VALUES:
            raise TooManyJsonValues(
                f"JSON with more than {MAX_JSON_VALUES:,} values (arrays, objects and their items): "
                "split the batch"
            )
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidJson(_explain(raw, exc, max_depth)) from None
    if _deeper_than(data, max_depth):
        raise InvalidJson(_too_deep(max_depth))
    return data


def _too_deep(max_depth: int) -> str:
    return f"JSON nested deeper than {max_depth} levels of arrays and objects: flatten the data"


def _explain(raw: bytes, exc: orjson.JSONDecodeError, max_depth: int) -> str:
    if "depth" in exc.msg or "recursion" in exc.msg:
        return _too_deep(max_depth)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as bad:
        byte = raw[bad.start : bad.start + 1].hex().upper()
        return (
            f"malformed JSON: the body is not valid UTF-8 (byte 0x{byte} at offset {bad.start}): "
            "send JSON encoded as UTF-8"
        )
    where = f"line {exc.lineno} column {exc.colno}"
    at = text[exc.pos : exc.pos + 8]
    if at.startswith(("NaN", "Infinity")):
        return f"malformed JSON: NaN and Infinity are not JSON numbers ({where}): send a number, or null"
    return f"malformed JSON: {exc.msg} ({where})"


def _deeper_than(value: Any, max_depth: int) -> bool:
    """Whether arrays and objects nest more than `max_depth` levels (orjson gives exact types)."""
    if type(value) is not dict and type(value) is not list:
        return False
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        for child in node.values() if type(node) is dict else node:
            if type(child) is dict or type(child) is list:
                if depth >= max_depth:
                    return True
                stack.append((child, depth + 1))
    return False
