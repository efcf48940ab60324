"""The planners' gap tables (reports/<period>/gaps/) as the demo run wrote them (Huế, 2026-H1),
opened as a reader opens them: per indicator a titled sheet, Vietnamese headers with English
beside, codes in words, number formats in the indicator's unit, widths, filter and frozen
header; the units ranked by class, remote first, largest gap first, units without a figure
last; the .csv with the same headers and rounded numbers; a priority list that counts every
gap class, rank first, remote units first. Cells a spreadsheet would run stay text."""

from __future__ import annotations

import io

import openpyxl
import polars as pl
import pytest

from assets.indicators.gaps import SEVERITY
from assets.reports.gap_tables import (
    GAP_LABELS,
    PRIORITY_COLUMNS,
    digits,
    indicator_columns,
    write_gap_tables,
)
from schemas.lake import table_path

PERIOD = "2026-H1"
HEADER_ROW = 4  # three title rows above


@pytest.fixture(scope="module")
def lake(demo_run):
    settings = demo_run[0]
    gaps = pl.read_parquet(table_path(settings.lake, "coverage_gaps", PERIOD))
    return settings.reports / PERIOD / "gaps", gaps


def read_csv(path) -> pl.DataFrame:
    text = path.read_bytes().decode("utf-8-sig")  # written with a BOM for Excel
    # Every cell is quoted, so an empty one ("") is a missing value, not text.
    return pl.read_csv(io.StringIO(text), infer_schema=False, null_values=[""])


def sheet_rows(ws) -> list[dict]:
    """The data rows under the header, as header → cell."""
    rows = list(ws.iter_rows(min_row=HEADER_ROW))
    head = [c.value for c in rows[0]]
    return [dict(zip(head, r, strict=True)) for r in rows[1:]]


def test_one_csv_and_xlsx_per_indicator_and_a_priority_list(lake, catalogue):
    out, _ = lake
    expected = {f"{i}.{ext}" for i in catalogue.ids for ext in ("csv", "xlsx")}
    assert {p.name for p in out.iterdir()} == expected | {"priority.csv", "priority.xlsx"}


def test_each_indicator_sheet_is_titled_headed_and_formatted(lake, catalogue):
    out, gaps = lake
    names = set()
    for ind in catalogue:
        wb = openpyxl.load_workbook(out / f"{ind.id}.xlsx")
        assert len(wb.sheetnames) == 1
        ws = wb.worksheets[0]
        assert ws.title == ind.short_vi and len(ws.title) <= 31
        names.add(ws.title)
        # the title: name (vi / en), then unit, target and period
        assert ws["A1"].value == f"{ind.name_vi} / {ind.name_en}" and ws["A1"].font.b
        details = ws["A2"].value
        assert ind.unit_vi in details and ind.unit_en in details and PERIOD in details
        target = f"{ind.target:.{digits(ind)}f}"
        target = target.rstrip("0").rstrip(".") if "." in target else target  # 95.0 → 95
        assert f"{'≥' if ind.direction == 'higher' else '≤'} {target} " in details
        assert str(ind.target_year) in details
        columns = indicator_columns(ind)
        head = [c.value for c in ws[HEADER_ROW]]
        assert head == [c.header for c in columns]
        assert head[:3] == ["Thứ tự / Rank", "Mã đơn vị / Unit code", "Tên đơn vị / Unit name"]
        assert all(" / " in h for h in head)  # Vietnamese first, English beside
        assert all(c.font.b for c in ws[HEADER_ROW])
        last = openpyxl.utils.get_column_letter(len(columns))
        assert ws.freeze_panes == f"D{HEADER_ROW + 1}"  # header and rank, code, name stay
        assert ws.auto_filter.ref == f"A{HEADER_ROW}:{last}{HEADER_ROW + 40}"
        widths = {  # a <col> element may span columns of the same width
            openpyxl.utils.get_column_letter(k): d.width
            for d in ws.column_dimensions.values()
            for k in range(d.min, d.max + 1)
        }
        assert set(widths) == {openpyxl.utils.get_column_letter(k + 1) for k in range(len(head))}
        assert widths["C"] >= max(len(n) for n in gaps["unit_name"].unique())  # names fit
        rows = sheet_rows(ws)
        assert len(rows) == 40
        number = "0" if not ind.is_percent else "0." + "0" * digits(ind)
        value = columns[[c.name for c in columns].index("value")].header
        for row in rows:
            assert row["Thứ tự / Rank"].number_format == "0"
            if row[value].value is not None:
                assert row[value].number_format == number, ind.id
            assert row["Vùng khó khăn / Remote"].value in ("Có", "Không")
            assert row["Mức khoảng cách / Gap class"].value in GAP_LABELS.values()
            assert not any(isinstance(c.value, bool) for c in row.values())
    assert len(names) == len(catalogue.ids)  # sheet names unique


def test_units_ranked_by_class_remote_first_largest_gap_first(lake, catalogue):
    out, gaps = lake
    assert gaps["is_remote"].any() and not gaps["is_remote"].all()  # the order means something
    label_class = {v: k for k, v in GAP_LABELS.items()}
    for ind in catalogue:
        rows = sheet_rows(openpyxl.load_workbook(out / f"{ind.id}.xlsx").worksheets[0])
        gap_col = next(c.header for c in indicator_columns(ind) if c.name == "gap")
        keys = [
            (
                SEVERITY[label_class[r["Mức khoảng cách / Gap class"].value]],
                r["Vùng khó khăn / Remote"].value != "Có",
                -(r[gap_col].value or 0),
            )
            for r in rows
        ]
        assert keys == sorted(keys), ind.id
        assert [r["Thứ tự / Rank"].value for r in rows] == list(range(1, 41))
        # units without a figure after every unit with one
        missing = [k[0] >= SEVERITY["not_reported"] for k in keys]
        assert missing == sorted(missing)
        # the figures are the lake's, unrounded in the workbook
        lake_rows = gaps.filter(pl.col("indicator_id") == ind.id).sort("rank")
        assert [r["Mã đơn vị / Unit code"].value for r in rows] == lake_rows["unit_code"].to_list()
        value_col = next(c.header for c in indicator_columns(ind) if c.name == "value")
        assert [r[value_col].value for r in rows] == pytest.approx(lake_rows["value"].to_list())


def test_csv_has_the_same_headers_words_and_rounded_numbers(lake, catalogue):
    out, gaps = lake
    for ind in catalogue:
        table = read_csv(out / f"{ind.id}.csv")
        columns = indicator_columns(ind)
        assert table.columns == [c.header for c in columns]
        lake_rows = gaps.filter(pl.col("indicator_id") == ind.id).sort("rank")
        d = digits(ind)
        for name in ("value", "target", "gap", "change"):
            header = next(c.header for c in columns if c.name == name)
            shown = table[header].to_list()
            expected = [None if v is None else round(v, d) for v in lake_rows[name].to_list()]
            assert [None if s is None else float(s) for s in shown] == expected, (ind.id, name)
            decimals = [len(s.split(".")[1]) if "." in s else 0 for s in shown if s is not None]
            assert all(k <= d for k in decimals), (ind.id, name)
        assert set(table["Mức khoảng cách / Gap class"]) <= set(GAP_LABELS.values())
        assert set(table["Biên giới / Border"]) <= {"Có", "Không"}


def test_priority_list_counts_every_gap_class_rank_first_remote_first(lake, demo_run):
    out, gaps = lake
    ws = openpyxl.load_workbook(out / "priority.xlsx").worksheets[0]
    assert ws.title == "Danh sách ưu tiên" and "Danh sách ưu tiên" in ws["A1"].value
    assert PERIOD in ws["A2"].value
    assert [c.value for c in ws[HEADER_ROW]] == [c.header for c in PRIORITY_COLUMNS]
    assert ws[HEADER_ROW][0].value == "Thứ tự ưu tiên / Priority"  # the rank first
    assert ws.freeze_panes == f"D{HEADER_ROW + 1}" and ws.auto_filter.ref.startswith("A4:")
    h = {c.name: c.header for c in PRIORITY_COLUMNS}
    rows = [{k: r[v].value for k, v in h.items()} for r in sheet_rows(ws)]
    assert [r["rank"] for r in rows] == list(range(1, 41))
    counts = gaps.group_by("unit_code").agg(
        **{c: (pl.col("gap_class") == c).sum() for c in ("large", "medium", "small")}
    )
    counts = {u: (lg, md, sm) for u, lg, md, sm in counts.iter_rows()}
    for r in rows:
        lg, md, sm = counts[r["unit_code"]]
        assert (r["large_gaps"], r["medium_gaps"], r["small_gaps"]) == (lg, md, sm)
        assert r["indicators_behind"] == lg + md + sm
    # Xã Phú Vang: no large gap but six medium ones: behind on seven indicators, not zero
    phu_vang = next(r for r in rows if r["unit_name"] == "Xã Phú Vang")
    assert phu_vang["medium_gaps"] == 6 and phu_vang["indicators_behind"] == 7
    # units behind first, remote first among them, then by indicators behind
    behind = [r for r in rows if r["indicators_behind"] > 0]
    keys = [(r["is_remote"] != "Có", -r["indicators_behind"], -r["large_gaps"]) for r in behind]
    assert keys == sorted(keys)
    first_plain = next(k for k, r in enumerate(rows) if r["is_remote"] != "Có")
    assert all(r["is_remote"] == "Có" for r in rows[:first_plain]) and first_plain > 0
    # the demo's silent units (they sent nothing at all) close the list, not lead it
    silent = set(demo_run[1].not_reported)
    assert {r["unit_code"] for r in rows[-len(silent) :]} == silent
    csv = read_csv(out / "priority.csv")
    assert csv.columns == [c.header for c in PRIORITY_COLUMNS]
    assert csv[h["unit_code"]].to_list() == [r["unit_code"] for r in rows]


def test_formula_like_text_arrives_as_text(lake, catalogue, tmp_path):
    _, gaps = lake
    evil_name, evil_file = '=HYPERLINK("http://x.invalid","bấm")', "@SUM(A1:A9).xlsx"
    first = gaps["unit_code"][0]
    gaps = gaps.with_columns(
        unit_name=pl.when(pl.col("unit_code") == first)
        .then(pl.lit(evil_name))
        .otherwise("unit_name"),
        source_file=pl.when(pl.col("unit_code") == first)
        .then(pl.lit(evil_file))
        .otherwise("source_file"),
    )
    write_gap_tables(gaps, catalogue, tmp_path)
    ind = catalogue.ids[0]
    row = read_csv(tmp_path / f"{ind}.csv").filter(pl.col("Mã đơn vị / Unit code") == first)
    assert row["Tên đơn vị / Unit name"].to_list() == ["'" + evil_name]  # a .csv has no types
    assert row["Tệp nguồn / Source file"].to_list() == ["'" + evil_file]
    ws = openpyxl.load_workbook(tmp_path / f"{ind}.xlsx").worksheets[0]
    cells = [c for r in ws.iter_rows() for c in r if c.value in (evil_name, evil_file)]
    assert len(cells) == 2
    assert all(c.data_type == "s" and c.quotePrefix for c in cells)  # text as typed
    ws = openpyxl.load_workbook(tmp_path / "priority.xlsx").worksheets[0]
    names = [c.value for r in ws.iter_rows(min_row=HEADER_ROW + 1) for c in r]
    assert evil_name in names and "'" + evil_name not in names
    assert not any(c.data_type == "f" for r in ws.iter_rows() for c in r)


def test_sheet_names_are_short_unique_and_accepted_by_excel(catalogue):
    from assets.reports.safe import sheet_names

    long = [i.name_vi for i in catalogue]  # without the short names: 69 characters and more
    names = sheet_names([*long, "Chi [ngân] sách: KH/CN?", "phủ sóng 5g", "Phủ sóng 5G"])
    assert all(0 < len(n) <= 31 for n in names)
    assert len({n.casefold() for n in names}) == len(names)  # Excel compares without case
    assert not any(set(n) & set("[]:*?/\\") for n in names)
    assert names[-2:] == ["phủ sóng 5g", "Phủ sóng 5G (2)"]
    assert names[0] == "Tỷ lệ dân số được phủ sóng 5G"  # fits: kept whole
    assert all(len(i.short_vi) <= 31 for i in catalogue) and all(i.short_vi for i in catalogue)
