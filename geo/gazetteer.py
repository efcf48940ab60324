"""The gazetteer: resolve a unit as a report writes it (a code, a name, an old name) to a current code.

Sources: the current register of `geo.units` (34 provinces, 3,321 units since 1 July 2025) and an
old → new crosswalk, which says for each of the ~10,000 units from before 1 July 2025 the
current unit(s) it went into: by default the one that ships with `vietnamadminunits`
(`converter_2025.json`, with the old districts); with DXLAKE_CROSSWALK, the dvhcvn/20250701 one
(`read_crosswalk`; its files carry no licence, so the product never ships them), which then
decides old → new, splits included, and adds its spellings ("Xã Ealy"/"Xã Ea Ly") and the old
units the package lacks. The old districts always come from the package's old register.

Order of resolution, never a silent guess:

1. a current code ("05977", 5977, 5977.0) → ``code``; if a name is given as well and it clearly
   names another unit (or the province disagrees), the row is ``ambiguous`` with both listed;
2. an old name with its old district, written in the name ("Phường 1, Quận 3", "Xã A - H. B",
   "Thị trấn C, huyện D, tỉnh E") or in the province text ("Huyện D, Tỉnh E") → the old unit
   of that district, through the crosswalk: ``old_name`` when it went into one unit (a current
   namesake never wins), ``ambiguous`` with all its parts when it was split. A district that
   none of the name's old units lay in turns a name-only answer into ``ambiguous``;
3. a current name, full ("Phường Phú Xuân"), bare ("Phú Xuân") or abbreviated ("P. Phú Xuân"),
   narrowed by the province when given → ``name``;
   A province that no longer exists (Tỉnh Hải Dương) whose old unit of that name went elsewhere
   makes it ``ambiguous`` with both;
4. a name from before 1 July 2025 → ``old_name`` when every old unit of that name (in the
   province) went wholly into one current unit, ``ambiguous`` (with the current candidates)
   when it was split or the name is shared by old units that went different ways;
5. otherwise ``unknown``, with up to three near misses (first the district's, when written).

Names are compared on folded keys (no diacritics, case, spacing or punctuation, see `geo.text`)
when typed without diacritics: "Xa Cam Giang" fits both Xã Cẩm Giang and Xã Cẩm Giàng (Hải Phòng)
and is ambiguous. Typed with diacritics, a name must be spelt as the register spells it, up to
the variants that are one spelling: tone placement ("Thuỷ"/"Thủy", "Hoá"/"Hóa"), final y/i
("Quy"/"Qui", "Sỹ"/"Sĩ", "Ea Ly"/"Ealy"), "Đắk"/"Đăk"/"Đak", "NT" for "nông trường", ' or ’ or
none, a last Roman numeral ("Hòa Tú II"/"Hòa Tú 2"). Other diacritics are another name ("Xã Phước
Thạnh" is not Xã Phước Thành): unknown, with the namesake offered among the near misses; within
an old district written with the name, they are the spelling of the other crosswalk ("Phó
Bảng"/"Phố Bảng") when no unit there is spelt as typed. An abbreviated type ("X. Thanh An")
drops the only diacritic of some names: the rest of the address tells whether it is accented.
"""

from __future__ import annotations

import difflib
import json
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache, cached_property
from pathlib import Path
from typing import Any, NamedTuple

import polars as pl

from geo.text import INVISIBLE, fold, key, unit_code
from geo.units import PACKAGE_DATA, legacy_units, official_provinces, official_units

CONVERTER_PATH = PACKAGE_DATA / "converter_2025.json"

MATCH_KINDS = ("code", "name", "old_name", "ambiguous", "unknown")

_MAX_TEXT = 300  # longer than any unit or province name; longer input is unknown
_MAX_IN_MESSAGE = 10

# --- text -------------------------------------------------------------------------------------

_TONES = "\u0300\u0301\u0303\u0309\u0323"  # huyền, sắc, ngã, hỏi, nặng (NFD combining marks)
# Old and new tone placement ("Hóa"/"Hoá", "Thủy"/"Thuỷ"): put the tone on the second vowel.
_TONE_PLACE = re.compile(rf"([ou])([{_TONES}])([aey])(?![\u0302\u0306\u031b])")


def _tone_on_second_vowel(m: re.Match[str]) -> str:
    """hóa → hoá (a function: a template string would be parsed again on every call)."""
    return m.group(1) + m.group(3) + m.group(2)


_LETTER_DIGIT = re.compile(r"(?<=[^\W\d_])(?=\d)|(?<=\d)(?=[^\W\d_])")
_WORD = re.compile(r"[^\W_]+")


def _tokens(text: str) -> tuple[str, ...]:
    """Lower-case words with their diacritics (canonical tone placement), numbers without
    leading zeros: "Phường 01" → ("phường", "1"), "P.Phú Xuân" → ("p", "phú", "xuân")."""
    s = unicodedata.normalize("NFD", text.lower())
    s = unicodedata.normalize("NFC", _TONE_PLACE.sub(_tone_on_second_vowel, s))
    words = _WORD.findall(_LETTER_DIGIT.sub(" ", s))
    words = [str(int(w)) if w.isascii() and w.isdigit() else _Y_AS_I.sub(_y_to_i, w) for w in words]
    # "Đắk", "Đăk", "Đak": one word ("water") in Central Highlands names, spelt every way
    words = ["đăk" if w in _DAK else w for w in words]
    # "Xã Hòa Tú II" / "Xã Hòa Tú 2": the two crosswalks number units either way
    if len(words) > 1 and words[-1] in _ROMAN:
        words[-1] = _ROMAN[words[-1]]
    # "Thị trấn NT Liên Sơn", "TT N.T Phong Hải": the state-farm towns (thị trấn nông trường)
    for i, w in enumerate(words):
        if w == "nt" or (w == "n" and words[i + 1 : i + 2] == ["t"]):
            words[i : i + (1 if w == "nt" else 2)] = ["nông", "trường"]
    return tuple(words)


# "Quy"/"Qui", "Mỹ"/"Mĩ", "Sỹ"/"Sĩ", "Vỹ"/"Vĩ": a final y after a consonant is spelt i.
_Y_AS_I = re.compile(r"^(qu|[bcdđghklmnprstvx]{1,2})([yýỳỷỹỵ])$")
_Y_TO_I = str.maketrans("yýỳỷỹỵ", "iíìỉĩị")
_ROMAN = {"i": "1", "ii": "2", "iii": "3", "iv": "4"}
_DAK = {"đắk", "đăk", "đak", "đák", "dắk", "dăk", "dak"}


def _y_to_i(m: re.Match[str]) -> str:
    return m.group(1) + m.group(2).translate(_Y_TO_I)


# "Ea Ly"/"Ealy": run together, a final y after a consonant is no longer a word's last letter.
_Y_AFTER_CONSONANT = re.compile(r"(?<=[bcdđghklmnprstvx])[yýỳỷỹỵ]")


def _spelt(tokens: Iterable[str]) -> str:
    """The words run together, as typed with their diacritics ("ealy" → "eali")."""
    return _Y_AFTER_CONSONANT.sub(lambda m: m.group().translate(_Y_TO_I), "".join(tokens))


def _fkey(tokens: Iterable[str]) -> str:
    """Folded key: no diacritics, no spaces ("phuongphuxuan")."""
    return key(_spelt(tokens))


@cache
def _base(ch: str) -> str:
    return fold(ch)


def _compatible(typed: str, official: str) -> bool:
    """True when `typed` is `official` with some or all diacritics left out: a letter typed
    without marks matches any marked form of it, a marked letter must match exactly."""
    if len(typed) != len(official):
        return False
    return all(
        a == b or (a.isascii() and _base(b) == a) for a, b in zip(typed, official, strict=True)
    )


def _starts_with(tokens: tuple[str, ...], prefix: tuple[str, ...]) -> bool:
    return len(tokens) > len(prefix) and all(
        _compatible(t, p) for t, p in zip(tokens, prefix, strict=False)
    )


# Type words and their abbreviations, as reports write them before a unit name.
_UNIT_PREFIXES: tuple[tuple[tuple[str, ...], str], ...] = (
    (("thị", "trấn"), "thị trấn"),
    (("tt",), "thị trấn"),
    (("t", "t"), "thị trấn"),
    (("ttr",), "thị trấn"),
    (("đặc", "khu"), "đặc khu"),
    (("đk",), "đặc khu"),
    (("đ", "k"), "đặc khu"),
    (("phường",), "phường"),
    (("p",), "phường"),
    (("ph",), "phường"),
    (("xã",), "xã"),
    (("x",), "xã"),
    (("huyện",), "huyện"),  # the five island districts that had no communes
)
_NOISE_PREFIXES = (("ubnd",), ("ủy", "ban", "nhân", "dân"))
# The abbreviations that drop the type word's diacritics ("X. Thanh An" for "Xã Thanh An").
_ABBREVIATED_TYPES = {("x",), ("p",), ("ph",), ("tt",), ("t", "t"), ("ttr",), ("đk",), ("đ", "k")}
# District types before 1 July 2025 and their abbreviations ("Q.3", "H. Phú Vang", "TX Sơn Tây").
_DISTRICT_PREFIXES: tuple[tuple[tuple[str, ...], str], ...] = (
    (("thành", "phố"), "thành phố"),
    (("thị", "xã"), "thị xã"),
    (("quận",), "quận"),
    (("huyện",), "huyện"),
    (("tp",), "thành phố"),
    (("t", "p"), "thành phố"),
    (("tx",), "thị xã"),
    (("t", "x"), "thị xã"),
    (("q",), "quận"),
    (("h",), "huyện"),
)
# "Xã A, huyện B, tỉnh C", "Xã A - H. B", "Xã A (huyện B)": the parts of an address.
_SEPARATOR = re.compile(r"(\s*[,;()]\s*|\s+[-–—]\s+)")
# "Xã A huyện B tỉnh C", written without commas: a district or province word after a name.
_PLACE_WORD = re.compile(r"(?i)\s+(?=(?:huyện|quận|thị xã|thành phố|tỉnh)\s+\w)")
_PROVINCE_PREFIXES = (("tỉnh",), ("thành", "phố"), ("tp",), ("t", "p"))
_PROVINCE_ALIASES = {
    "hcm": "79",
    "tphcm": "79",
    "saigon": "79",
    "sg": "79",
    "hn": "01",
    "tphn": "01",
    "brvt": "79",
    "thuathienhue": "46",  # the register already calls the old province "Thành phố Huế"
}


def _split_district(tokens: tuple[str, ...]) -> tuple[str | None, tuple[str, ...]]:
    """("quận", "3") → ("quận", ("3",)); ("h", "phú", "vang") → ("huyện", ("phú", "vang"))."""
    for prefix, district_type in _DISTRICT_PREFIXES:
        if _starts_with(tokens, prefix):
            return district_type, tokens[len(prefix) :]
    return None, tokens


def _district_keys(name: str, aliases: str | None) -> frozenset[str]:
    """The folded keys an old district is written by: full ("quan3"), bare ("3"), and the
    package's aliases (Thành phố Thủ Đức is also written "Quận 9", "Q2")."""
    tokens = _tokens(name)
    keys = {_fkey(tokens), _fkey(_split_district(tokens)[1])}
    for alias in json.loads(aliases) if aliases else ():
        keys.update((alias, _fkey(_split_district(_tokens(alias))[1])))
    return frozenset(k for k in keys if k)


def _pieces(text: str) -> list[tuple[str, str]]:
    """An address cut into (separator, part): "Xã A, huyện B tỉnh C" → [("", "Xã A"),
    (", ", "huyện B"), (" ", "tỉnh C")]. A place word cuts only after two words of a part."""
    cut = _SEPARATOR.split(text)
    pieces: list[tuple[str, str]] = []
    for sep, part in zip(["", *cut[1::2]], cut[0::2], strict=True):
        start = 0
        for m in _PLACE_WORD.finditer(part):
            if len(part[start : m.start()].split()) >= 2:
                pieces.append((sep, part[start : m.start()]))
                sep, start = m.group(), m.end()
        pieces.append((sep, part[start:]))
    return [(sep, part) for sep, part in pieces if part.strip()]


def _has_diacritics(text: str) -> bool:
    return any(ch.isalpha() and not ch.isascii() for ch in text)


def _district_typed(districts: Iterable[str]) -> set[str]:
    """The keys of districts as written: full ("quan3") and bare ("3")."""
    typed = set()
    for text in districts:
        tokens = _tokens(text)
        typed |= {_fkey(tokens), _fkey(_split_district(tokens)[1])}
    typed.discard("")
    return typed


def _split_type(tokens: tuple[str, ...]) -> tuple[str | None, tuple[str, ...]]:
    """("phường", "phú", "xuân") → ("phường", ("phú", "xuân")); no type word → (None, tokens)."""
    for prefix, unit_type in _UNIT_PREFIXES:
        if len(tokens) > len(prefix) and tokens[: len(prefix)] == prefix:
            return unit_type, tokens[len(prefix) :]
    return None, tokens


def _clean_text(value: Any) -> str | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    text = INVISIBLE.sub(" ", str(value)).strip()
    if not text or text.lower() in {"nan", "none", "null", "<na>"}:
        return None
    return text[: _MAX_TEXT + 1]


# --- the dvhcvn crosswalk (DXLAKE_CROSSWALK) ------------------------------------------------

CROSSWALK_SETTING = "DXLAKE_CROSSWALK"  # named in errors: the setting that points at the file


class Crossing(NamedTuple):
    """One old unit as the dvhcvn crosswalk gives it."""

    names: tuple[str, ...]  # as each file spells it ("Xã Ealy", "Xã Ea Ly")
    old_province_code: str | None  # splits.json says; merges.json does not
    targets: tuple[str, ...]  # the current codes it went into


def _crosswalk_rows(document: Any) -> Iterable[tuple[str, str, str | None, str, str, str]]:
    """(old code, old name, old province, new code, new name, new province) of a splits.json
    (old province → old units → new units) or a merges.json (new unit ← old units)."""
    provinces = document["data"]
    if not isinstance(provinces, list) or not provinces:
        raise ValueError("no provinces under 'data'")
    for p in provinces:
        if "level3s" in p:  # splits.json (its level2s, the island districts, are skipped)
            (new_province,) = {s["new_id"] for s in p["splits"]}
            for u in p["level3s"]:
                old = (u["level3_id"], u["name"], p["level1_id"])
                for s in u["splits"]:
                    yield *old, s["new_id"], s["name"], new_province
        else:  # merges.json
            for n in p["level2s"]:
                for o in n["merges"]:
                    yield o["old_id"], o["name"], None, n["level2_id"], n["name"], p["level1_id"]


def _crosswalk_files(path: Path) -> list[Path]:
    """The file itself, or a folder's splits and merges files (dvhcvn's mapping/ folder)."""
    if path.is_dir():
        files = sorted(
            f for f in path.glob("*.json") if {"splits", "merges"} & set(f.stem.split("_"))
        )
        if not files:
            raise ValueError(f"{CROSSWALK_SETTING}: {path} holds no splits or merges JSON file")
        return files
    if not path.is_file():
        raise ValueError(f"{CROSSWALK_SETTING}: {path} does not exist")
    return [path]


def read_crosswalk(path: Path, units: pl.DataFrame) -> dict[str, Crossing]:
    """The dvhcvn/20250701 old → new crosswalk (`mapping/splits.json`, `mapping/merges.json`, or
    a folder holding either or both): old commune code → its names, old province and current
    codes. Both files say the same; read together, an old unit has each file's spelling. A new
    code the register lacks is taken by its name in its province (dvhcvn writes 23737 for Xã
    Ia Mơ, the register 23938). Anything else wrong raises ValueError naming the file."""
    current = set(units["unit_code"])
    by_name = {
        (province, key(name)): code
        for code, name, province in units.select("unit_code", "unit_name", "province_code").rows()
    }
    names: dict[str, dict[str, None]] = {}  # ordered sets
    old_provinces: dict[str, str | None] = {}
    targets: dict[str, set[str]] = {}
    for file in _crosswalk_files(path):
        try:
            rows = list(_crosswalk_rows(json.loads(file.read_text(encoding="utf-8"))))
            for old, name, old_province, new, new_name, new_province in rows:
                if len(old) != 5:
                    continue  # the five island districts without communes: the package's
                _type_of(_tokens(name))  # every old name starts with its type
                if new not in current:
                    new = by_name.get((new_province, key(new_name)))
                    if new is None:
                        raise ValueError(
                            f"{new_name} is no current unit of province {new_province}"
                        )
                names.setdefault(old, {})[name] = None
                old_provinces[old] = old_provinces.get(old) or old_province
                targets.setdefault(old, set()).add(new)
        except (OSError, UnicodeError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ValueError(
                f"{CROSSWALK_SETTING}: {file} is not a dvhcvn 2025-07-01 crosswalk "
                f"(splits.json or merges.json): {type(exc).__name__}: {exc}"
            ) from exc
    return {
        old: Crossing(tuple(names[old]), old_provinces[old], tuple(sorted(targets[old])))
        for old in targets
    }


# --- the result -------------------------------------------------------------------------------


@cache
def _unit_provinces() -> dict[str, str]:
    units = official_units()
    return dict(zip(units["unit_code"], units["province_name"], strict=True))


def _listing(candidates: tuple[tuple[str, str], ...]) -> str:
    provinces = _unit_provinces()
    shown = [
        f"{name} ({code}, {provinces[code]})" if code in provinces else f"{name} ({code})"
        for code, name in candidates[:_MAX_IN_MESSAGE]
    ]
    more = len(candidates) - len(shown)
    return "; ".join(shown) + (f"; … (+{more})" if more > 0 else "")


@dataclass(frozen=True)
class Match:
    """How one (code, name, province) resolved. `candidates` holds (code, full name) pairs: the
    possible units when ambiguous, the near misses when unknown, the unit itself otherwise."""

    unit_code: str | None
    match_kind: str
    candidates: tuple[tuple[str, str], ...] = ()

    @property
    def candidates_text(self) -> str | None:
        """ "19918 Xã Phú Hồ; 19900 Xã Phú Vang", or None when there are none."""
        if not self.candidates:
            return None
        return "; ".join(f"{code} {name}" for code, name in self.candidates)

    @property
    def message_vi(self) -> str:
        listing = _listing(self.candidates)
        if self.match_kind == "code":
            return f"Xác định theo mã đơn vị: {listing}."
        if self.match_kind == "name":
            return f"Xác định theo tên đơn vị hiện hành: {listing}."
        if self.match_kind == "old_name":
            return f"Tên đơn vị trước ngày 01/7/2025; nay thuộc {listing}."
        if self.match_kind == "ambiguous":
            return (
                f"Không xác định được duy nhất đơn vị hành chính; có thể là: {listing}. "
                "Hãy ghi mã đơn vị (5 chữ số) hoặc tên đầy đủ kèm tỉnh, thành phố."
            )
        if self.candidates:
            return f"Không tìm thấy đơn vị hành chính hiện hành; gần giống: {listing}."
        return "Không tìm thấy đơn vị hành chính hiện hành theo mã hoặc tên đã ghi."

    @property
    def message_en(self) -> str:
        listing = _listing(self.candidates)
        if self.match_kind == "code":
            return f"Resolved by unit code: {listing}."
        if self.match_kind == "name":
            return f"Resolved by current unit name: {listing}."
        if self.match_kind == "old_name":
            return f"A unit name from before 1 July 2025; now part of {listing}."
        if self.match_kind == "ambiguous":
            return (
                f"Ambiguous administrative unit; it could be: {listing}. "
                "Give the 5-digit unit code, or the full name with the province."
            )
        if self.candidates:
            return f"No current administrative unit matches; closest: {listing}."
        return "No current administrative unit matches the code or name given."


_UNKNOWN = Match(None, "unknown")


# --- the gazetteer ----------------------------------------------------------------------------


class _Unit(NamedTuple):
    code: str
    name: str
    unit_type: str  # from the name: xã, phường, đặc khu
    province_code: str


class _History(NamedTuple):
    units: list[_OldUnit]  # an old unit's position in this list is its index entry
    full: dict[str, list[_Entry]]
    bare: dict[str, list[_Entry]]
    codes: dict[str, tuple[str, ...]]  # old unit code → current codes


class _OldUnit(NamedTuple):
    name: str
    unit_type: str  # xã, phường, thị trấn, huyện
    old_province_key: str
    province_code: str  # the current province it lies in
    targets: tuple[str, ...]  # current codes it went into
    district_keys: frozenset[str]  # its old district, as written (see _district_keys)


class _Context(NamedTuple):
    province_code: str
    old_province_key: str | None  # when the report named an old province (Tỉnh Hà Giang)


class _Place(NamedTuple):
    """A name cell and province cell read as an address: the unit's name, the old district(s)
    written with it, the province context, and whether the address is typed with diacritics."""

    name: str | None
    districts: tuple[str, ...]
    context: _Context | None
    accented: bool
    only_districts: tuple[str, ...] = ()  # districts that are not also a province's name


class _Name(NamedTuple):
    readings: tuple[tuple[str | None, tuple[str, ...]], ...]  # (unit type or None, name words)
    accented: bool  # typed with diacritics: they must then agree


# An index entry: (position, diacritic key, unit type); position is a code or an old-unit index.
_Entry = tuple[Any, str, str]


def _type_of(tokens: tuple[str, ...]) -> tuple[str, tuple[str, ...]]:
    unit_type, bare = _split_type(tokens)
    if unit_type is None or not bare:
        raise ValueError(f"no unit type in {' '.join(tokens)!r}")
    return unit_type, bare


def _add(index: dict[str, list[_Entry]], key: str, entry: _Entry) -> None:
    index.setdefault(key, []).append(entry)


class Gazetteer:
    """Resolves report units to current codes. Build once (`Gazetteer.default()`), call often:
    each distinct (code, name, province) is resolved once and remembered."""

    def __init__(
        self,
        units: pl.DataFrame,
        provinces: pl.DataFrame,
        legacy: pl.DataFrame,
        converter: dict[str, Any],
        crosswalk: dict[str, Crossing] | None = None,
    ) -> None:
        """`converter`: the package's crosswalk; `crosswalk` (read_crosswalk), when given, is
        the authority for old → new instead (for the old units it lists)."""
        self._units: dict[str, _Unit] = {}
        self._full: dict[str, list[_Entry]] = {}
        self._bare: dict[str, list[_Entry]] = {}
        self._province_keys: dict[str, dict[str, list[str]]] = {}  # province → fkey → codes
        self._all_keys: dict[str, list[str]] = {}
        for code, name, province_code in units.select(
            "unit_code", "unit_name", "province_code"
        ).iter_rows():
            tokens = _tokens(name)
            unit_type, bare = _type_of(tokens)
            self._units[code] = _Unit(code, name, unit_type, province_code)
            full_key, bare_key = _fkey(tokens), _fkey(bare)
            _add(self._full, full_key, (code, _spelt(tokens), unit_type))
            _add(self._bare, bare_key, (code, _spelt(bare), unit_type))
            for k in {full_key, bare_key}:
                self._province_keys.setdefault(province_code, {}).setdefault(k, []).append(code)
                self._all_keys.setdefault(k, []).append(code)

        # Provinces: current names, short names and codes first, then the old ones.
        self._province_names: dict[str, str] = {}
        self._provinces: dict[str, _Context] = {}
        by_key: dict[str, str] = {}
        for code, name, short in provinces.select(
            "province_code", "province_name", "province_short_name"
        ).iter_rows():
            self._province_names[code] = name
            by_key[key(name)] = code
            for text in (name, short, code):
                self._provinces.setdefault(self._province_key(text), _Context(code, None))
        for alias, code in _PROVINCE_ALIASES.items():
            self._provinces.setdefault(alias, _Context(code, None))
        new_of_old = {
            old: by_key[new] for new, olds in converter["DICT_PROVINCE"].items() for old in olds
        }
        for name, old_code, old_key in (
            legacy.select("old_province_name", "old_province_code", "province_key")
            .unique()
            .iter_rows()
        ):
            context = _Context(new_of_old[old_key], old_key)
            for text in (name, old_code):
                self._provinces.setdefault(self._province_key(text), context)

        # Old units and where they went: built on the first name that is not a current one
        # (a run whose reports all use current names never needs them).
        self._legacy_source = (legacy, converter, new_of_old, crosswalk)

        self._memo: dict[tuple[str | None, str | None, str | None], Match] = {}
        self._bigrams: dict[str, list[str]] | None = None  # built on the first national miss

    # -- construction ------------------------------------------------------------------------

    @cached_property
    def _history(self) -> _History:
        """The old (pre-2025) units, their name indexes and the current codes they went into:
        the package's crosswalk, or the dvhcvn one where given (its spellings indexed as well)."""
        legacy, converter, new_of_old, crosswalk = self._legacy_source
        new_code: dict[tuple[str, str], str] = {}  # (province key, converter ward key) → code
        for unit in self._units.values():
            province_key = key(self._province_names[unit.province_code])
            pkey_exact = unit.name.lower().replace(" ", "")
            new_code[(province_key, pkey_exact)] = unit.code
            new_code.setdefault((province_key, key(unit.name)), unit.code)
        targets: dict[str, set[str]] = {}
        for pkey, wards in converter["DICT_PROVINCE_WARD_NO_DIVIDED"].items():
            for ward_key, olds in wards.items():
                for old in olds:
                    targets.setdefault(old, set()).add(new_code[(pkey, ward_key)])
        for pkey, olds in converter["DICT_PROVINCE_WARD_DIVIDED"].items():
            for old, parts in olds.items():
                for part in parts:
                    targets.setdefault(old, set()).add(new_code[(pkey, part["newWardKey"])])

        history = _History([], {}, {}, {})
        crosswalk, unlisted = crosswalk or {}, Crossing((), None, ())
        for old_code, name, district, aliases, pkey, dkey, wkey in legacy.select(
            "old_unit_code",
            "old_unit_name",
            "old_district_name",
            "old_district_alias",
            "province_key",
            "district_key",
            "ward_key",
        ).iter_rows():
            province = new_of_old[pkey]
            crossing = crosswalk.get(old_code or "", unlisted)
            # No province was split in 2025: a target in another province is the crosswalk's
            # error (dvhcvn sends An Giang's Xã Tân Phú to Đồng Tháp); the package answers then.
            crossed = [c for c in crossing.targets if self._units[c].province_code == province]
            went = crossed or targets.get(f"{pkey}_{dkey}_{wkey or ''}")
            if not went:
                continue
            names = (name or district, *crossing.names)  # island districts had no communes
            self._add_old(history, old_code, names, pkey, province, went, district, aliases)
        # Old units the package's register lacks (12 in dvhcvn's): no district known.
        province_keys = dict(legacy.select("old_province_code", "province_key").iter_rows())
        for old_code, crossing in crosswalk.items():
            if old_code in history.codes:
                continue
            pkey = province_keys.get(crossing.old_province_code, "")  # merges.json: unknown
            province = new_of_old.get(pkey) or self._units[crossing.targets[0]].province_code
            went = [c for c in crossing.targets if self._units[c].province_code == province]
            if went:
                self._add_old(history, old_code, crossing.names, pkey, province, went)
        return history

    @staticmethod
    def _add_old(
        history: _History,
        old_code: str | None,
        names: Iterable[str],
        province_key: str,
        province_code: str,
        went: Iterable[str],
        district: str | None = None,
        aliases: str | None = None,
    ) -> None:
        """Index one old unit under each of its spellings (one entry per spelling)."""
        went = tuple(sorted(went))
        district_keys = _district_keys(district, aliases) if district else frozenset()
        spellings: set[str] = set()
        for name in names:
            tokens = _tokens(name)
            if _spelt(tokens) in spellings:
                continue  # "Yên Hoà"/"Yên Hòa": one spelling
            spellings.add(_spelt(tokens))
            unit_type, bare = _type_of(tokens)
            history.units.append(
                _OldUnit(name, unit_type, province_key, province_code, went, district_keys)
            )
            position = len(history.units) - 1
            _add(history.full, _fkey(tokens), (position, _spelt(tokens), unit_type))
            _add(history.bare, _fkey(bare), (position, _spelt(bare), unit_type))
        if old_code:
            history.codes[old_code] = went

    def old_unit_targets(self, old_code: str) -> tuple[str, ...]:
        """The current codes an old unit (by its pre-2025 code) went into, per the gazetteer's
        crosswalk (DXLAKE_CROSSWALK, else the package's); () when it does not know the code."""
        return self._history.codes.get(old_code, ())

    @classmethod
    def default(cls) -> Gazetteer:
        """The gazetteer of the official register with the package's crosswalk (built once).
        A configured lake uses `from_crosswalk(settings.crosswalk)`."""
        return cls.from_crosswalk(None)

    @classmethod
    def from_crosswalk(cls, crosswalk: str | Path | None) -> Gazetteer:
        """The gazetteer with the dvhcvn crosswalk at `crosswalk` (a file or a folder, see
        read_crosswalk) as the authority for old → new; None: the package's (built once each)."""
        return _built(Path(crosswalk).expanduser().resolve() if crosswalk else None)

    # -- provinces ---------------------------------------------------------------------------

    @staticmethod
    def _province_key(text: str) -> str:
        code = unit_code(text)
        if code is not None:
            return code[-2:] if code.startswith("000") else code
        if not any(ch.isalpha() for ch in text):
            return ""
        tokens = _tokens(text)
        for prefix in _PROVINCE_PREFIXES:
            if _starts_with(tokens, prefix):
                tokens = tokens[len(prefix) :]
                break
        return _fkey(tokens)

    def _context(self, text: str | None) -> _Context | None:
        if text is None or len(text) > _MAX_TEXT:
            return None
        found = self._province_key(text)
        context = self._provinces.get(found) if found else None
        if context is None and found:  # "TPHue", "TinhHaGiang": the prefix run into the name
            for prefix in ("thanhpho", "tinh", "tp"):
                if found.startswith(prefix) and found[len(prefix) :] in self._provinces:
                    return self._provinces[found[len(prefix) :]]
        return context

    def resolve_province(self, text: Any) -> str | None:
        """A province as typed (current or pre-2025 name, short name, abbreviation, code) →
        its current 2-digit code: "Thành phố Huế", "TP Huế", "Hue", "46", 46,
        "Tỉnh Thừa Thiên Huế" → "46". Unknown → None."""
        try:
            context = self._context(_clean_text(text))
        except Exception:  # noqa: BLE001 - odd input is unknown, never an error
            return None
        return context.province_code if context else None

    # -- names -------------------------------------------------------------------------------

    def _interpretations(self, text: str, accented_address: bool = False) -> _Name:
        """The readings of a name: as a whole (full or bare name), and with its leading type
        word or abbreviation taken as the unit type. "Xà Bang" is not read as "Xã Bang".
        An abbreviated type word ("X. Thanh An") drops the name's only diacritic: the rest of
        the address (district, province) then tells whether it is typed with diacritics."""
        tokens = _tokens(text)
        for noise in _NOISE_PREFIXES:
            if _starts_with(tokens, noise):
                tokens = tokens[len(noise) :]
        readings: list[tuple[str | None, tuple[str, ...]]] = [(None, tokens)] if tokens else []
        for prefix, unit_type in _UNIT_PREFIXES:
            if _starts_with(tokens, prefix):
                readings.append((unit_type, tokens[len(prefix) :]))
        accented = _has_diacritics(text) or (
            accented_address and any(tokens[: len(a)] == a for a in _ABBREVIATED_TYPES)
        )
        return _Name(tuple(readings), accented)

    @staticmethod
    def _lookup(
        readings: _Name,
        full: dict[str, list[_Entry]],
        bare: dict[str, list[_Entry]],
        keep: Callable[[Any], bool],
        strict: bool = True,
    ) -> set[Any]:
        """Positions whose name fits one of the readings and `keep`. A name typed without
        diacritics fits on its folded key ("Xa Cam Giang": Xã Cẩm Giang and Xã Cẩm Giàng); one
        typed with diacritics must be spelt the same ("Xã Phước Thạnh" is not Xã Phước Thành),
        unless not `strict`."""
        accented = strict and readings.accented
        found: set[Any] = set()
        for unit_type, tokens in readings.readings:
            folded, typed = _fkey(tokens), _spelt(tokens)
            entries = full.get(folded, []) if unit_type is None else []
            entries = entries + [e for e in bare.get(folded, []) if unit_type in (None, e[2])]
            found.update(
                pos for pos, spelt, _ in entries if keep(pos) and (not accented or typed == spelt)
            )
        return found

    def _current(self, readings: _Name, context: _Context | None) -> set[str]:
        province = context.province_code if context else None
        return self._lookup(
            readings,
            self._full,
            self._bare,
            lambda code: province is None or self._units[code].province_code == province,
        )

    def _previous(self, readings: _Name, context: _Context | None, strict: bool = True) -> set[int]:
        """Old units of that name: in the old province named, else in the current province."""
        if context is not None and context.old_province_key is not None:
            old_key = context.old_province_key
            found = self._lookup(
                readings,
                self._history.full,
                self._history.bare,
                lambda i: self._history.units[i].old_province_key == old_key,
                strict,
            )
            if found:
                return found
        province = context.province_code if context else None
        return self._lookup(
            readings,
            self._history.full,
            self._history.bare,
            lambda i: province is None or self._history.units[i].province_code == province,
            strict,
        )

    def _cands(self, codes: Iterable[str]) -> tuple[tuple[str, str], ...]:
        return tuple((c, self._units[c].name) for c in codes)

    def _near_misses(self, text: str, context: _Context | None) -> tuple[tuple[str, str], ...]:
        """Up to three current units the name may have meant: those of the same name spelt with
        other diacritics (current, then old), then the closest folded keys."""
        if len(text) > 100:
            return ()
        readings = self._interpretations(text)
        found: list[str] = sorted(self._current_loose(readings, context))
        for i in sorted(self._previous(readings, context, strict=False)):
            found.extend(c for c in self._history.units[i].targets if c not in found)
        keys = self._province_keys.get(context.province_code, {}) if context else self._all_keys
        for unit_type, tokens in readings.readings:
            typed = unit_type in ("xã", "phường", "đặc khu")
            folded = _fkey(tokens)
            pool = keys if context else self._sharing_bigrams(folded)
            for near in difflib.get_close_matches(folded, pool, n=5, cutoff=0.75):
                for code in keys[near]:
                    if code not in found and (
                        not typed or self._units[code].unit_type == unit_type
                    ):
                        found.append(code)
        return self._cands(found[:3])

    def _sharing_bigrams(self, folded: str, size: int = 60) -> list[str]:
        """The country's name keys sharing the most letter pairs with `folded`: a short list
        for difflib, which is too slow on all 6,000 keys for every unknown name."""
        if self._bigrams is None:
            self._bigrams = {}
            for k in self._all_keys:
                for gram in {k[i : i + 2] for i in range(len(k) - 1)}:
                    self._bigrams.setdefault(gram, []).append(k)
        counts: Counter[str] = Counter()
        for gram in {folded[i : i + 2] for i in range(len(folded) - 1)}:
            counts.update(self._bigrams.get(gram, ()))
        return [k for k, _ in counts.most_common(size)]

    def _current_loose(self, readings: _Name, context: _Context | None) -> set[str]:
        province = context.province_code if context else None
        return self._lookup(
            readings,
            self._full,
            self._bare,
            lambda code: province is None or self._units[code].province_code == province,
            strict=False,
        )

    # -- addresses: a name with its old district and province -----------------------------------

    def _place(self, name: str | None, province: str | None) -> _Place:
        """Read "Phường 1, Quận 3" / "Xã A - H. B, tỉnh C" (name cell) and "Huyện B, Tỉnh C"
        (province cell): the unit name, its old district(s), the province (the name cell's own
        province first: it is the more precise, often the old one)."""
        context = self._context(province)
        districts: list[str] = []
        provinces: list[str] = []
        if province is not None and context is None and len(province) <= _MAX_TEXT:
            for _, part in self._joined(_pieces(province)):
                self._classify(part, districts, provinces)
            context = next(filter(None, map(self._context, provinces)), None)
        if (
            name is not None
            and len(name) <= _MAX_TEXT
            and (_SEPARATOR.search(name) or _PLACE_WORD.search(name))
        ):
            (_, name), *rest = self._joined(_pieces(name)) or [("", name)]
            own: list[str] = []
            for _, part in rest:
                self._classify(part, districts, own)
            context = next(filter(None, map(self._context, own)), context)
            provinces += own
        accented = any(_has_diacritics(t) for t in (*districts, *provinces, province or ""))
        only = tuple(d for d in districts if d not in provinces)
        return _Place(name, tuple(districts), context, accented, only)

    def _joined(self, pieces: list[tuple[str, str]]) -> list[tuple[str, str]]:
        """A part after a dash that is neither district nor province belongs to the part before:
        "Phường Lâm Viên - Đà Lạt", "Thành phố Phan Rang - Tháp Chàm" are one name each."""
        joined = pieces[:1]
        for sep, part in pieces[1:]:
            tokens = _tokens(part)
            if (
                sep.strip() in ("-", "–", "—")
                and _split_district(tokens)[0] is None
                and not _starts_with(tokens, ("tỉnh",))
                and self._context(part) is None
            ):
                joined[-1] = (joined[-1][0], joined[-1][1] + sep + part)
            else:
                joined.append((sep, part))
        return joined

    def _classify(self, part: str, districts: list[str], provinces: list[str]) -> None:
        """File one part of an address as a district, a province, or both: "Thành phố Cao
        Bằng" is the old town and the province, "TP Hồ Chí Minh" only the province."""
        tokens = _tokens(part)
        district_type, _ = _split_district(tokens)
        is_province = _starts_with(tokens, ("tỉnh",)) or (
            district_type in (None, "thành phố") and self._context(part) is not None
        )
        if is_province:
            provinces.append(part)  # "Tỉnh Hà Giang", "TP Hồ Chí Minh", "Huế"
        if tokens and not _starts_with(tokens, ("tỉnh",)) and (district_type or not is_province):
            districts.append(part)  # "Quận 3", "TP. Thủ Đức", ", Phú Vang"

    def _in_districts(
        self, readings: _Name, context: _Context | None, districts: tuple[str, ...]
    ) -> set[int]:
        """Old units of that name in the district(s) written: in the old province named, else
        in the current one, else anywhere; spelt as typed, else with other diacritics (the two
        crosswalks spell "Phó Bảng"/"Phố Bảng": the district makes that safe)."""
        typed = _district_typed(districts)
        if not typed:
            return set()
        units = self._history.units
        scopes: list[Callable[[_OldUnit], bool]] = []
        if context is not None and context.old_province_key is not None:
            scopes.append(lambda u: u.old_province_key == context.old_province_key)
        if context is not None:
            scopes.append(lambda u: u.province_code == context.province_code)
        else:
            scopes.append(lambda u: True)
        for strict in (True, False):
            for scope in scopes:
                found = self._lookup(
                    readings,
                    self._history.full,
                    self._history.bare,
                    lambda i, scope=scope: (
                        not typed.isdisjoint(units[i].district_keys) and scope(units[i])
                    ),
                    strict,
                )
                if found:
                    return found
        return set()

    def _district_holds(
        self, context: _Context | None, districts: tuple[str, ...], code: str
    ) -> bool:
        """Did some old unit of the district(s) written go (wholly or in part) into `code`?"""
        typed = _district_typed(districts)
        province = context.province_code if context else None
        return any(
            code in u.targets
            for u in self._history.units
            if not typed.isdisjoint(u.district_keys) and province in (None, u.province_code)
        )

    def _resolve_name(
        self,
        text: str,
        context: _Context | None,
        place: _Place | None = None,
    ) -> Match:
        if len(text) > _MAX_TEXT or not any(ch.isalpha() for ch in text):
            return _UNKNOWN  # no unit name is that long, or has no letter
        readings = self._interpretations(text, place is not None and place.accented)
        current = self._current(readings, context)
        olds = self._in_districts(readings, context, place.districts) if place else set()
        if olds:  # named with its old district: the old unit, never a current namesake
            went = sorted({code for i in olds for code in self._history.units[i].targets})
            if len(went) > 1:
                return Match(None, "ambiguous", self._cands(went))
            return Match(went[0], "name" if current == set(went) else "old_name", self._cands(went))
        found = self._by_name(text, readings, current, context)
        if found.match_kind == "name" and context is not None and context.old_province_key:
            # "Phường Nguyễn Trãi" with "Tỉnh Hải Dương": a province that no longer exists says
            # the old layout may be meant; its old unit of that name went elsewhere: ask
            old_key = context.old_province_key
            went = {
                code
                for i in self._previous(readings, context)
                if self._history.units[i].old_province_key == old_key
                for code in self._history.units[i].targets
            }
            if went - {found.unit_code}:
                return Match(None, "ambiguous", self._cands(sorted(went | {found.unit_code})))
        if (
            found.unit_code is not None
            and place is not None
            and place.only_districts
            and not self._district_holds(context, place.only_districts, found.unit_code)
        ):  # "Xã A, huyện B" where no old unit of huyện B went into the unit named A: ask
            return Match(None, "ambiguous", found.candidates)
        if found.match_kind == "unknown" and place is not None and place.districts:
            near = self._district_near(readings, context, place.districts)
            near += tuple(c for c in found.candidates if c not in near)
            return Match(None, "unknown", near[:3])
        return found

    def _district_near(
        self, readings: _Name, context: _Context | None, districts: tuple[str, ...]
    ) -> tuple[tuple[str, str], ...]:
        """Where the old units of the district spelt closest to the name went ("Xà Phìn" →
        Xã Sà Phìn's unit): offered, never chosen."""
        typed = _district_typed(districts)
        province = context.province_code if context else None
        pool: dict[str, set[str]] = {}
        for u in self._history.units:
            if not typed.isdisjoint(u.district_keys) and province in (None, u.province_code):
                bare = _fkey(_split_type(_tokens(u.name))[1])
                pool.setdefault(bare, set()).update(u.targets)
        found: list[str] = []
        for _, tokens in reversed(readings.readings):  # the name without its type word first
            for near in difflib.get_close_matches(_fkey(tokens), pool, n=3, cutoff=0.7):
                found.extend(c for c in sorted(pool[near]) if c not in found)
        return self._cands(found)

    def _by_name(
        self, text: str, readings: _Name, current: set[str], context: _Context | None
    ) -> Match:
        """The name alone: current names first, then old names."""
        if len(current) == 1:
            return Match(next(iter(current)), "name", self._cands(current))
        if current:
            return Match(None, "ambiguous", self._cands(sorted(current)))
        olds = self._previous(readings, context)
        went = sorted({code for i in olds for code in self._history.units[i].targets})
        if len(went) == 1:
            return Match(went[0], "old_name", self._cands(went))
        if went:
            return Match(None, "ambiguous", self._cands(went))
        return Match(None, "unknown", self._near_misses(text, context))

    def _names_code(self, text: str, code: str) -> bool:
        """Could the name be the unit with this code: its current name, or an old one that
        went (wholly or in part) into it?"""
        unit = self._units[code]
        if text == unit.name or text == unit.name[len(unit.unit_type) + 1 :]:
            return True  # spelt as the register spells it (a template's prefilled name)
        readings = self._interpretations(text)
        unit_context = _Context(unit.province_code, None)
        if code in self._current(readings, unit_context):
            return True
        return any(
            code in self._history.units[i].targets for i in self._previous(readings, unit_context)
        )

    # -- resolution --------------------------------------------------------------------------

    def _resolve(self, code: str | None, name: str | None, province: str | None) -> Match:
        place = self._place(name, province)
        name, context = place.name, place.context
        if code is not None and code in self._units:
            unit = self._units[code]
            itself = self._cands([code])
            other_province = context is not None and context.province_code != unit.province_code
            if name is None or self._names_code(name, code):
                # Code and name agree; a stray province column alone does not override both.
                if other_province and name is None:
                    return Match(None, "ambiguous", itself)
                return Match(code, "code", itself)
            by_name = self._resolve_name(name, context or _Context(unit.province_code, None))
            if by_name.match_kind == "unknown":  # a unit of another province, named in full?
                by_name = self._resolve_name(name, None)
                if by_name.match_kind != "name":
                    by_name = _UNKNOWN
            others = tuple(c for c in by_name.candidates if c[0] != code)
            if by_name.match_kind in ("name", "old_name", "ambiguous") and others:
                return Match(None, "ambiguous", itself + others)
            if other_province:
                return Match(None, "ambiguous", itself)
            return Match(code, "code", itself)
        if name is not None:
            return self._resolve_name(name, context, place)
        if code is not None and code in self._history.codes:  # an old code: say where it went
            return Match(None, "unknown", self._cands(self._history.codes[code]))
        return _UNKNOWN

    def resolve(self, code: Any = None, name: Any = None, province: Any = None) -> Match:
        """Resolve one unit as a report gives it: a code (str, int or float), a name, the
        province (code or any name form) as context. Text in the code column that is no code
        is read as a name. Never raises: odd input is ``unknown``."""
        try:
            args = (unit_code(code), _clean_text(name), _clean_text(province))
            if code is not None and args[0] is None and args[1] is None:
                args = (None, _clean_text(code), args[2])  # a name typed in the code column
        except Exception:  # noqa: BLE001
            return _UNKNOWN
        found = self._memo.get(args)
        if found is None:
            try:
                found = self._resolve(*args)
            except Exception:  # noqa: BLE001 - odd input is unknown, never an error
                found = _UNKNOWN
            if len(self._memo) > 500_000:
                self._memo.clear()
            self._memo[args] = found
        return found

    def resolve_frame(
        self,
        df: pl.DataFrame,
        code_col: str | None = None,
        name_col: str | None = None,
        province_col: str | None = None,
    ) -> pl.DataFrame:
        """`df` with unit_code (str, null when unresolved), match_kind and match_candidates
        ("code name; code name", null when none) added (replacing columns of those names).
        Each distinct (code, name, province) is resolved once."""
        columns = {"__gz_code": code_col, "__gz_name": name_col, "__gz_province": province_col}
        keys = list(columns)
        probe = df.with_columns(
            (
                pl.lit(None, pl.String)
                if col is None
                else pl.col(col).cast(pl.String, strict=False)
            ).alias(k)
            for k, col in columns.items()
        ).select(keys)
        distinct = probe.unique(maintain_order=True)
        found = [
            self.resolve(code, name, province) for code, name, province in distinct.iter_rows()
        ]
        resolved = distinct.with_columns(
            pl.Series("unit_code", [m.unit_code for m in found], pl.String),
            pl.Series("match_kind", [m.match_kind for m in found], pl.String),
            pl.Series("match_candidates", [m.candidates_text for m in found], pl.String),
        )
        base = df.drop([c for c in resolved.columns[3:] if c in df.columns])
        return (
            pl.concat([base, probe], how="horizontal")
            .join(resolved, on=keys, how="left", nulls_equal=True, maintain_order="left")
            .drop(keys)
        )


@cache
def _built(crosswalk: Path | None) -> Gazetteer:
    with CONVERTER_PATH.open(encoding="utf-8") as f:
        converter = json.load(f)
    units = official_units()
    crossings = read_crosswalk(crosswalk, units) if crosswalk else None
    return Gazetteer(units, official_provinces(), legacy_units(), converter, crossings)
