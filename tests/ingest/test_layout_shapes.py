"""Report shapes found by the structure of a sheet: header bands whose groups carry a period
(only the reported period's group is read, never last year's), the columns a layout leaves
unread listed per file, and the further shapes offices send (issue 19)."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from openpyxl import Workbook

from assets.reports.quality import reconcile, render_quality_page
from schemas.contracts import empty

HUE = "UBND THÀNH PHỐ HUẾ"
SHEET = "Báo cáo"


def _workbook(path: Path, rows: list[list[object]], merged: list[str] = (), sheet=SHEET) -> Path:
    """A one-sheet workbook: `rows` from row 1, then the merged ranges (values in their first
    cell only, as Excel keeps them)."""
    wb = Workbook()
    ws = wb.active
    ws.title = sheet
    for r, cells in enumerate(rows, start=1):
        for c, value in enumerate(cells, start=1):
            if value is not None:
                ws.cell(r, c, value)
    for rng in merged:
        ws.merge_cells(rng)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path


def _ingest_one(tmp_path, ingest, name, rows, merged=()):
    _workbook(tmp_path / "landing" / name, rows, merged)
    raw, status = ingest(tmp_path / "landing")
    [row] = status.to_dicts()
    return raw, row


# --- 1. Header bands whose group headings carry a period ---------------------------------------


def test_so_voi_cung_ky_reads_only_the_reported_half(tmp_path, ingest, judge):
    """The issue's file: the same three columns under "Cùng kỳ năm 2025" and again under
    "6 tháng đầu năm 2026", then "So sánh (%)". Last year's figures are never read."""
    rows = [
        [HUE],
        ["BÁO CÁO KẾT QUẢ CHUYỂN ĐỔI SỐ CẤP XÃ"],
        ["Kỳ báo cáo: 6 tháng đầu năm 2026"],
        [],
        ["STT", "Mã xã", "Tên đơn vị", "Cùng kỳ năm 2025", None, None]
        + ["6 tháng đầu năm 2026", None, None, "So sánh (%)"],
        [None, None, None, "Tổng số CBCC", "Số CBCC có máy tính", "Số hồ sơ TTHC tiếp nhận"]
        + ["Tổng số CBCC", "Số CBCC có máy tính", "Số hồ sơ TTHC tiếp nhận", None],
        [1, "19753", "Phường Phú Xuân", 40, 10, 500, 30, 27, 900, 270],
        [2, "19777", "Phường Vỹ Dạ", 20, 20, 300, 25, 20, 400, 100],
        [3, "19815", "Phường An Cựu", 50, 5, 100, 50, 50, 120, 1000],
    ]
    merged = ["A5:A6", "B5:B6", "C5:C6", "D5:F5", "G5:I5", "J5:J6"]
    raw, status = _ingest_one(tmp_path, ingest, "so_sanh.xlsx", rows, merged)
    accepted, rules, *_ = judge(raw)
    assert accepted == pytest.approx(
        {
            ("19753", "officials_with_computer"): 90.0,
            ("19777", "officials_with_computer"): 80.0,
            ("19815", "officials_with_computer"): 100.0,
        }
    )
    # the applications received alone (no online count): quarantined, from this half's column
    assert rules == {(u, "online_service_usage"): "missing_figure" for u in ("19753", "19777")} | {
        ("19815", "online_service_usage"): "missing_figure"
    }
    assert set(raw["source_column"]) == {"H/G", "I"}  # never D, E or F
    assert set(raw["reported_period"]) == {"2026-H1"}
    assert status["columns_unread"] == "Báo cáo!D:F (Cùng kỳ năm 2025), Báo cáo!J (So sánh (%))"


def test_current_group_first_without_diacritics_and_notes(tmp_path, ingest, judge):
    """The reported half first, last year's after it, headers typed without diacritics, the
    period only in the title sentence, a notes column: still only 2026-H1 is read."""
    rows = [
        ["UBND THANH PHO HUE"],
        ["BAO CAO KET QUA CHUYEN DOI SO 6 THANG DAU NAM 2026"],
        ["Ten xa", "Ma xa", "6 THANG DAU NAM 2026", None, None, None]
        + ["CUNG KY NAM 2025", None, None, None, "Ghi chu"],
        [None, None, "So CBCC co may tinh", "Tong so CBCC", "So lanh dao co chuyen mon KHKT"]
        + ["Tong so lanh dao", "So CBCC co may tinh", "Tong so CBCC"]
        + ["So lanh dao co chuyen mon KHKT", "Tong so lanh dao", None],
        ["Phường Phú Xuân", 19753, 18, 20, 3, 12, 30, 30, 12, 12, None],
        ["Phường Kim Long", 19774, 9, 10, 1, 5, 2, 10, 5, 5, "số liệu tạm"],
    ]
    merged = ["A3:A4", "B3:B4", "C3:F3", "G3:J3", "K3:K4"]
    raw, status = _ingest_one(tmp_path, ingest, "nhom.xlsx", rows, merged)
    accepted, rules, *_ = judge(raw)
    assert accepted == pytest.approx(
        {
            ("19753", "officials_with_computer"): 90.0,
            ("19753", "leaders_with_stem_expertise"): 25.0,
            ("19774", "officials_with_computer"): 90.0,
            ("19774", "leaders_with_stem_expertise"): 20.0,
        }
    )
    assert rules == {}
    assert status["columns_unread"] == "Báo cáo!G:J (CUNG KY NAM 2025), Báo cáo!K (Ghi chu)"


def test_three_row_band_plan_result_and_change(tmp_path, ingest, judge):
    """Three header rows: "Kế hoạch năm 2026" | "Thực hiện 6 tháng đầu năm 2026" |
    "Tăng/giảm so với cùng kỳ" over subgroups over the fields; the unit columns merged over all
    three. Only "Thực hiện" is read; the plan and the change are listed unread."""
    rows = [
        [HUE],
        ["Kỳ báo cáo: 6 tháng đầu năm 2026"],
        [],
        ["TT", "Mã ĐVHC", "Tên xã, phường", "Kế hoạch năm 2026", None]
        + ["Thực hiện 6 tháng đầu năm 2026", None, None, None]
        + ["Tăng/giảm so với cùng kỳ", None],
        [None, None, None, "Cán bộ, công chức", None, "Cán bộ, công chức", None]
        + ["Dân số", None, "Cán bộ, công chức", None],
        [None, None, None, "Tổng số CBCC", "Số CBCC có máy tính", "Tổng số CBCC"]
        + ["Số CBCC có máy tính", "Dân số", "Dân số được phủ sóng 5G", "Tổng số CBCC"]
        + ["Số CBCC có máy tính"],
        ["(1)", "(2)", "(3)", "(4)", "(5)", "(6)", "(7)", "(8)", "(9)", "(10)", "(11)"],
        [1, "19753", "Phú Xuân", 30, 30, 30, 24, 10000, 8000, 2, 4],
        [2, "19815", "An Cựu", 10, 10, 12, 12, 5000, 5000, -1, 1],
        [None, None, "Tổng cộng", 40, 40, 42, 36, 15000, 13000, 1, 5],
    ]
    merged = ["A4:A6", "B4:B6", "C4:C6", "D4:E4", "F4:I4", "J4:K4", "D5:E5", "F5:G5", "H5:I5"]
    merged += ["J5:K5"]
    raw, status = _ingest_one(tmp_path, ingest, "ba_dong.xlsx", rows, merged)
    accepted, rules, *_ = judge(raw)
    assert accepted == pytest.approx(
        {
            ("19753", "officials_with_computer"): 80.0,
            ("19753", "pop_5g_coverage"): 80.0,
            ("19815", "officials_with_computer"): 100.0,
            ("19815", "pop_5g_coverage"): 100.0,
        }
    )
    assert rules == {}
    assert set(raw["source_row"]) == {8, 9}
    assert status["columns_unread"] == (
        "Báo cáo!D:E (Kế hoạch năm 2026 / Cán bộ, công chức), "
        "Báo cáo!J:K (Tăng/giảm so với cùng kỳ / Cán bộ, công chức)"
    )


def test_no_title_period_reads_the_latest_group_as_its_own_period(tmp_path, ingest, judge):
    """No period in the title: the latest group that states one is read, as that period (checked
    against the run's), and the earlier group is listed unread."""
    rows = [
        [HUE],
        ["Mã xã", "Năm 2025", None, "6 tháng đầu năm 2026", None],
        [None, "Tổng số CBCC", "Số CBCC có máy tính", "Tổng số CBCC", "Số CBCC có máy tính"],
        ["19753", 30, 3, 30, 15],
    ]
    merged = ["A2:A3", "B2:C2", "D2:E2"]
    raw, status = _ingest_one(tmp_path, ingest, "khong_ky.xlsx", rows, merged)
    accepted, rules, *_ = judge(raw)
    assert accepted == pytest.approx({("19753", "officials_with_computer"): 50.0})
    assert raw["reported_period"].to_list() == ["2026-H1"]
    assert status["columns_unread"] == "Báo cáo!B:C (Năm 2025)"


def test_an_estimate_of_the_half_is_read_when_no_result_group_is_given(tmp_path, ingest, judge):
    """ "Ước thực hiện 6 tháng" (the half's year from the title) is the office's figure when no
    other group is of the half; "6 tháng cuối năm 2025" is another half: never read as 2026-H1."""
    rows = [
        [HUE],
        ["Kỳ báo cáo: 6 tháng đầu năm 2026"],
        ["Mã xã", "Tên đơn vị", "6 tháng cuối năm 2025", None, "Ước thực hiện 6 tháng", None],
        [None, None, "Tổng số CBCC", "Số CBCC có máy tính", "Tổng số CBCC", "Số CBCC có máy tính"],
        ["19777", "Phường Vỹ Dạ", 28, 14, 28, 21],
    ]
    merged = ["A3:A4", "B3:B4", "C3:D3", "E3:F3"]
    raw, status = _ingest_one(tmp_path, ingest, "uoc.xlsx", rows, merged)
    accepted, rules, *_ = judge(raw)
    assert accepted == pytest.approx({("19777", "officials_with_computer"): 75.0})
    assert raw["source_column"].to_list() == ["F/E"]
    assert status["columns_unread"] == "Báo cáo!C:D (6 tháng cuối năm 2025)"


def test_only_other_periods_reads_nothing_and_says_why(tmp_path, ingest):
    """A sheet whose every figure is under another period's heading yields no observation: the
    file is rejected with the groups it skipped, never read as the reported half."""
    rows = [
        [HUE],
        ["Kỳ báo cáo: 6 tháng đầu năm 2026"],
        ["Mã xã", "Cùng kỳ năm 2025", None, "Kế hoạch năm 2026", None],
        [None, "Tổng số CBCC", "Số CBCC có máy tính", "Tổng số CBCC", "Số CBCC có máy tính"],
        ["19753", 30, 3, 30, 30],
    ]
    merged = ["A3:A4", "B3:C3", "D3:E3"]
    raw, status = _ingest_one(tmp_path, ingest, "khac_ky.xlsx", rows, merged)
    assert raw.height == 0
    assert status["status"] == "rejected"
    assert status["columns_unread"] == (
        "Báo cáo!B:C (Cùng kỳ năm 2025), Báo cáo!D:E (Kế hoạch năm 2026)"
    )
    assert "Cùng kỳ năm 2025" in status["reason_vi"]
    assert "no column group of the reported period" in status["reason_en"]


# --- 2. Unread columns, per file, in the quality report -----------------------------------------


def test_unread_columns_reach_the_quality_report(tmp_path, ingest, judge, catalogue):
    """A plain one-row header: the figures read, an unknown column and a notes column listed, the
    ordinal column (STT) not; the quality report's file table carries the list."""
    rows = [
        [HUE],
        ["STT", "Mã xã", "Tổng số CBCC", "Số máy in", "Số CBCC có máy tính", "Ghi chú"],
        [1, "19753", 20, 4, 19, "đủ"],
    ]
    raw, status = _ingest_one(tmp_path, ingest, "phang.xlsx", rows)
    accepted, _, validated, quarantined, superseded = judge(raw)
    assert accepted == pytest.approx({("19753", "officials_with_computer"): 95.0})
    landing = tmp_path / "landing"
    file_status = ingest(landing)[1]
    files = reconcile(file_status, raw, validated, quarantined, superseded)
    assert files["columns_unread"].to_list() == ["Báo cáo!D (Số máy in), Báo cáo!F (Ghi chú)"]
    assert status["columns_unread"] == files["columns_unread"][0]
    page = render_quality_page(
        period="2026-H1",
        catalogue=catalogue,
        file_status=file_status,
        raw=raw,
        validated=validated,
        quarantined=quarantined,
        superseded=superseded,
        values=empty("indicator_values"),
        boundary_problems=pl.DataFrame(),
        geometry_note="",
    )
    files_table = page[page.index("id='files'") :]
    assert "Cột không đọc / columns not read" in files_table
    assert "Báo cáo!D (Số máy in), Báo cáo!F (Ghi chú)" in files_table


def test_a_csv_with_everything_read_lists_nothing(tmp_path, ingest):
    landing = tmp_path / "landing"
    landing.mkdir()
    (landing / "doc_het.csv").write_text("Mã xã;Tổng số CBCC;Số CBCC có máy tính\n19753;20;19\n")
    raw, status = ingest(landing)
    assert raw.height == 1
    assert status["columns_unread"].to_list() == [None]
    assert status.schema["columns_unread"] == pl.String


# --- 3. Several tables stacked in one sheet ----------------------------------------------------


def test_two_tables_stacked_each_read_with_its_own_header(tmp_path, ingest, judge):
    """Officials first, then after a blank and a title line a table of services with its units
    in another order of columns: the second table is read with its own columns, its header row
    is no unit, and the first table's total row is no unit either."""
    rows = [
        [HUE],
        ["Kỳ báo cáo: 6 tháng đầu năm 2026"],
        ["Biểu 1: Cán bộ, công chức"],
        ["STT", "Mã xã", "Tên đơn vị", "Tổng số CBCC", "Số CBCC có máy tính"],
        [1, "19753", "Phường Phú Xuân", 30, 27],
        [2, "19777", "Phường Vỹ Dạ", 20, 20],
        [None, None, "Tổng cộng", 50, 47],
        [],
        ["Biểu 2: Dịch vụ công trực tuyến"],
        ["Tên xã, phường", "Số hồ sơ nộp trực tuyến", "Tổng số hồ sơ TTHC tiếp nhận", "Mã xã"],
        ["Phường Phú Xuân", 450, 900, "19753"],
        ["Phường Vỹ Dạ", 300, 400, "19777"],
    ]
    raw, status = _ingest_one(tmp_path, ingest, "hai_bang.xlsx", rows)
    accepted, rules, *_ = judge(raw)
    assert accepted == pytest.approx(
        {
            ("19753", "officials_with_computer"): 90.0,
            ("19777", "officials_with_computer"): 100.0,
            ("19753", "online_service_usage"): 50.0,
            ("19777", "online_service_usage"): 75.0,
        }
    )
    assert rules == {}
    by_row = dict(zip(raw["source_row"], raw["source_column"], strict=True))
    assert by_row == {5: "E/D", 6: "E/D", 11: "B/C", 12: "B/C"}
    assert (status["sheets_read"], status["columns_unread"]) == (SHEET, None)


def test_stacked_tables_with_their_own_bands_and_periods(tmp_path, ingest, judge):
    """Three tables without diacritics, the second with a two-row header whose groups carry
    periods and no blank before it (a title line only), the third under a blank row: each read
    with its own columns, last year's group of the second never read."""
    rows = [
        ["UBND THANH PHO HUE"],
        ["Bao cao 6 thang dau nam 2026"],
        ["Ma xa", "Ten don vi", "Dan so", "Dan so duoc phu song 5G"],
        ["19753", "Phu Xuan", 10000, 9000],
        ["Bieu 2"],
        ["Ma xa", "Cung ky nam 2025", None, "6 thang dau nam 2026", None, "Ghi chu"],
        [None, "Tong so CBCC", "So CBCC co may tinh", "Tong so CBCC", "So CBCC co may tinh"],
        ["19815", 40, 4, 40, 36, "x"],
        ["19774", 10, 1, 10, 10, None],
        [],
        ["Ten don vi", "Ma xa", "Tong so lanh dao", "So lanh dao co chuyen mon KHKT"],
        ["Kim Long", "19774", 8, 2],
    ]
    merged = ["A6:A7", "B6:C6", "D6:E6", "F6:F7"]
    raw, status = _ingest_one(tmp_path, ingest, "ba_bang.xlsx", rows, merged)
    accepted, rules, *_ = judge(raw)
    assert accepted == pytest.approx(
        {
            ("19753", "pop_5g_coverage"): 90.0,
            ("19815", "officials_with_computer"): 90.0,
            ("19774", "officials_with_computer"): 100.0,
            ("19774", "leaders_with_stem_expertise"): 25.0,
        }
    )
    assert rules == {}
    assert set(raw["reported_period"]) == {"2026-H1"}
    assert status["columns_unread"] == "Báo cáo!B:C (Cung ky nam 2025), Báo cáo!F (Ghi chu)"


# --- 4. Transposed tables: indicators as rows, units as columns ---------------------------------


def test_transposed_table_by_unit_names(tmp_path, ingest, judge):
    """ "Chỉ tiêu" over the indicator names, one column per unit named in the header, a unit of
    measure column and a notes column: each unit's figures read from its column, with the sheet's
    own cells as lineage; the columns that are no unit are listed unread."""
    rows = [
        [HUE],
        ["Kỳ báo cáo: 6 tháng đầu năm 2026"],
        ["STT", "Chỉ tiêu", "Đơn vị tính", "Phường Phú Xuân", "Phường Vỹ Dạ", "Ghi chú"],
        [1, "Tổng số CBCC", "người", 30, 20, None],
        [2, "Số CBCC có máy tính", "người", 27, 25, "Vỹ Dạ nhập sai"],
        [3, "Dân số", "người", 10000, 8000, None],
        [4, "Dân số được phủ sóng 5G", "người", 9500, 8000, None],
    ]
    raw, status = _ingest_one(tmp_path, ingest, "xoay.xlsx", rows)
    accepted, rules, *_ = judge(raw)
    assert accepted == pytest.approx(
        {
            ("19753", "officials_with_computer"): 90.0,
            ("19753", "pop_5g_coverage"): 95.0,
            ("19777", "pop_5g_coverage"): 100.0,
        }
    )
    assert rules == {("19777", "officials_with_computer"): "numerator_exceeds_denominator"}
    lineage = {
        (r["unit_code"], r["indicator_id"]): (r["source_row"], r["source_column"])
        for r in raw.iter_rows(named=True)
    }
    assert lineage == {
        ("19753", "officials_with_computer"): (5, "D"),
        ("19777", "officials_with_computer"): (5, "E"),
        ("19753", "pop_5g_coverage"): (7, "D"),
        ("19777", "pop_5g_coverage"): (7, "E"),
    }
    assert raw["obs_id"].n_unique() == 4
    assert status["columns_unread"] == (
        "Báo cáo!A (STT), Báo cáo!C (Đơn vị tính), Báo cáo!F (Ghi chú)"
    )


def test_transposed_table_with_a_code_row_and_no_diacritics(tmp_path, ingest, judge):
    """A row of commune codes under the names, headers without diacritics, an indicator the
    catalogue does not know (listed as an unread row), a figure typed as text."""
    rows = [
        ["UBND THANH PHO HUE"],
        ["BAO CAO 6 THANG DAU NAM 2026"],
        ["Noi dung", "P. Phu Xuan", "P. An Cuu", "P. Kim Long"],
        ["Ma xa", "19753", "19815", "19774"],
        ["Tong so lanh dao", 10, 5, "8"],
        ["So may in", 3, 4, 5],
        ["So lanh dao co chuyen mon KHKT", 5, "mot", 2],
    ]
    raw, status = _ingest_one(tmp_path, ingest, "xoay_ma.xlsx", rows)
    accepted, rules, *_ = judge(raw)
    assert accepted == pytest.approx(
        {
            ("19753", "leaders_with_stem_expertise"): 50.0,
            ("19774", "leaders_with_stem_expertise"): 25.0,
        }
    )
    assert rules == {("19815", "leaders_with_stem_expertise"): "not_a_number"}
    [error] = raw.filter(pl.col("unit_code") == "19815")["parse_error"].to_list()
    assert error.startswith("C7: ")
    assert status["columns_unread"] == "Báo cáo!6 (So may in)"


# --- 5. Form-style reports: the unit in the heading, one row per indicator ----------------------


def _form_heading(authority: str, issuer: str, date_line: str, title: str) -> list[list[object]]:
    return [
        [authority, None, None, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"],
        [issuer, None, None, "Độc lập - Tự do - Hạnh phúc"],
        ["Số: 15/BC-UBND", None, None, date_line],
        [None, "BÁO CÁO"],
        [None, title],
        [],
    ]


def test_a_communes_own_report_as_an_official_document(tmp_path, ingest, judge):
    """UBND PHƯỜNG under UBND THÀNH PHỐ, a signing date in another month and year than the
    period, STT | Chỉ tiêu | Đơn vị tính | Kết quả thực hiện | Ghi chú, a section heading row and
    signature lines: the ward's figures read as the title's half."""
    rows = _form_heading(
        "UBND THÀNH PHỐ HUẾ",
        "UBND PHƯỜNG PHÚ XUÂN",
        "Phú Xuân, ngày 05 tháng 01 năm 2027",
        "Kết quả thực hiện chuyển đổi số 6 tháng đầu năm 2026",
    ) + [
        ["STT", "Chỉ tiêu", "Đơn vị tính", "Kết quả thực hiện", "Ghi chú"],
        ["I", "Hạ tầng số"],
        [1, "Dân số", "người", 12000, None],
        [2, "Dân số được phủ sóng 5G", "người", 10800, "theo nhà mạng"],
        ["II", "Nhân lực số"],
        [3, "Tổng số CBCC", "người", 40, None],
        [4, "Số CBCC có máy tính", "người", 38, None],
        [],
        [None, "Nơi nhận:", None, "TM. ỦY BAN NHÂN DÂN"],
    ]
    raw, status = _ingest_one(tmp_path, ingest, "bao_cao_phuong.xlsx", rows)
    assert status["status"] == "read"
    accepted, rules, *_ = judge(raw)
    assert accepted == pytest.approx(
        {("19753", "pop_5g_coverage"): 90.0, ("19753", "officials_with_computer"): 95.0}
    )
    assert rules == {}
    assert set(raw["reported_period"]) == {"2026-H1"}  # not the signing date's 2027
    assert set(raw["source_column"]) == {"D"}
    assert sorted(raw["source_row"]) == [10, 13]  # the numerator's row
    assert status["columns_unread"] == "Báo cáo!C (Đơn vị tính), Báo cáo!E (Ghi chú)"


def test_a_form_without_diacritics_with_plan_and_estimate_columns(tmp_path, ingest, judge):
    """ "UY BAN NHAN DAN XA ..." with both heading lines in one cell, "Noi dung" over the
    indicators, a plan column before the result: only the result column is read."""
    rows = [
        ["UBND TINH QUANG TRI\nUY BAN NHAN DAN XA VINH LINH"],
        ["Vinh Linh, ngay 30 thang 6 nam 2026"],
        ["BAO CAO KET QUA 6 THANG DAU NAM 2026"],
        ["TT", "Noi dung", "DVT", "Ke hoach nam 2026", "Uoc thuc hien 6 thang"],
        [1, "Tong so lanh dao", "nguoi", 10, 8],
        [2, "So lanh dao co chuyen mon KHKT", "nguoi", 5, 2],
    ]
    raw, status = _ingest_one(tmp_path, ingest, "vinh_linh.xlsx", rows)
    accepted, rules, *_ = judge(raw)
    [unit] = raw["unit_code"].unique().to_list()
    assert unit is not None
    assert accepted == pytest.approx({(unit, "leaders_with_stem_expertise"): 25.0})
    assert rules == {}
    assert set(raw["source_column"]) == {"E"}
    assert status["columns_unread"] == "Báo cáo!C (DVT), Báo cáo!D (Ke hoach nam 2026)"


# --- 6. Rows per figure under one unit ---------------------------------------------------------


def test_numerator_denominator_and_rate_on_rows_under_each_unit(tmp_path, ingest, judge):
    """Each unit's name and code merged over three rows: "Tử số", "Mẫu số", "Tỷ lệ (%)"; one
    column per indicator, named by the indicator or one of its own columns. A typed-over rate
    is kept as stated beside its counts; a unit with no rate row is read from its counts."""
    rows = [
        [HUE],
        ["Kỳ báo cáo: 6 tháng đầu năm 2026"],
        ["Mã xã", "Tên đơn vị", "Nội dung", "Tỷ lệ dân số được phủ sóng 5G", "Số CBCC có máy tính"],
        ["19753", "Phường Phú Xuân", "Tử số", 9000, 27],
        [None, None, "Mẫu số", 10000, 30],
        [None, None, "Tỷ lệ (%)", 90, 90],
        ["19777", "Phường Vỹ Dạ", "Tu so", 4000, 19],
        [None, None, "Mau so", 5000, 20],
        ["19815", "Phường An Cựu", "Tử số", 3000, "ba"],
        [None, None, "Mẫu số", 3000, 10],
        [None, None, "Tỷ lệ", 100, None],
    ]
    merged = ["A4:A6", "B4:B6", "A7:A8", "B7:B8", "A9:A11", "B9:B11"]
    raw, status = _ingest_one(tmp_path, ingest, "ba_dong_moi_xa.xlsx", rows, merged)
    accepted, rules, *_ = judge(raw)
    assert accepted == pytest.approx(
        {
            ("19753", "pop_5g_coverage"): 90.0,
            ("19753", "officials_with_computer"): 90.0,
            ("19777", "pop_5g_coverage"): 80.0,
            ("19777", "officials_with_computer"): 95.0,
            ("19815", "pop_5g_coverage"): 100.0,
        }
    )
    assert rules == {("19815", "officials_with_computer"): "not_a_number"}
    lineage = {
        (r["unit_code"], r["indicator_id"]): r["source_row"] for r in raw.iter_rows(named=True)
    }
    assert set(lineage.values()) == {4, 7, 9}  # each unit's numerator row
    assert status["columns_unread"] is None


def test_rows_per_figure_without_diacritics_and_signatures(tmp_path, ingest, judge):
    """The label column first, an indicator named by its id and one by its Vietnamese name, a
    notes column (listed unread), the unit only by name, signature lines after the last unit."""
    rows = [
        ["UBND THANH PHO HUE"],
        ["Bao cao 6 thang dau nam 2026"],
        ["Chi so", "Ten xa", "leaders_with_stem_expertise", "Ghi chu"]
        + ["Ty le dan so duoc phu song 5G"],
        ["Tu so", "Phuong Kim Long", 2, None, 700],
        ["Mau so", None, 8, "moi bo nhiem", 1000],
        ["Tu so", "Phuong An Cuu", 3, None, None],
        ["Mau so", None, 6, None, None],
        [],
        [None, "Nguoi lap bieu", None, "Chu tich"],
    ]
    merged = ["B4:B5", "B6:B7"]
    raw, status = _ingest_one(tmp_path, ingest, "khong_dau.xlsx", rows, merged)
    accepted, rules, *_ = judge(raw)
    assert accepted == pytest.approx(
        {
            ("19774", "leaders_with_stem_expertise"): 25.0,
            ("19774", "pop_5g_coverage"): 70.0,
            ("19815", "leaders_with_stem_expertise"): 50.0,
        }
    )
    assert rules == {}
    assert status["columns_unread"] == "Báo cáo!D (Ghi chu)"


def test_periods_under_the_fields(tmp_path, ingest, judge):
    """The other way round: each field merged over two columns, "Cùng kỳ 2025" and "Năm 2026 (6
    tháng)" under it, the unit headings merged over both rows: the 2026 column of each field
    is read, never the 2025 one, and the period row is no unit."""
    rows = [
        [HUE],
        ["Kỳ báo cáo: 6 tháng đầu năm 2026"],
        ["Mã xã", "Tổng số CBCC", None, "Số CBCC có máy tính", None],
        [None, "Cùng kỳ 2025", "6 tháng đầu 2026", "Cùng kỳ 2025", "6 tháng đầu 2026"],
        ["19753", 40, 30, 4, 24],
        ["19815", 10, 12, 10, 12],
    ]
    merged = ["A3:A4", "B3:C3", "D3:E3"]
    raw, status = _ingest_one(tmp_path, ingest, "ky_duoi.xlsx", rows, merged)
    accepted, rules, *_ = judge(raw)
    assert accepted == pytest.approx(
        {("19753", "officials_with_computer"): 80.0, ("19815", "officials_with_computer"): 100.0}
    )
    assert rules == {}
    assert set(raw["source_column"]) == {"E/C"}
    assert set(raw["source_row"]) == {5, 6}
    assert status["columns_unread"] == ("Báo cáo!B (Cùng kỳ 2025), Báo cáo!D (Cùng kỳ 2025)")


def test_a_form_whose_period_is_only_in_its_result_heading(tmp_path, ingest, judge):
    """No period in the title, only the signing date; the result column says the half: read as
    that half. A last year's column beside it is listed unread."""
    rows = _form_heading(
        "UBND THÀNH PHỐ HUẾ",
        "UBND PHƯỜNG VỸ DẠ",
        "Vỹ Dạ, ngày 28 tháng 6 năm 2026",
        "Báo cáo kết quả chuyển đổi số",
    ) + [
        ["TT", "Tên chỉ tiêu", "Cùng kỳ năm 2025", "Thực hiện 6 tháng đầu năm 2026"],
        [1, "Tổng số CBCC", 20, 25],
        [2, "Số CBCC có máy tính", 10, 20],
    ]
    raw, status = _ingest_one(tmp_path, ingest, "vy_da.xlsx", rows)
    accepted, rules, *_ = judge(raw)
    assert accepted == pytest.approx({("19777", "officials_with_computer"): 80.0})
    assert rules == {}
    assert raw["reported_period"].to_list() == ["2026-H1"]
    assert status["columns_unread"] == "Báo cáo!C (Cùng kỳ năm 2025)"


OTHER_GROUPS = [
    "Cùng kỳ năm 2025",
    "CUNG KY NAM 2025",
    "6 tháng cuối năm 2025",
    "Kế hoạch năm 2026",
    "Ước thực hiện cả năm 2026",
    "So sánh với cùng kỳ (%)",
    "Năm 2025",
]


@pytest.mark.parametrize("other", OTHER_GROUPS)
@pytest.mark.parametrize("current_first", [True, False])
@pytest.mark.parametrize(
    "title", ["Kỳ báo cáo: 6 tháng đầu năm 2026", "BAO CAO 6 THANG DAU NAM 2026"]
)
def test_another_periods_group_is_never_read(other, current_first, title, tmp_path, ingest, judge):
    """Every other period's or plan's group heading, before or after the reported half's, with
    the title's period written either way: its figures (7777) never reach raw_reports."""
    current = ("6 tháng đầu năm 2026", [30, 24])
    previous = (other, [7777, 7777])
    groups = [current, previous] if current_first else [previous, current]
    heading = ["Mã xã", "Tên đơn vị"]
    fields = [None, None]
    data = ["19753", "Phường Phú Xuân"]
    for text, figures in groups:
        heading += [text, None]
        fields += ["Tổng số CBCC", "Số CBCC có máy tính"]
        data += figures
    rows = [[HUE], [title], heading, fields, data]
    raw, status = _ingest_one(
        tmp_path, ingest, "nhom.xlsx", rows, ["A3:A4", "B3:B4", "C3:D3", "E3:F3"]
    )
    accepted, rules, *_ = judge(raw)
    assert accepted == pytest.approx({("19753", "officials_with_computer"): 80.0})
    assert rules == {}
    assert 7777 not in raw["numerator"].to_list() + raw["denominator"].to_list()
    span = "E:F" if current_first else "C:D"
    assert status["columns_unread"] == f"Báo cáo!{span} ({other})"


def test_a_second_table_right_under_the_first(tmp_path, ingest, judge):
    """No blank between the tables: the second header ("Mã xã" again in the unit column) starts
    a table read with its own columns, and is never read as a unit."""
    rows = [
        [HUE],
        ["Kỳ báo cáo: 6 tháng đầu năm 2026"],
        ["Mã xã", "Tổng số CBCC", "Số CBCC có máy tính"],
        ["19753", 30, 27],
        ["19815", 10, 10],
        ["MÃ XÃ", "Dân số", "Dân số được phủ sóng 5G", "Ghi chú"],
        ["19753", 10000, 9900, None],
        ["19815", 8000, 6000, "ước tính"],
    ]
    raw, status = _ingest_one(tmp_path, ingest, "sat_nhau.xlsx", rows)
    accepted, rules, *_ = judge(raw)
    assert accepted == pytest.approx(
        {
            ("19753", "officials_with_computer"): 90.0,
            ("19815", "officials_with_computer"): 100.0,
            ("19753", "pop_5g_coverage"): 99.0,
            ("19815", "pop_5g_coverage"): 75.0,
        }
    )
    assert rules == {}
    assert set(raw["source_row"]) == {4, 5, 7, 8}
    assert status["columns_unread"] == "Báo cáo!D (Ghi chú)"
