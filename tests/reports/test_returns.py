"""Return-to-sender workbooks as a commune official opens them: the demo's planted errors, each
with the indicator's Vietnamese name, what to fix in plain words and the value as typed (a text
cell, "-2" not "'-2"); titled, headed in Vietnamese with English beside, filter and frozen
header; only files with something to return get one; formula-like text never runs."""

from __future__ import annotations

import openpyxl
import polars as pl
import pytest
from openpyxl.utils import get_column_letter

from assets.reports.returns import COLUMNS, SHEET, returns_names, returns_workbooks
from schemas.lake import read_period
from schemas.rules import RULES_BY_ID

PERIOD = "2026-H1"
HEADER_ROW = 4
HEADERS = {c.name: c.header for c in COLUMNS}


def rows_of(path) -> tuple[openpyxl.worksheet.worksheet.Worksheet, list[dict]]:
    ws = openpyxl.load_workbook(path).worksheets[0]
    rows = list(ws.iter_rows(min_row=HEADER_ROW))
    head = [c.value for c in rows[0]]
    by_name = {v: k for k, v in HEADERS.items()}
    return ws, [{by_name[h]: c for h, c in zip(head, r, strict=True)} for r in rows[1:]]


def column_widths(ws) -> dict[str, float]:
    """Column letter → width; a <col> element may span columns of the same width."""
    return {
        get_column_letter(k): d.width
        for d in ws.column_dimensions.values()
        for k in range(d.min, d.max + 1)
    }


@pytest.fixture(scope="module")
def demo(demo_run):
    settings, spec = demo_run[0], demo_run[1]
    returns = settings.reports / PERIOD / "quality" / "returns"
    quarantined = read_period(settings.lake, "quarantined_rows", PERIOD)
    return returns, quarantined, spec


def test_only_files_with_quarantined_rows_get_a_workbook(demo):
    returns, quarantined, spec = demo
    sources = set(quarantined["source_file"])
    assert sources < set(spec.files)  # a file with nothing to return exists, and gets none
    names = returns_names(sorted(sources))
    assert {p.name for p in returns.iterdir()} == set(names.values())


def test_each_planted_error_reads_as_a_commune_official_reads_it(demo, catalogue):
    returns, quarantined, spec = demo
    names = returns_names(quarantined["source_file"].unique().to_list())
    assert spec.planted
    for source in quarantined["source_file"].unique():
        ws, rows = rows_of(returns / names[source])
        assert ws.title == SHEET
        assert "Số liệu cần sửa" in ws["A1"].value and ws["A1"].font.b
        assert source in ws["A2"].value and PERIOD in ws["A2"].value
        assert f"{len(rows)} dòng" in ws["A2"].value
        assert [c.value for c in ws[HEADER_ROW]] == list(HEADERS.values())
        assert all(" / " in h for h in HEADERS.values())
        assert ws.freeze_panes == f"F{HEADER_ROW + 1}"  # up to the unit's name stays in view
        assert ws.auto_filter.ref == f"A{HEADER_ROW}:L{HEADER_ROW + len(rows)}"
        widths = column_widths(ws)
        assert set(widths) == {get_column_letter(k + 1) for k in range(len(COLUMNS))}
        assert widths["J"] == pytest.approx(45, abs=1)  # what to fix: its own width
        mine = quarantined.filter(pl.col("source_file") == source)
        mine = mine.sort("source_sheet", "source_row", "source_column")  # top to bottom
        assert len(rows) == mine.height
        for row, want in zip(rows, mine.iter_rows(named=True), strict=True):
            assert row["source_row"].value == want["source_row"]
            assert row["indicator"].value == catalogue[want["indicator_id"]].name_vi
            assert row["problem"].value == RULES_BY_ID[want["rule_id"]].vi
            for raw in ("value_raw", "numerator_raw", "denominator_raw", "unit_code_raw"):
                assert row[raw].value == want[raw]  # as typed
                assert row[raw].value is None or row[raw].data_type == "s"
        shown = {c.value for r in rows for c in r.values()}
        assert not shown & set(RULES_BY_ID) and not shown & set(catalogue.ids)  # no codes
    planted = {(f, ind, rule) for f, _, ind, rule in spec.planted}
    got = set(quarantined.select("source_file", "indicator_id", "rule_id").iter_rows())
    assert planted <= got


def test_a_negative_figure_is_shown_as_typed_without_an_apostrophe(demo, catalogue):
    returns, quarantined, _ = demo
    negative = quarantined.filter(pl.col("rule_id") == "negative_value").row(0, named=True)
    assert negative["value_raw"] == "-2"
    name = returns_names(quarantined["source_file"].unique().to_list())[negative["source_file"]]
    _, rows = rows_of(returns / name)
    row = next(r for r in rows if r["source_row"].value == negative["source_row"])
    cell = row["value_raw"]
    assert cell.value == "-2" and cell.data_type == "s" and cell.quotePrefix
    assert row["indicator"].value == "Số thôn, bản còn vùng lõm sóng"
    assert row["problem"].value == "Số liệu âm"


def test_formula_like_text_is_a_text_cell_and_unknown_codes_stay_as_written(
    demo, catalogue, tmp_path
):
    _, quarantined, _ = demo
    one = quarantined.head(3).with_columns(
        source_file=pl.lit("=cmd|'/c calc'!A1.xlsx"),
        unit_name_raw=pl.Series(['=HYPERLINK("http://x.invalid")', "@SUM(1)", "+1"]),
        indicator_id=pl.Series(["so_may_tinh_moi", *quarantined["indicator_id"][1:3]]),
        value_raw=pl.Series(["=1+1", "-0", None]),
    )
    books = returns_workbooks(one, tmp_path, catalogue)
    ws, rows = rows_of(books["=cmd|'/c calc'!A1.xlsx"])
    assert ws["A2"].value.startswith("Tệp / File: =cmd|")  # the file named, inside the title
    cells = [c for r in ws.iter_rows() for c in r if c.value is not None]
    assert not any(c.data_type == "f" for c in cells)
    typed = [r[k] for r in rows for k in ("unit_name_raw", "value_raw") if r[k].value]
    assert sorted(c.value for c in typed) == sorted(
        ['=HYPERLINK("http://x.invalid")', "=1+1", "@SUM(1)", "-0", "+1"]
    )
    assert all(c.data_type == "s" and c.quotePrefix for c in typed)
    indicators = {r["indicator"].value for r in rows}
    assert "so_may_tinh_moi" in indicators  # not in the catalogue: as written
