"""Money is exact: Decimal pounds with two places, or integer pence. Never float arithmetic."""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Context, Decimal, InvalidOperation

PENNY = Decimal("0.01")
PENCE_SLACK = Decimal("0.001")  # pence: how far from a whole penny an amount may be and still be in pence

_PLAIN = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")
_GROUPED = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d*)?$")
_SPACED = re.compile(r"^\d{1,3}( \d{3})+(\.\d*)?$")


def to_decimal(value: object) -> Decimal:
    """A number read from a cell (int, float text, Decimal) as an exact Decimal.

    Floats come from cell XML as the shortest repr of a double; ``repr`` gives back the
    text the writer put there (``1234.56``), so no binary noise enters the sum.
    """
    if isinstance(value, Decimal):
        return value
    if isinstance(value, bool):
        raise TypeError("a yes/no is not a number")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, str):
        return Decimal(value)
    raise TypeError(f"not a number: {value!r}")


def round_pence(value: Decimal) -> Decimal:
    """To the nearest penny, half up. Exact for any amount a cell can hold (Excel's largest
    number is about 1e308): the default context's 28 digits would refuse £1e30."""
    digits = max(28, value.adjusted() + 3) if value.is_finite() else 28
    return value.quantize(PENNY, rounding=ROUND_HALF_UP, context=Context(prec=digits))


def pence_places(value: Decimal) -> bool:
    """Whether an amount is in whole pence: within a thousandth of a penny of one (12.50,
    12.500 and the 19.989999999999998 a spreadsheet stores for 19.99 are; 20000.123 is not).
    The workbook's Checks sheet tests the same (expr.not_pence), where every program's
    ROUND works on doubles."""
    pence = value * 100
    return abs(pence - pence.to_integral_value(rounding=ROUND_HALF_UP)) <= PENCE_SLACK


def to_pence(value: Decimal) -> int:
    return int(round_pence(value) * 100)


def format_gbp(value: Decimal | None) -> str:
    if value is None:
        return "blank"
    q = round_pence(value)
    sign = "-" if q < 0 else ""
    return f"{sign}£{abs(q):,.2f}"


class TextNumber:
    """Outcome of reading a number someone typed as text."""

    __slots__ = ("certain", "value")

    def __init__(self, value: Decimal | None, certain: bool) -> None:
        self.value = value
        self.certain = certain


def parse_text_number(text: str) -> TextNumber:
    """Understand ``£1,200.50``, ``1,200``, `` 300 ``, ``(500)``, ``-£20``.

    ``certain`` is False when the text has digits but its meaning is ambiguous
    (``1.200,50``, ``1,20``, ``12 00``, ``£1.2k``); value is None when it is not a number.
    """
    s = text.replace("\u00a0", " ").strip() if text else ""
    if not s:
        return TextNumber(None, True)
    # A space may follow the sign or the £, or separate thousands (1 200 000); any other
    # space ("12 00") makes the meaning unclear.
    s = re.sub(r"(?<=[£(+-]) +", "", s)
    if " " in s:
        if not _SPACED.match(s.lstrip("£(+-").rstrip(")")):
            return TextNumber(None, False)
        s = s.replace(" ", "")
    negative = False
    if s.startswith("(") and s.endswith(")"):
        negative, s = True, s[1:-1]
    if s.startswith("-"):
        negative, s = (not negative), s[1:]
    if s.startswith("£"):
        s = s[1:]
    if s.startswith("-") and not negative:
        negative, s = True, s[1:]
    if s.upper().endswith("GBP"):
        s = s[:-3]
    if _PLAIN.match(s) or _GROUPED.match(s):
        try:
            d = Decimal(s.replace(",", ""))
        except InvalidOperation:  # pragma: no cover - regex guards this
            return TextNumber(None, False)
        exponent = d.as_tuple().exponent
        if isinstance(exponent, int) and exponent < -2:  # fractions of a penny: unclear
            return TextNumber(None, False)
        return TextNumber(-d if negative else d, True)
    has_digit = any(ch.isdigit() for ch in s)
    return TextNumber(None, not has_digit)
