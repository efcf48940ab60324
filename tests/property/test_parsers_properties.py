"""Property-based tests (hypothesis) for the number parser, the header matcher and the gazetteer:
whatever a cell holds, they answer (a value, None, an error field, `unknown`) and never raise;
well-formed Vietnamese figures, headers and unit references come back exactly."""

from __future__ import annotations

import unicodedata
from decimal import Decimal

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assets.ingest.headers import normalise_header, vocabulary
from assets.ingest.numbers import ParsedNumber, parse_number
from geo.text import fold

FAST = settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

ANY_CELL = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(),
    st.text(alphabet="0123456789.,-+% \u00a0\u202fx", max_size=20),
    st.decimals(allow_nan=False, allow_infinity=False),
)


def vietnamese(value: Decimal, grouped: bool, percent: bool) -> str:
    """A figure as an office types it: thousands dots (when grouped), a decimal comma."""
    sign = "-" if value < 0 else ""
    whole, _, frac = f"{abs(value):f}".partition(".")
    if grouped:
        whole = f"{int(whole):,}".replace(",", ".")
    return sign + whole + ("," + frac if frac else "") + ("%" if percent else "")


@FAST
@given(ANY_CELL)
def test_parse_number_never_raises(cell):
    parsed = parse_number(cell)
    assert isinstance(parsed, ParsedNumber)
    assert parsed.value is None or isinstance(parsed.value, float)
    assert not (parsed.value is not None and parsed.error)


@FAST
@given(
    st.decimals(min_value=-(10**12), max_value=10**12, places=3, allow_nan=False),
    st.booleans(),
    st.booleans(),
)
def test_vietnamese_figures_round_trip_exactly(value, grouped, percent):
    text = vietnamese(value, grouped, percent)
    parsed = parse_number(text)
    assert parsed.error is None, text
    assert parsed.value == float(value), text  # the very double the decimal names
    assert parsed.is_percent is percent


@FAST
@given(st.floats(allow_nan=False, allow_infinity=False) | st.integers(-(10**15), 10**15))
def test_numeric_cells_pass_through(value):
    assert parse_number(value).value == float(value)


def _no_diacritics(text: str) -> str:
    """As typed on a keyboard without Vietnamese input: marks dropped, punctuation kept."""
    plain = unicodedata.normalize("NFD", text).replace("đ", "d").replace("Đ", "D")
    return "".join(ch for ch in plain if unicodedata.category(ch) != "Mn")


@pytest.fixture(scope="module")
def vocab(catalogue):
    return vocabulary(catalogue)


@FAST
@given(st.one_of(st.none(), st.text(), st.integers(), st.floats()))
def test_header_matcher_never_raises(vocab, header):
    col = vocab.match(header)
    assert col is None or col in set(vocab.exact.values())


@FAST
@given(st.data())
def test_headers_match_whatever_the_case_diacritics_and_spacing(vocab, catalogue, data):
    fields = catalogue.report_fields()
    field_id = data.draw(st.sampled_from(sorted(fields)))
    header = data.draw(st.sampled_from(fields[field_id].headers))
    typed = data.draw(
        st.sampled_from(
            [str.upper, str.lower, _no_diacritics, lambda h: " " + h.replace(" ", " \n ")]
        )
    )(header)
    assert normalise_header(typed) == normalise_header(header)
    assert vocab.match(typed) == vocab.match(header) == field_id


@pytest.fixture(scope="module")
def units():
    from geo.units import official_units

    units = official_units().select("unit_code", "unit_name", "province_code", "province_name")
    unique = units.group_by("province_code", "unit_name").len().filter(pl.col("len") == 1)
    return units.join(unique.drop("len"), on=["province_code", "unit_name"]).sort("unit_code")


@FAST
@given(
    st.one_of(st.none(), st.text(max_size=30), st.integers(), st.floats()),
    st.one_of(st.none(), st.text(max_size=60)),
    st.one_of(st.none(), st.text(max_size=30), st.integers()),
)
def test_gazetteer_never_raises(gazetteer, code, name, province):
    match = gazetteer.resolve(code, name, province)
    assert match.match_kind in {"code", "name", "old_name", "ambiguous", "unknown"}
    assert (match.unit_code is None) is (match.match_kind in {"ambiguous", "unknown"})


@FAST
@given(st.data())
def test_official_units_resolve_back_to_themselves(gazetteer, units, data):
    code, name, _, province = units.row(data.draw(st.integers(0, units.height - 1)))
    assert gazetteer.resolve(code=code).unit_code == code
    assert gazetteer.resolve(code=int(code)).unit_code == code  # Excel dropped the leading zero
    by_name = gazetteer.resolve(name=name, province=province)
    assert (by_name.unit_code, by_name.match_kind) == (code, "name")
    typed = gazetteer.resolve(name=fold(name).upper(), province=province)  # no diacritics
    if typed.unit_code is None:  # "Cẩm Giang" and "Cẩm Giàng" fold alike: asked, never guessed
        assert typed.match_kind == "ambiguous" and code in dict(typed.candidates)
    else:
        assert typed.unit_code == code
