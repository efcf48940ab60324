"""Numbers as Vietnamese offices write them: "85,5", "85,5%", "1.234", "1.234,5", "85.5", "-"."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

# A cell that says "no figure": empty, a dash, "x" (Vietnamese tables mark not-applicable so).
_NO_FIGURE = {"", "-", "--", "–", "—", "x", "n/a", "na", "k/c", "không có số liệu"}
_DIGITS = re.compile(r"^[+-]?\d+$")
_DOT_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(\.\d{3})+$")
_COMMA_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(,\d{3}){2,}$")
_DECIMAL = re.compile(r"^[+-]?(\d+)?\.\d+$")


@dataclass(frozen=True, slots=True)
class ParsedNumber:
    value: float | None  # None: no figure (empty or a dash)
    is_percent: bool = False  # written with a % sign
    error: str | None = None  # the cell holds text that is not a number


NO_FIGURE = ParsedNumber(None)


class PercentCell(float):
    """A number its cell's format shows as a percent: 0.923 under `0.0%` is shown, and meant,
    as 92.3 %. Set by readers.py from the number format; read here as the percent shown."""

    __slots__ = ()

    @property
    def shown(self) -> float:
        return float(f"{float(self) * 100:.12g}")  # 0.923 → 92.3, not 92.30000000000001


def parse_number(cell: object) -> ParsedNumber:
    """Read one cell as a number, the way a Vietnamese office means it.

    The decimal separator is the comma ("85,5"); a dot before exactly three digits is a
    thousands separator ("1.234" = 1234); with both, the last one is the decimal mark.
    A text that is not a number is returned with `error` set, never raised.
    """
    if cell is None:
        return NO_FIGURE
    if isinstance(cell, bool):
        return ParsedNumber(None, error=str(cell))
    if isinstance(cell, PercentCell):
        shown = cell.shown
        return ParsedNumber(shown, is_percent=True) if math.isfinite(shown) else NO_FIGURE
    if isinstance(cell, int | float):
        value = float(cell)
        return ParsedNumber(value) if math.isfinite(value) else ParsedNumber(None, error=str(cell))
    text = str(cell).strip().replace("\u00a0", "").replace(" ", "").replace("\u202f", "")
    if text.lower() in _NO_FIGURE:
        return NO_FIGURE
    is_percent = text.endswith("%")
    if is_percent:
        text = text[:-1]
    number = _to_float(text)
    if number is None or not math.isfinite(number):
        return ParsedNumber(None, error=str(cell)[:200])
    return ParsedNumber(number, is_percent=is_percent)


def _to_float(text: str) -> float | None:
    if _DIGITS.match(text):
        return float(text)
    if "," in text and "." in text:
        decimal = "," if text.rfind(",") > text.rfind(".") else "."
        thousands = "." if decimal == "," else ","
        text = text.replace(thousands, "").replace(decimal, ".")
    elif "," in text:
        text = text.replace(",", "") if _COMMA_THOUSANDS.match(text) else text.replace(",", ".")
    elif _DOT_THOUSANDS.match(text):
        text = text.replace(".", "")
    if not (_DIGITS.match(text) or _DECIMAL.match(text) or re.match(r"^[+-]?\d+\.\d*$", text)):
        return None
    try:
        return float(text)
    except ValueError:
        return None


def format_cell(cell: object) -> str | None:
    """The cell as text for the raw table: what the office typed, numbers without float noise."""
    if cell is None:
        return None
    if isinstance(cell, PercentCell):  # as the office saw it: "92.3%"
        return f"{cell.shown:.12g}%"
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    text = str(cell)
    return text if text.strip() else None
