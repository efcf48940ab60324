"""A province's share of the landing snapshot, read from the lake for the provinces of a run
only, is the share cut from the whole snapshot."""

from __future__ import annotations

from pathlib import Path

from assets.ingest.snapshot import province_share, snapshot_shares, take_snapshot, write_snapshot
from schemas.settings import Settings

PERIOD = "2026-H1"
HEADER = "Mã xã;Số thôn, bản còn vùng lõm sóng;Tổng số cán bộ, công chức cấp xã;Số cán bộ, công chức có máy tính đáp ứng cấu hình tối thiểu"


def test_shares_read_for_some_provinces_equal_the_whole_snapshots(tmp_path: Path):
    landing = tmp_path / "landing" / PERIOD
    landing.mkdir(parents=True)
    (landing / "hue.csv").write_text(f"{HEADER}\n19753;1;20;19\n19774;0;25;25\n", encoding="utf-8")
    (landing / "da_nang.csv").write_text(f"{HEADER}\n20194;0;22;21\n", encoding="utf-8")
    (landing / "scan.pdf").write_bytes(b"%PDF-1.4 not a report")
    settings = Settings(home=tmp_path)
    rows, files = take_snapshot(settings, PERIOD)
    write_snapshot(settings.tables, PERIOD, rows, files)

    for provinces in (["46"], ["48", "00"], ["00", "46", "48"], ["01"]):
        shares = snapshot_shares(settings.tables, PERIOD, provinces)
        assert list(shares) == provinces
        for p in provinces:
            raw, status = shares[p]
            whole_raw, whole_status = province_share(rows, files, p)
            assert raw.equals(whole_raw) and status.equals(whole_status), p
    hue_raw, hue_status = snapshot_shares(settings.tables, PERIOD, ["46"])["46"]
    assert sorted(set(hue_raw["unit_code"])) == ["19753", "19774"]
    assert hue_status["source_file"].to_list() == ["hue.csv"]
    pdf_raw, pdf_status = snapshot_shares(settings.tables, PERIOD, ["00"])["00"]
    assert pdf_raw.is_empty() and pdf_status["source_file"].to_list() == ["scan.pdf"]
