"""Recognise report column headers from the catalogue's vocabulary.

Offices write the template's headers with or without diacritics, in any case, with line breaks,
a unit suffix in parentheses or the usual abbreviations (CBCC, TTHC, DVCTT, KHKT, CĐS). Headers are
folded to plain words, abbreviations expanded, then matched exactly or by word overlap.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache, cached_property, lru_cache

from geo.text import fold
from schemas.catalogue import Catalogue, Indicator, ReportField

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
# Headers that name only a part of an indicator's figures ("Tử số | Mẫu số | Tỷ lệ (%)" under a
# group heading that names the indicator, or "Tỷ lệ (%)" right after its numerator and
# denominator), folded; "%" alone folds to nothing and is read as a rate too.
PARTS = {
    "tu so": "numerator",
    "numerator": "numerator",
    "mau so": "denominator",
    "denominator": "denominator",
    "ty le": "value",
    "ti le": "value",
    "ty le phan tram": "value",
    "gia tri": "value",
    "rate": "value",
}
_PART_SUFFIX = re.compile(r"^(.+?) (" + "|".join(sorted(PARTS, key=len, reverse=True)) + r")$")


def normalise_header(text: object) -> str:
    """Header text as plain words: folded, unit suffixes dropped, abbreviations expanded."""
    return "" if text is None else _normalised(str(text))


@lru_cache(maxsize=1 << 16)
def _normalised(text: str) -> str:
    """Memoised: every file of a province repeats its template's texts (headings, notes)."""
    plain = fold(_PARENS.sub(" ", text))
    return _ABBREV.sub(lambda m: ABBREVIATIONS[m.group(1)], plain).strip()


@dataclass(frozen=True)
class Vocabulary:
    exact: dict[str, str]  # normalised header → column id
    words: tuple[tuple[frozenset[str], str], ...]  # word sets for overlap matching
    # an indicator's own field ids and its id → (numerator, denominator, value) field ids
    parts_of: dict[str, tuple[str | None, str | None, str | None]] = field(default_factory=dict)
    names: tuple[tuple[frozenset[str], tuple], ...] = ()  # indicator name words → its parts
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
        grouped = self._grouped(norm)
        if grouped:
            return grouped
        tokens = frozenset(norm.split())
        if len(tokens & self._known_words) < 0.75 * len(tokens):
            return None  # no overlap score can reach 0.75 (a unit's name in a data row)
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

    @cached_property
    def _known_words(self) -> frozenset[str]:
        """Every word of the overlap vocabulary: a bound on what any overlap score can be."""
        return frozenset().union(*(words for words, _ in self.words))

    def _grouped(self, norm: str) -> str | None:
        """A group heading stacked on a part ("Tỷ lệ CBCC có máy tính Tử số"): the part's field."""
        m = _PART_SUFFIX.match(norm)
        if not m:
            return None
        parts = self.indicator_parts(m.group(1))
        return (
            parts[("numerator", "denominator", "value").index(PARTS[m.group(2)])] if parts else None
        )

    def indicator_parts(self, text: object) -> tuple[str | None, str | None, str | None] | None:
        """The (numerator, denominator, value) fields of the indicator a group heading names:
        by its name or one of its own fields, or by words all found in one indicator's name
        ("Tỷ lệ CBCC có máy tính" in "Tỷ lệ cán bộ, công chức cấp xã có máy tính ...")."""
        norm = normalise_header(text)
        if not norm:
            return None
        found = self.parts_of.get(norm) or self.parts_of.get(self.match(text) or "")
        if found:
            return found
        tokens = frozenset(norm.split())
        if len(tokens) < 3:
            return None
        within = {parts for words, parts in self.names if tokens <= words}
        return within.pop() if len(within) == 1 else None


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
    parts_of = _parts_of(catalogue)
    names = tuple(
        (frozenset(normalise_header(name).split()), parts_of[ind.id])
        for ind in catalogue
        for name in (ind.name_vi, ind.name_en)
    )
    return Vocabulary(exact, words, parts_of, names)


def stated_field(ind: Indicator) -> ReportField | None:
    """The column of the rate an indicator's report states: its value field, or for a percent
    built from counts, an unnamed one that only read_parts assigns ("Tỷ lệ (%)" beside or under
    the counts), so that validation compares it with them (rule stated_value_mismatch)."""
    if ind.value is not None or not ind.is_percent or ind.numerator is None:
        return ind.value
    return _unnamed_rate(ind.id)


@cache
def _unnamed_rate(indicator_id: str) -> ReportField:
    return ReportField(f"{indicator_id}__stated", "Tỷ lệ (%)", "Rate (%)", (), False)


def _parts_of(catalogue: Catalogue) -> dict[str, tuple[str | None, str | None, str | None]]:
    """Field ids that name one indicator only (not a denominator two indicators share)."""
    owners: dict[str, set[str]] = {}
    for ind in catalogue:
        for f in ind.fields:
            owners.setdefault(f.id, set()).add(ind.id)
    out = {}
    for ind in catalogue:
        trio = (ind.numerator, ind.denominator, stated_field(ind))
        parts = tuple(f.id if f else None for f in trio)
        out[ind.id] = parts
        out.update({normalise_header(name): parts for name in (ind.name_vi, ind.name_en)})
        out.update({f.id: parts for f in ind.fields if len(owners[f.id]) == 1})
    return out


@lru_cache(maxsize=4096)  # the same few header texts in every file
def part_named(text: object) -> str | None:
    """'numerator', 'denominator' or 'value' for a header naming only a part ("Tỷ lệ (%)", "%")."""
    if text is None:
        return None
    raw = str(text).strip()
    norm = normalise_header(raw)
    if not norm:
        return "value" if "%" in raw else None
    return PARTS.get(norm.removesuffix(" %").strip())


def read_parts(
    columns: dict[int, str], header: list[list[object]], catalogue: Catalogue
) -> dict[int, str]:
    """A wide table's columns with each part-only header read as its indicator's field.

    Under a group heading that names an indicator, "Tử số | Mẫu số | Tỷ lệ (%)" are that
    indicator's numerator, denominator and stated rate; in a one-row header, a "Tỷ lệ (%)" or "%"
    right after an indicator's numerator and denominator is its stated rate, which validation
    compares with them (rule stated_value_mismatch) instead of leaving it unread."""
    if "indicator" in columns.values():
        return columns  # the long shape: the parts are its own columns
    vocab = vocabulary(catalogue)
    lower, upper = header[-1], header[0] if len(header) > 1 else []
    out = dict(columns)
    for j, cell in enumerate(lower):
        part = part_named(cell)
        if part is None or out.get(j) not in (None, *PARTS.values()):
            continue
        parts = vocab.indicator_parts(upper[j]) if j < len(upper) else None
        if parts is None and part == "value":
            parts = _rate_beside(out, j, vocab)
        field_id = parts[("numerator", "denominator", "value").index(part)] if parts else None
        if field_id and field_id not in out.values():
            out[j] = field_id
    return out


def _rate_beside(columns: dict[int, str], j: int, vocab: Vocabulary):
    """The indicator whose numerator and denominator are the two columns left of column j."""
    left = {columns.get(j - 1), columns.get(j - 2)}
    for parts in map(vocab.parts_of.get, left - {None}):
        if parts and parts[2] and {parts[0], parts[1]} == left:
            return parts
    return None


@cache
def indicator_names(catalogue: Catalogue) -> dict[str, str]:
    """Normalised indicator ids and names (vi, en) → indicator id, for the long shape."""
    out: dict[str, str] = {}
    for ind in catalogue:
        for name in (ind.id, ind.name_vi, ind.name_en):
            out[normalise_header(name)] = ind.id
    return out
