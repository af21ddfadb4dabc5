"""Parse the prices scrapers send: numbers, or text such as "1 299,99 zł", "1,299.99", "PLN 1299".

Rules for text:

* Currency: a symbol or code before or after the number ("zł", "zl", "PLN", "€", "EUR", "$", "USD",
  "£", "GBP", "Kč", "CZK"; any letter case) is returned as an ISO code, or None when there is none.
* Thousands are grouped by spaces (also U+00A0 and U+202F), apostrophes, "." or ",".
* "," versus ".": when both occur, the last one is the decimal separator. When only one kind occurs,
  it is the decimal separator unless it is followed by groups of exactly three digits: "12,5" and
  "0,99" are decimals, "1,299" is 1299 and "1.299.000" is 1299000.
* "1299.-" and "1299,-" (no minor units) mean 1299.

The amount must be a single, finite number above zero and at most 100,000,000; it is rounded to
cents (half up). Anything else raises InvalidPrice, whose message is shown to sellers.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

MAX_AMOUNT = Decimal(100_000_000)
CENT = Decimal("0.01")

CURRENCY_CODES = {
    "zł": "PLN", "zl": "PLN", "pln": "PLN",
    "€": "EUR", "eur": "EUR",
    "$": "USD", "usd": "USD",
    "£": "GBP", "gbp": "GBP",
    "kč": "CZK", "czk": "CZK",
}  # fmt: skip

# A currency must not be glued to letters, so "zl" in "zloty" is not one.
_CURRENCY = r"(?<![^\W\d_])(?:" + "|".join(map(re.escape, CURRENCY_CODES)) + r")(?![^\W\d_])"
# Digit groups joined by separators; a space only joins a following group of exactly three digits,
# so "10 20" stays two numbers while "1 299" is one.
_NUMBER = r"\d+(?:(?:[.,'’]|[\x20\u00a0\u202f\u2009](?=\d{3}(?!\d)))\d+)*"

_PRICE_RE = re.compile(
    rf"""
    (?P<minus_before_currency>[-−]\s*)?
    (?:(?P<prefix>{_CURRENCY})\s*)?
    (?P<minus>[-−]\s*)?
    (?P<number>{_NUMBER})
    (?:[.,][-–]{{1,2}})?        # "1299.-": no minor units
    (?:\s*(?P<suffix>{_CURRENCY}))?
    """,
    re.VERBOSE | re.IGNORECASE,
)
_NUMBER_RE = re.compile(_NUMBER)
_GROUP_SEPARATOR_RE = re.compile(r"[.,'’\x20\u00a0\u202f\u2009]")
_NON_FINITE_RE = re.compile(r"[-+]?(?:nan|inf|infinity)", re.IGNORECASE)


class InvalidPrice(ValueError):
    """The value is not one usable price; the message says why in words a seller understands.
    `no_number`: the text holds no number at all ("zapytaj sprzedawcę"): no price was given, rather
    than a wrong one."""

    def __init__(self, message: str, *, no_number: bool = False) -> None:
        super().__init__(message)
        self.no_number = no_number


@dataclass(frozen=True, slots=True)
class ParsedPrice:
    amount: Decimal
    currency: str | None


def parse_price(value: object) -> ParsedPrice:
    """Turn a number or scraped price text into a positive amount in cents and its currency, if any."""
    if value is None:
        raise InvalidPrice("is required")
    # bool is an int, but true is never a price; spelled as in the JSON the seller sent.
    if isinstance(value, bool):
        raise InvalidPrice(f"not a number: {str(value).lower()}")
    if isinstance(value, str):
        return _parse_text(value)
    if isinstance(value, int):
        return ParsedPrice(_checked_amount(Decimal(value)), None)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidPrice(f"must be a finite number, got {value}")
        # repr() gives the shortest text for the float: 0.1 stays 0.1, not 0.1000000000000000055…
        return ParsedPrice(_checked_amount(Decimal(repr(value))), None)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise InvalidPrice(f"must be a finite number, got {value}")
        return ParsedPrice(_checked_amount(value), None)
    raise InvalidPrice(f"not a number: {value!r}")


def _parse_text(text: str) -> ParsedPrice:
    text = text.strip()
    if not text:
        raise InvalidPrice("is empty")
    match = _PRICE_RE.fullmatch(text)
    amount = _to_decimal(match["number"]) if match else None
    if match is None or amount is None:
        raise _unreadable(text)
    currencies = {CURRENCY_CODES[code.lower()] for code in match.group("prefix", "suffix") if code}
    if len(currencies) > 1:
        raise InvalidPrice(f"has two currencies: {_quoted(text)}")
    if match["minus_before_currency"] or match["minus"]:
        amount = -amount
    return ParsedPrice(_checked_amount(amount), currencies.pop() if currencies else None)


def _to_decimal(number: str) -> Decimal | None:
    """'1 299,99' → 1299.99; None when the digit groups are not thousands ("1,2,3")."""
    last_mark_at = max(number.rfind("."), number.rfind(","))
    if last_mark_at >= 0 and _is_decimal_mark(number, last_mark_at):
        whole, fraction = number[:last_mark_at], number[last_mark_at + 1 :]
    else:
        whole, fraction = number, "0"
    groups = _GROUP_SEPARATOR_RE.split(whole)
    if len(groups) > 1 and (len(groups[0]) > 3 or any(len(group) != 3 for group in groups[1:])):
        return None
    return Decimal(f"{''.join(groups)}.{fraction}")


def _is_decimal_mark(number: str, at: int) -> bool:
    mark, fraction = number[at], number[at + 1 :]
    # Only thousands repeat ("1.299.000") or come before more groups ("1.299 000").
    if number.count(mark) > 1 or not fraction.isdigit():
        return False
    if ("," if mark == "." else ".") in number:  # "1.299,99": the last of both kinds
        return True
    # Alone, it groups thousands only before exactly three digits, and never after a bare 0 ("0,999").
    return len(fraction) != 3 or number[:at] == "0"


def _checked_amount(amount: Decimal) -> Decimal:
    if amount <= 0:
        raise InvalidPrice(f"must be a positive number, got {_shown(amount)}")
    if amount > MAX_AMOUNT:
        raise InvalidPrice(f"is too large: {_shown(amount)} (at most 100,000,000)")
    cents = amount.quantize(CENT, rounding=ROUND_HALF_UP)
    if cents == 0:
        raise InvalidPrice(f"must be at least 0.01, got {_shown(amount)}")
    return cents


def _unreadable(text: str) -> InvalidPrice:
    """Say what is wrong with text that is not a price, as precisely as cheaply possible."""
    numbers = _NUMBER_RE.findall(text)
    if len(numbers) > 1:
        return InvalidPrice(f"not a single price: {_quoted(text)}")
    if numbers:
        return InvalidPrice(f"not a price: {_quoted(text)}")
    if _NON_FINITE_RE.fullmatch(text):
        return InvalidPrice(f"must be a finite number, got {_quoted(text)}")
    return InvalidPrice(f"not a number: {_quoted(text)}", no_number=True)


def _shown(amount: Decimal) -> str:
    """-15.0 → '-15'; a huge amount in short scientific form rather than hundreds of digits."""
    plain = f"{amount.normalize():f}"
    return plain if len(plain) <= 20 else f"{amount:.3e}"


def _quoted(text: str, limit: int = 60) -> str:
    return f"'{text}'" if len(text) <= limit else f"'{text[:limit]}…'"
