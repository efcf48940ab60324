"""The reporting period a report's title states, in the phrasing Vietnamese offices use.

Titles mix the results being reported with the plan for the next period ("Báo cáo kết quả 6
tháng đầu năm và phương hướng, nhiệm vụ 6 tháng cuối năm 2026"): only the results part decides;
the plan part may only lend its year when the results part names none. A cut-off date
("tính đến ngày 30/6/2026") names a half by its month; a place-and-date line ("Huế, ngày 15 tháng
6 năm 2026") is the signing date and names nothing.

The lake's periods are half-years (`2026-H1`). A title that names another kind of period is read
as that period's own code (`2026` for a year report, `2026-Q2` for a quarter, `2026-9M` for nine
months), and one that names a period that cannot be told as `?`: none equals a landing folder's
period, so validation quarantines its rows as `period_mismatch` with the reason `period_note`
gives, never accepting them silently as a half-year. A title that names no period at all leaves
the folder's period to apply.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from geo.text import fold

UNCLEAR = "?"

# Patterns on folded text (lower case, no diacritics, punctuation as spaces: "30/6/2026" → "30 6 2026").
_Y = r"(20\d\d)"
_DATE = rf"(?:ngay )?(\d{{1,2}}) (?:thang )?(\d{{1,2}}) (?:nam )?{_Y}"
_CUTOFF = re.compile(
    rf"\b(?:tinh den|den het|den|tai thoi diem|thoi diem|tinh toi|toi)(?: het)? (?:{_DATE}"
    rf"|thang (\d{{1,2}}) (?:nam )?{_Y})"
)
_ANY_DATE = re.compile(rf"\b{_DATE}\b")
_ROMAN = {"i": 1, "ii": 2, "iii": 3, "iv": 4}
_NUM = r"(iv|iii|ii|i|[1-4])"
# (kind, pattern): the part of the year each names; group "n" the number, group "y" the year.
_MENTIONS = (
    ("code", re.compile(rf"\b{_Y} h([12])\b")),
    ("code_rev", re.compile(rf"\bh([12]) {_Y}\b")),
    ("half", re.compile(rf"\b(?:6|06|sau) thang (dau|cuoi)(?: nam)?(?: {_Y})?")),
    ("half", re.compile(rf"\bnua (dau|cuoi)(?: nam)?(?: {_Y})?")),
    ("term", re.compile(rf"\b(?:ky|dot) {_NUM}\b(?: nam)?(?: {_Y})?")),
    ("quarter", re.compile(rf"\bquy {_NUM}\b(?: nam)?(?: {_Y})?")),
    ("months", re.compile(rf"\b(3|03|9|09|ba|chin) thang(?: dau)?(?: nam)?(?: {_Y})?")),
    ("year", re.compile(rf"\b(?:ca nam|nam) {_Y}\b")),
)
# What starts the plan for the next period, once a period has been named.
_PLAN = re.compile(r"\b(phuong huong|ke hoach|nhiem vu|du kien|muc tieu)\b")
# Words that make "năm 2026" a report's period rather than a mention in passing.
_REPORT_WORDS = re.compile(r"\b(bao cao|ky|ca nam|tong ket|ket qua|so lieu)\b")
# Lines that cite another document ("Căn cứ Kế hoạch số 45/KH-UBND năm 2025"): not this report's.
_CITATION = re.compile(
    r"^(can cu|kinh gui|(thuc hien|theo|tai) (cong van|van ban|ke hoach|quyet dinh|chi thi))\b"
)
_WORDS_OF_NUMBERS = {"ba": 3, "chin": 9}


@dataclass(frozen=True)
class PeriodReading:
    period: (
        str | None
    )  # '2026-H1'; '2026' a year; '2026-Q2'; '?' cannot be told; None: year missing
    reason: str  # bilingual, for logs and tests
    half: str | None = None  # 'H1'/'H2' when the half is known but the year is not written


def _mentions(text: str) -> list[tuple[int, int, str, str | None]]:
    """(start, end, part, year) of each period named, in order; matched spans are not re-read."""
    found = []
    taken = [False] * len(text)
    for kind, pattern in _MENTIONS:
        for m in pattern.finditer(text):
            if any(taken[m.start() : m.end()]):
                continue
            taken[m.start() : m.end()] = [True] * (m.end() - m.start())
            found.append((m.start(), m.end(), *_part(kind, m)))
    return sorted(found)


def _part(kind: str, m: re.Match) -> tuple[str, str | None]:
    g = m.groups()
    match kind:
        case "code":
            return f"H{g[1]}", g[0]
        case "code_rev":
            return f"H{g[0]}", g[1]
        case "half":
            return ("H1" if g[0] == "dau" else "H2"), g[1]
        case "term":
            n = _ROMAN.get(g[0]) or int(g[0])
            return (f"H{n}" if n <= 2 else UNCLEAR), g[1]
        case "quarter":
            return f"Q{_ROMAN.get(g[0]) or int(g[0])}", g[1]
        case "months":
            return f"{_WORDS_OF_NUMBERS.get(g[0]) or int(g[0])}M", g[1]
    return "year", g[0]


@lru_cache(maxsize=4096)  # title lines repeat in every file of a province
def read_period(text: object) -> PeriodReading | None:
    """The period a title or period cell states, with why; None when it names no period."""
    if text is None:
        return None
    folded = fold(str(text))
    if _CITATION.match(folded):
        return None
    cutoff = _cutoff(folded)
    folded = _ANY_DATE.sub(" ", _CUTOFF.sub(" ", folded))  # dates name no period but a cut-off's
    mentions = _mentions(folded)
    if not mentions:
        if cutoff:
            year, half = cutoff
            return PeriodReading(f"{year}-{half}", f"tính đến / as of: {half} {year}")
        return None
    plan = _PLAN.search(folded, mentions[0][1])
    results = [m for m in mentions if plan is None or m[0] < plan.start()]
    planned = [m for m in mentions if m not in results]
    parts = {p for _, _, p, _ in results if p != "year"}
    years = {y for _, _, _, y in results if y}
    if not years:  # "kết quả 6 tháng đầu năm và phương hướng ... 6 tháng cuối năm 2026"
        years = {y for _, _, _, y in planned if y} or ({cutoff[0]} if cutoff else set())
    said = " ".join(str(text).split())[:120]
    if len(parts) > 1 or UNCLEAR in parts:
        return PeriodReading(UNCLEAR, f"nêu nhiều kỳ / names several periods: {said}")
    if len(years) > 1:
        return PeriodReading(UNCLEAR, f"nêu nhiều năm / names several years: {said}")
    year = next(iter(years), None)
    if not parts:
        if not _REPORT_WORDS.search(folded) and len(folded.split()) > 4:
            return None  # "năm 2026" in passing, not a report's period
        return PeriodReading(
            year, f"báo cáo năm, không phải nửa năm / a year report, not a half-year: {said}"
        )
    part = parts.pop()
    if part in ("H1", "H2"):
        if cutoff and cutoff[1] != part:
            return PeriodReading(
                UNCLEAR, f"kỳ và ngày tính đến khác nhau / period and cut-off date disagree: {said}"
            )
        if year is None:
            return PeriodReading(None, f"không ghi năm / the year is not written: {said}", part)
        return PeriodReading(f"{year}-{part}", f"{part} {year}")
    code = f"{year}-{part}" if year else UNCLEAR
    return PeriodReading(code, f"không phải nửa năm / not a half-year ({part}): {said}")


def _cutoff(folded: str) -> tuple[str, str] | None:
    """(year, half) of a cut-off date: months 1–6 are the first half (reports are due in June)."""
    m = _CUTOFF.search(folded)
    if not m:
        return None
    _, month, year, month_only, year_only = m.groups()
    month, year = int(month or month_only), year or year_only
    if not 1 <= month <= 12:
        return None
    return year, "H1" if month <= 6 else "H2"


def parse_period(text: object) -> str | None:
    """'2026-H1', 'Kỳ báo cáo: 6 tháng đầu năm 2026' → '2026-H1'; None when no period is named
    (or only a half without its year: the landing folder's year applies)."""
    reading = read_period(text)
    return reading.period if reading else None


def title_period(lines: Iterable[str]) -> str | None:
    """The period of a title block: the first line that names a half-year with its year; else a
    half on one line read with the year another line writes ("Kết quả 6 tháng đầu năm" /
    "năm 2026"); else the first line that names another period (a year report, a quarter)."""
    lines = list(lines)
    readings = [r for line in lines if (r := read_period(line))]
    for reading in readings:
        if reading.period and reading.period[-2:] in ("H1", "H2"):
            return reading.period
    if any(r.half for r in readings):
        joined = parse_period(" ".join(t for t in lines if not _CITATION.match(fold(t))))
        if joined and joined[-2:] in ("H1", "H2"):
            return joined
    return next((r.period for r in readings if r.period), None)


def period_note(reported: str | None) -> str:
    """Why a stated period that is not a half-year is not the folder's, for the quarantine."""
    if reported == UNCLEAR:
        return "không xác định được kỳ báo cáo / the report's period cannot be told"
    if reported and re.fullmatch(r"20\d\d", reported):
        return "báo cáo năm, không phải nửa năm / a year report, not a half-year"
    if reported and re.fullmatch(r"20\d\d-(Q\d|\d+M)", reported):
        return "kỳ khác nửa năm / a period other than a half-year"
    return ""
