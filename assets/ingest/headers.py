"""Recognise report column headers from the catalogue's vocabulary.

Offices write the template's headers with or without diacritics, in any case, with line breaks,
a unit suffix in parentheses or the usual abbreviations (CBCC, TTHC, DVCTT, KHKT, CĐS). Headers are
folded to plain words, abbreviations expanded, then matched exactly or by word overlap.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache

from geo.text import fold
from schemas.catalogue import Catalogue

# Abbreviations offices use in headers, expanded before matching (folded forms).
ABBREVIATIONS = {
    "cbcc": "can bo cong chuc",
    "cb cc": "can bo cong chuc",
    "tthc": "thu tuc hanh chinh",
    "dvctt": "dich vu cong truc tuyen",
    "dvc": "dich vu cong",
    "khkt": "khoa hoc ky thuat",
    "khcn": "khoa hoc cong nghe",
    "dmst": "doi moi sang tao",
    "cds": "chuyen doi so",
    "gd": "giao dich",
    "ns": "ngan sach",
    "sl": "so luong",
    "ubnd": "uy ban nhan dan",
}
_ABBREV = re.compile(r"\b(" + "|".join(sorted(ABBREVIATIONS, key=len, reverse=True)) + r")\b")
_PARENS = re.compile(r"\([^)]*\)|\[[^\]]*\]")

# Columns that identify the unit, the province, the period, and the long shape's columns.
STRUCTURAL = {
    "unit_code": [
        "mã đơn vị",
        "mã xã",
        "mã đvhc",
        "mã đơn vị hành chính",
        "mã số xã",
        "mã xã phường",
        "unit code",
        "code",
        "ma_xa",
        "mã",
    ],
    "unit_name": [
        "tên đơn vị",
        "tên đơn vị (xã, phường)",
        "tên xã",
        "tên xã, phường",
        "tên xã phường",
        "xã, phường",
        "xã/phường/đặc khu",
        "tên đơn vị hành chính",
        "đơn vị",
        "đơn vị báo cáo",
        "unit",
        "unit name",
        "commune",
        "ward",
    ],
    "province": ["tỉnh", "tỉnh/thành phố", "tỉnh, thành phố", "tên tỉnh", "province"],
    "period": ["kỳ báo cáo", "kỳ", "period", "reporting period"],
    "indicator": ["chỉ tiêu", "mã chỉ tiêu", "tên chỉ tiêu", "indicator", "indicator id"],
    "numerator": ["tử số", "numerator"],
    "denominator": ["mẫu số", "denominator"],
    "value": ["giá trị", "số liệu", "kết quả", "value", "tỷ lệ (%)", "tỷ lệ"],
}
IGNORED = {"stt", "tt", "so tt", "so thu tu", "ghi chu", "note", "notes"}


def normalise_header(text: object) -> str:
    """Header text as plain words: folded, unit suffixes dropped, abbreviations expanded."""
    if text is None:
        return ""
    plain = fold(_PARENS.sub(" ", str(text)))
    return _ABBREV.sub(lambda m: ABBREVIATIONS[m.group(1)], plain).strip()


@dataclass(frozen=True)
class Vocabulary:
    exact: dict[str, str]  # normalised header → column id
    words: tuple[tuple[frozenset[str], str], ...]  # word sets for overlap matching
    # Every file of a national set repeats the same few dozen header and title texts: each is
    # matched once per process, which takes header matching off the ingest's critical path.
    _memo: dict[object, str | None] = field(default_factory=dict, compare=False, repr=False)

    def match(self, text: object) -> str | None:
        """The column id a header names, or None. Overlap matching needs one clear winner."""
        try:
            return self._memo[text]
        except KeyError:
            pass
        except TypeError:  # unhashable: not a header
            return None
        if len(self._memo) > 100_000:
            self._memo.clear()
        found = self._memo[text] = self._match(text)
        return found

    def _match(self, text: object) -> str | None:
        norm = normalise_header(text)
        if not norm or norm in IGNORED:
            return None
        hit = self.exact.get(norm)
        if hit:
            return hit
        tokens = frozenset(norm.split())
        scored: dict[str, float] = {}
        for words, col in self.words:
            score = len(tokens & words) / len(tokens | words)
            scored[col] = max(scored.get(col, 0.0), score)
        ranked = sorted(scored.items(), key=lambda kv: kv[1], reverse=True)
        if not ranked or ranked[0][1] < 0.75:
            return None
        if len(ranked) > 1 and ranked[1][1] >= ranked[0][1] - 0.05:
            return None  # two columns fit equally well: do not guess
        return ranked[0][0]


@cache
def vocabulary(catalogue: Catalogue) -> Vocabulary:
    variants: list[tuple[str, str]] = []
    for field_id, f in catalogue.report_fields().items():
        variants += [(h, field_id) for h in f.headers]
    for col, headers in STRUCTURAL.items():
        variants += [(h, col) for h in headers]
    for ind in catalogue:  # the long shape may name the indicator by id in its own column
        variants.append((ind.id, ind.id))
    exact: dict[str, str] = {}
    for header, col in variants:
        exact.setdefault(normalise_header(header), col)
    words = tuple((frozenset(h.split()), c) for h, c in exact.items() if len(h.split()) >= 2)
    return Vocabulary(exact, words)


@cache
def indicator_names(catalogue: Catalogue) -> dict[str, str]:
    """Normalised indicator ids and names (vi, en) → indicator id, for the long shape."""
    out: dict[str, str] = {}
    for ind in catalogue:
        for name in (ind.id, ind.name_vi, ind.name_en):
            out[normalise_header(name)] = ind.id
    return out
