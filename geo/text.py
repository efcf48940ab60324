"""Text keys for matching Vietnamese names: with or without diacritics, any case or spacing."""

from __future__ import annotations

import math
import re
import unicodedata

_SPACES = re.compile(r"\s+")
_NON_ALNUM = re.compile(r"[^0-9a-z ]+")
_COMBINING = re.compile("[\u0300-\u036f]+")  # the combining diacritical marks block (all Mn)
# Control, zero-width and line-separator characters a typed name or code may carry unseen.
INVISIBLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028\u2029\ufeff]")
_CODE_TEXT = re.compile(r"\d{1,5}(?:\.0*)?")


def fold(text: str) -> str:
    """Lower-case, strip diacritics (đ → d), collapse spaces; keeps word boundaries.

    "  Phường  PHÚ Xuân " → "phuong phu xuan". Used for headers and names alike, so a
    report typed without diacritics or in capitals matches the official spelling.
    """
    text = unicodedata.normalize("NFD", str(text)).replace("đ", "d").replace("Đ", "D")
    text = _COMBINING.sub("", text)  # Vietnamese marks, in C; other scripts' marks below
    if not text.isascii():
        text = "".join(ch for ch in text if unicodedata.category(ch) != "Mn")
    text = _NON_ALNUM.sub(" ", text.lower().replace("\u00a0", " "))
    return _SPACES.sub(" ", text).strip()


def key(text: str) -> str:
    """`fold` without spaces: "Phú  Xuân" and "PhuXuan" give the same key "phuxuan"."""
    return fold(text).replace(" ", "")


def unit_code(value: object) -> str | None:
    """A unit code as typed → the register's 5 digits: "05977", 5977, "5977", 5977.0,
    " 05977 ", "'05977" → "05977". Anything else (None, NaN, text, negative or fractional
    numbers, 6+ digits) → None. The one normaliser: boundaries, class lists and reports agree."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, float):
        if not math.isfinite(value) or not value.is_integer():
            return None
        value = int(value)
    text = INVISIBLE.sub("", str(value)).strip().strip("'\"‘’`").strip()
    if not _CODE_TEXT.fullmatch(text):
        return None
    return text.split(".")[0].zfill(5)
