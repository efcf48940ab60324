"""Long and operator-coverage shapes, units by name narrowed by a province, lineage, resubmission
(same file twice, later file wins, conflicts in one file) and files that cannot be read at all."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import polars as pl
import pytest
from openpyxl import Workbook

from assets.ingest.landing import progress_logger
from tests.ingest.conftest import INGESTED_AT
from tests.ingest.forms import write_messy_xlsx

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def _csv(path: Path, lines: list[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _wide(path: Path, rows: list[tuple], mtime: float | None = None) -> Path:
    """A minimal wide report: code, officials, officials with a computer."""
    lines = ["Mã xã;Tổng số CBCC;Số CBCC có máy tính", *(";".join(map(str, r)) for r in rows)]
    _csv(path, lines)
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return path


def test_long_shape(tmp_path, ingest, judge):
    _csv(
        tmp_path / "l" / "dai.csv",
        [
            "Mã đơn vị;Chỉ tiêu;Tử số;Mẫu số;Giá trị",
            "19753;Tỷ lệ cán bộ, công chức cấp xã có máy tính đáp ứng cấu hình tối thiểu;28;30;",
            "19774;pop_5g_coverage;;;90,5",
            "19777;Số thôn, bản còn vùng lõm sóng;;;2",
            "19777;Chỉ tiêu lạ;;;5",
        ],
    )
    raw, _ = ingest(tmp_path / "l")
    accepted, rules, *_ = judge(raw)
    assert accepted == pytest.approx(
        {
            ("19753", "officials_with_computer"): 28 / 30 * 100,
            ("19774", "pop_5g_coverage"): 90.5,
            ("19777", "villages_without_mobile_signal"): 2.0,
        }
    )
    assert rules == {("19777", "?chi tieu la"): "unknown_indicator"}


def test_operator_coverage_by_name_narrowed_by_the_province_column(tmp_path, ingest, judge):
    """Xã Phú Vinh and Xã Phú Lộc exist in two provinces: the province column (an old name
    here) decides; without it the unit is ambiguous and quarantined, never guessed."""
    _csv(
        tmp_path / "l" / "viettel_5g.csv",
        [
            "Tên xã,Tỉnh,Dân số,Dân số được phủ sóng 5G,Tỷ lệ phủ sóng 5G",
            'Xã Phú Vinh,Thừa Thiên Huế,"12.000","9.000","75,0%"',
            'Xã Phú Lộc,Huế,"8.000","8.000","100%"',
            'Xã Phú Lộc,,"8.000","4.000","50%"',
            'Phường Vỹ Dạ,Thành phố Huế,"10.000","9.000","80%"',
        ],
    )
    raw, _ = ingest(tmp_path / "l")
    assert raw["match_kind"].to_list() == ["name", "name", "ambiguous", "name"]
    accepted, rules, *_ = judge(raw)
    assert accepted == pytest.approx(
        {("19945", "pop_5g_coverage"): 75.0, ("20107", "pop_5g_coverage"): 100.0}
    )
    assert rules == {
        (None, "pop_5g_coverage"): "unit_unresolved",
        ("19777", "pop_5g_coverage"): "stated_value_mismatch",  # 9.000/10.000 is 90 %, not 80
    }


@pytest.mark.parametrize(
    ("title", "unit_code"), [("UBND TỈNH THỪA THIÊN HUẾ", "20107"), ("BÁO CÁO", None)]
)
def test_the_title_block_province_narrows_names(title, unit_code, tmp_path, ingest):
    _csv(
        tmp_path / "l" / "bao_cao.csv",
        [title, "", "Tên xã;Tổng số CBCC;Số CBCC có máy tính", "Xã Phú Lộc;20;19"],
    )
    raw, _ = ingest(tmp_path / "l")
    assert raw["unit_code"].to_list() == [unit_code]


def test_lineage_and_landing_files_untouched(tmp_path, ingest):
    landing = tmp_path / "landing"
    path = write_messy_xlsx(landing / "hue" / "bao_cao.xlsx")
    before = (path.read_bytes(), path.stat().st_mtime_ns)
    raw, status = ingest(landing)
    assert (path.read_bytes(), path.stat().st_mtime_ns) == before
    digest = hashlib.sha256(before[0]).hexdigest()
    row = raw.filter(pl.col("indicator_id") == "budget_share_sti_dx").row(0, named=True)
    assert {k: row[k] for k in ("source_file", "source_sheet", "source_row", "source_column")} == {
        "source_file": "hue/bao_cao.xlsx",
        "source_sheet": "Báo cáo",
        "source_row": 8,
        "source_column": "K/L",
    }
    assert set(raw["file_sha256"]) == {digest} and set(status["file_sha256"]) == {digest}
    assert set(raw["ingested_at"]) == {INGESTED_AT}
    assert raw["obs_id"].n_unique() == raw.height


def test_same_file_twice_is_read_once(tmp_path, ingest):
    landing = tmp_path / "landing"
    first = _wide(landing / "a.csv", [("19753", 30, 28)], mtime=1_000)
    shutil.copyfile(first, landing / "b_copy.csv")
    os.utime(landing / "b_copy.csv", (2_000, 2_000))
    raw, status = ingest(landing)
    assert status.select("source_file", "status").rows() == [
        ("a.csv", "read"),
        ("b_copy.csv", "duplicate"),
    ]
    assert "a.csv" in status["reason_en"][1] and "a.csv" in status["reason_vi"][1]
    assert set(raw["source_file"]) == {"a.csv"}


def test_a_later_file_supersedes_by_mtime_then_name(tmp_path, ingest, judge):
    landing = tmp_path / "landing"
    _wide(landing / "z_first.csv", [("19753", 30, 10), ("19774", 20, 10)], mtime=1_000)
    _wide(landing / "a_later.csv", [("19753", 30, 20)], mtime=2_000)  # later, despite its name
    _wide(landing / "m_tie.csv", [("19774", 20, 15)], mtime=1_000)  # same time: the later name wins
    raw, _ = ingest(landing)
    accepted, rules, _, _, superseded = judge(raw)
    assert accepted == pytest.approx(
        {
            ("19753", "officials_with_computer"): 20 / 30 * 100,
            ("19774", "officials_with_computer"): 50.0,
        }
    )
    assert rules == {}
    assert sorted(superseded.select("source_file", "unit_code").rows()) == [
        ("m_tie.csv", "19774"),  # "m" < "z": the tie goes to the later name
        ("z_first.csv", "19753"),
    ]
    replaced_by = dict(zip(raw["obs_id"], raw["source_file"], strict=True))
    assert [replaced_by[o] for o in superseded.sort("source_file")["superseded_by"]] == [
        "z_first.csv",
        "a_later.csv",
    ]


def test_conflicting_duplicates_in_one_file_are_both_quarantined(tmp_path, ingest, judge):
    landing = tmp_path / "landing"
    _wide(
        landing / "a.csv",
        [("19753", 30, 28), ("19753", 30, 25), ("19774", 20, 10), ("19774", 20, 10)],
    )
    raw, _ = ingest(landing)
    _, rules, validated, quarantined, superseded = judge(raw)
    assert quarantined.select("source_row", "rule_id").rows() == [
        (2, "conflicting_duplicate"),
        (3, "conflicting_duplicate"),
    ]
    # the same figures twice are one report: the last row stands, the first is superseded
    assert validated.select("unit_code", "source_row").rows() == [("19774", 5)]
    assert superseded["source_row"].to_list() == [4]


def test_unreadable_files_are_rejected_and_the_run_carries_on(tmp_path, ingest):
    landing = tmp_path / "landing"
    _wide(landing / "good.csv", [("19753", 30, 28)])
    good = write_messy_xlsx(tmp_path / "x.xlsx").read_bytes()
    (landing / "corrupt.xlsx").write_bytes(good[: len(good) // 2])  # cut short in the mail
    shutil.copyfile(FIXTURES / "password_protected.xls", landing / "password_protected.xls")
    (landing / "scan.pdf").write_bytes(b"%PDF-1.4\n" + b"0" * 200)
    (landing / "notes.docx").write_bytes(b"PK\x03\x04" + b"\x00" * 100)
    wb = Workbook()
    wb.active.append(["Họ tên", "Ghi chú"])
    wb.save(landing / "no_table.xlsx")
    raw, status = ingest(landing)
    by_file = {r["source_file"]: r for r in status.iter_rows(named=True)}
    assert by_file["good.csv"]["status"] == "read" and set(raw["source_file"]) == {"good.csv"}
    for name, english, vietnamese in [
        ("corrupt.xlsx", "corrupt", "hỏng"),
        ("password_protected.xls", "password", "mật khẩu"),
        ("scan.pdf", "unsupported", "không được hỗ trợ"),
        ("notes.docx", "unsupported", "không được hỗ trợ"),
        ("no_table.xlsx", "no report table", "Tệp no_table.xlsx: không tìm thấy bảng"),
    ]:
        row = by_file[name]
        assert row["status"] == "rejected", name
        assert english in row["reason_en"] and vietnamese in row["reason_vi"], row


def test_a_file_gone_or_unreadable_after_listing_is_skipped_or_rejected(tmp_path, catalogue):
    """Between the listing and the worker that reads it, a file may be moved away (read on the
    next run) or turn out not to be a file one can open: a status row, never an exception."""
    from assets.ingest.landing import landing_files, read_file

    landing = tmp_path / "landing"
    _wide(landing / "moved.csv", [("19753", 30, 28)])
    _wide(landing / "folder.xlsx", [("19753", 30, 28)])
    moved, odd = sorted(landing_files(landing, hashed=False), key=lambda f: f.rel)[::-1]
    (landing / "moved.csv").unlink()
    (landing / "folder.xlsx").unlink()
    (landing / "folder.xlsx").mkdir()  # replaced by a folder: opening it fails
    observations, status = read_file(moved, catalogue)
    assert observations == [] and status["status"] == "skipped"
    assert "moved.csv was moved or deleted during the run" in status["reason_en"]
    observations, status = read_file(odd, catalogue)
    assert observations == [] and status["status"] == "rejected"
    assert status["reason_en"].startswith("file folder.xlsx: cannot be opened (")
    assert "không mở được" in status["reason_vi"]


def test_an_unforeseen_error_rejects_only_its_file(tmp_path, ingest, monkeypatch, caplog):
    """A bug meeting a file shaped like none before: that file is rejected with the error
    named (and logged with its traceback); the other files are read."""
    import assets.ingest.landing as landing_module

    _wide(tmp_path / "l" / "a.csv", [("19753", 30, 28)])
    _wide(tmp_path / "l" / "b.csv", [("19753", 30, 27)])
    find_layout = landing_module.find_layout

    def fragile(rows, catalogue):
        if any("27" in str(c) for row in rows for c in row):
            raise TypeError("'<' not supported between instances of 'str' and 'int'")
        return find_layout(rows, catalogue)

    monkeypatch.setattr(landing_module, "find_layout", fragile)
    with caplog.at_level("ERROR", logger="assets.ingest.landing"):
        raw, status = ingest(tmp_path / "l")
    by_file = {r["source_file"]: r for r in status.iter_rows(named=True)}
    assert by_file["a.csv"]["status"] == "read" and set(raw["source_file"]) == {"a.csv"}
    assert by_file["b.csv"]["status"] == "rejected"
    assert by_file["b.csv"]["reason_en"] == (
        "file b.csv: unexpected error while reading (TypeError: '<' not supported between "
        "instances of 'str' and 'int'); report it to the data team"
    )
    assert [r.getMessage() for r in caplog.records] == ["unexpected error reading b.csv"]
    assert caplog.records[0].exc_info is not None


def test_a_process_pool_reads_the_same_as_one_process(tmp_path, ingest):
    landing = tmp_path / "landing"
    for k in range(5):
        write_messy_xlsx(landing / f"f{k}.xlsx", province_title=f"UBND THÀNH PHỐ HUẾ {'.' * k}")
        os.utime(landing / f"f{k}.xlsx", (1_000 + k, 1_000 + k))
    one, status_one = ingest(landing, workers=1)
    two, status_two = ingest(landing, workers=2)
    assert one.equals(two) and status_one.equals(status_two)
    assert one.height == 5 * 20 and set(one["province_raw"]) == {"46"}


def test_progress_says_files_read_of_total_and_the_rate(tmp_path, ingest):
    lines: list[str] = []
    for k in range(3):
        _wide(tmp_path / "l" / f"{k}.csv", [("19753", 30, 28 - k)])
    ingest(tmp_path / "l", progress=progress_logger(lines.append, every=2))
    assert [line.split(" (")[0] for line in lines] == [
        "đã đọc / read 2/3 tệp / files",
        "đã đọc / read 3/3 tệp / files",
    ]
    assert all("files/s" in line for line in lines)


def test_without_a_progress_callback_progress_goes_to_the_terminal_logger(tmp_path, ingest, caplog):
    """`dxlake run` shows the dxlake.progress logger on stderr, whoever reads the folder."""
    _wide(tmp_path / "l" / "a.csv", [("19753", 30, 28)])
    with caplog.at_level("INFO", logger="dxlake.progress"):
        ingest(tmp_path / "l")
    assert [r.getMessage().split(" (")[0] for r in caplog.records] == [
        "dxlake: đã đọc / read 1/1 tệp / files"
    ]


def test_a_cell_site_list_beside_a_report_is_left_to_the_coverage_assets(tmp_path, ingest, judge):
    """An operator's site list in the landing folder is told from a report by its lat, lon and
    radius columns: file status cell_sites (not rejected), no observations; the report beside it
    is read exactly as it is without it."""
    alone, both = tmp_path / "alone", tmp_path / "both"
    for folder in (alone, both):
        _wide(folder / "bao_cao.csv", [("19753", 30, 28), ("19774", 20, 15)], mtime=1_000)
    sites = _csv(
        both / "tram_bts.csv",
        [
            "DANH SÁCH TRẠM PHÁT SÓNG;;;;;",
            "Nhà mạng;Mã trạm;Công nghệ;Vĩ độ;Kinh độ;Bán kính (m)",
            "Viettel;HUE001;5G;16,4637;107,5909;1200",
            "VNPT;HUE002;4G;16,47;107,6;800",
        ],
    )
    raw_alone, status_alone = ingest(alone)
    raw, status = ingest(both)

    by_file = {r["source_file"]: r for r in status.iter_rows(named=True)}
    assert sorted(by_file) == ["bao_cao.csv", "tram_bts.csv"]
    site_list = by_file["tram_bts.csv"]
    assert site_list["status"] == "cell_sites"
    assert site_list["observations"] == 0
    assert site_list["reason_en"] == (
        "cell-site list: read into cell_sites for the coverage computation"
    )
    assert site_list["reason_vi"].startswith("Danh sách trạm phát sóng")
    assert site_list["sheets_read"] == "tram_bts"
    assert site_list["file_sha256"] == hashlib.sha256(sites.read_bytes()).hexdigest()

    assert by_file["bao_cao.csv"] == status_alone.row(0, named=True)
    assert by_file["bao_cao.csv"]["status"] == "read"
    assert raw.equals(raw_alone) and set(raw["source_file"]) == {"bao_cao.csv"}
    accepted, rules, *_ = judge(raw)
    assert accepted == pytest.approx(
        {
            ("19753", "officials_with_computer"): 28 / 30 * 100,
            ("19774", "officials_with_computer"): 15 / 20 * 100,
        }
    )
    assert rules == {}
