"""Text keys for matching Vietnamese names: with or without diacritics, any case or spacing."""

from __future__ import annotations

import re
import unicodedata

_SPACES = re.compile(r"\s+")
_NON_ALNUM = re.compile(r"[^0-9a-z ]+")
_COMBINING = re.compile("[\u0300-\u036f]+")  # the combining diacritical marks block (all Mn)


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
