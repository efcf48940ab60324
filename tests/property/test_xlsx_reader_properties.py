"""Property-based test (hypothesis): whatever cells and number formats a workbook holds, the
.xlsx reader of our own (assets/ingest/xlsx.py) gives the grid calamine gives, or declines."""

from __future__ import annotations

import datetime as dt
import io

import openpyxl
import python_calamine as calamine
from hypothesis import given, settings
from hypothesis import strategies as st

from assets.ingest import limits as lim
from assets.ingest import xlsx

TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\ufffe\uffff"),
    max_size=30,
).filter(lambda s: not s.startswith("="))  # openpyxl writes "=…" as a formula
CELL = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=False, allow_infinity=False),
    TEXT,
    st.sampled_from(["85,5%", "1.234,5", "-", "a & b < c", "x_x000D_y", "Tổng cộng", "  đệm  "]),
    st.dates(min_value=dt.date(1900, 3, 1), max_value=dt.date(2100, 12, 31)),
    st.datetimes(min_value=dt.datetime(1900, 3, 1), max_value=dt.datetime(2100, 12, 31)),
    st.times(),
)
FORMAT = st.sampled_from(
    [
        "General",
        "0.00",
        "#,##0",
        "0.0%",
        '0" người"',
        "dd/mm/yyyy",
        "d mmmm yyyy",
        "h:mm:ss AM/PM",
        "[h]:mm:ss",
        "mm:ss",
        "@",
        '_-* #,##0\\ _₫_-;\\-* #,##0\\ _₫_-;_-* "-"??\\ _₫_-;_-@_-',
    ]
)
SHEET = st.lists(st.lists(st.tuples(CELL, FORMAT), max_size=8), min_size=1, max_size=10)


def _trimmed(rows: list[list[object]]) -> list[list[object]]:
    out = [[None if v == "" else v for v in row] for row in rows]
    for row in out:
        while row and row[-1] is None:
            row.pop()
    while out and not out[-1]:
        out.pop()
    return out


@settings(max_examples=80, deadline=None)
@given(sheets=st.lists(SHEET, min_size=1, max_size=2))
def test_any_cells_read_as_calamine_reads_them(sheets: list) -> None:
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for k, rows in enumerate(sheets):
        ws = wb.create_sheet(f"Sheet {k} & <{k}>")
        for r, row in enumerate(rows, start=1):
            for c, (value, fmt) in enumerate(row, start=1):
                ws.cell(r, c, value).number_format = fmt
    buffer = io.BytesIO()
    wb.save(buffer)
    data = buffer.getvalue()

    ours = xlsx.read_xlsx("property.xlsx", data, lim.Limits(), [])
    assert ours is not None  # openpyxl writes nothing this reader declines
    try:
        book = calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
        theirs = [
            (name, _trimmed(book.get_sheet_by_name(name).to_python(skip_empty_area=False)))
            for name in book.sheet_names
        ]
    except BaseException as exc:  # a date or duration past chrono's or Python's range
        if not isinstance(exc, OverflowError) and type(exc).__name__ != "PanicException":
            raise
        return  # calamine cannot read it at all; ours gives the number (asserted above)
    assert [(name, _trimmed(rows)) for name, rows, _, _ in ours] == theirs
