"""Check GTINs (EAN-13, EAN-8, UPC-A as GTIN-12, GTIN-14): length and check digit.

Rules:

* Spaces and hyphens between digits are dropped ("590 1234 12345 7" → "5901234123457"); any other
  character makes the code "not digits" and it is kept as given (trimmed).
* 8, 12, 13 or 14 digits; leading zeros count and are kept.
* The last digit is the check digit: weigh the other digits 3, 1, 3, 1… from the right, then
  check = (10 − sum mod 10) mod 10. For EAN-13 that is 1, 3, 1, 3… from the left over the first 12.

A wrong code is never dropped: it is returned with valid=False and the reason, for a seller to fix.
No code at all gives valid=None.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

GTIN_LENGTHS = (8, 12, 13, 14)
_SEPARATORS_RE = re.compile(r"[\s-]+")


@dataclass(frozen=True, slots=True)
class GtinCheck:
    code: str | None
    valid: bool | None
    reason: str | None = None


def check_gtin(code: str | None) -> GtinCheck:
    """The code (digits only when it is digits) and whether its length and check digit are right."""
    if code is None or not code.strip():
        return GtinCheck(None, None)
    given = code.strip()
    digits = _SEPARATORS_RE.sub("", given)
    if not (digits.isascii() and digits.isdigit()):
        return GtinCheck(given, False, "not digits")
    if len(digits) not in GTIN_LENGTHS:
        return GtinCheck(digits, False, f"8, 12, 13 or 14 digits expected, got {len(digits)}")
    expected = gtin_check_digit(digits[:-1])
    if int(digits[-1]) != expected:
        return GtinCheck(digits, False, f"check digit should be {expected}")
    return GtinCheck(digits, True)


def gtin_check_digit(body: str) -> int:
    """The check digit for the digits before it: "590123412345" → 7."""
    total = sum(int(digit) * (3 if i % 2 == 0 else 1) for i, digit in enumerate(reversed(body)))
    return (10 - total % 10) % 10
