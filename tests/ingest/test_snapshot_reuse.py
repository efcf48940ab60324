"""A landing snapshot reuses the previous one for the files unchanged since (issue 20): after each
change to the folder, the snapshot taken reusing the lake's equals a full re-read of the folder
(every row, status, order and province; the time of reading aside), and it read only the files
new or changed (`reading` == "read"; the asset reports their number as `files_read`)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from assets.ingest.snapshot import take_snapshot, write_snapshot
from schemas.settings import Limits, Settings
from tests.ingest.forms import PERIOD, write_messy_xlsx

T0 = 1_780_000_000  # the landing's file times: its order
HEADER = (
    "Mã xã;Tổng số cán bộ, công chức cấp xã;"
    "Số cán bộ, công chức có máy tính đáp ứng cấu hình tối thiểu"
)
SITES = (
    "Nhà mạng;Mã trạm;Công nghệ;Vĩ độ;Kinh độ;Bán kính (km)\n"
    "Viettel;HUE001;5G;16,4637;107,5909;1,2\n"
)


def _report(path: Path, rows: list[tuple[str, int, int]], at: int) -> Path:
    """A commune's report (code, officials, officials with a computer), landed at T0 + at."""
    path.write_text("\n".join([HEADER, *(f"{c};{n};{k}" for c, n, k in rows)]) + "\n")
    return _landed(path, at)


def _landed(path: Path, at: int) -> Path:
    os.utime(path, (T0 + at, T0 + at))
    return path


@pytest.fixture
def lake(tmp_path) -> tuple[Settings, Path]:
    """A lake whose landing has two provinces' reports, a copy of one (a duplicate), a broken
    workbook (rejected), a site list, a titled workbook and a hidden file, snapshotted once."""
    settings = Settings(home=tmp_path)
    landing = settings.landing / PERIOD
    landing.mkdir(parents=True)
    _report(landing / "phu_xuan.csv", [("19753", 30, 28)], 1)
    _report(landing / "kim_long.csv", [("19774", 25, 20)], 2)
    _report(landing / "ha_noi.csv", [("00004", 40, 39), ("00008", 41, 30)], 3)
    _landed(Path(shutil.copy(landing / "kim_long.csv", landing / "kim_long_lan_2.csv")), 4)
    (landing / "hong.xlsx").write_bytes(b"PK\x03\x04 not a workbook")
    _landed(landing / "hong.xlsx", 5)
    (landing / "tram.csv").write_text(SITES)
    _landed(landing / "tram.csv", 6)
    _landed(write_messy_xlsx(landing / "tong_hop.xlsx"), 7)
    (landing / ".ghi_chu.txt").write_text("not a report")
    first = take_snapshot(settings, PERIOD)
    assert _read_now(first) == [  # the first snapshot reads every file
        "ha_noi.csv",
        "hong.xlsx",
        "kim_long.csv",
        "kim_long_lan_2.csv",
        "phu_xuan.csv",
        "tong_hop.xlsx",
        "tram.csv",
    ]
    write_snapshot(settings.tables, PERIOD, *first)
    return settings, landing


def _read_now(snapshot: tuple[pl.DataFrame, pl.DataFrame]) -> list[str]:
    return sorted(snapshot[1].filter(pl.col("reading") == "read")["source_file"])


def _again(settings: Settings) -> tuple[tuple[pl.DataFrame, pl.DataFrame], dict[str, str]]:
    """The snapshot reusing the lake's, checked equal to a full re-read, then stored as the
    asset stores it; and each file's status."""
    reused = take_snapshot(settings, PERIOD)
    full = take_snapshot(settings, PERIOD, reuse=False)
    assert_frame_equal(reused[0].drop("ingested_at"), full[0].drop("ingested_at"))
    assert_frame_equal(reused[1].drop("reading"), full[1].drop("reading"))
    assert set(full[1]["reading"]) <= {"read", "listed"}
    write_snapshot(settings.tables, PERIOD, *reused)
    return reused, dict(reused[1].select("source_file", "status").iter_rows())


def test_nothing_changed_reads_nothing(lake):
    settings, _ = lake
    snapshot, status = _again(settings)
    assert _read_now(snapshot) == []
    assert status["kim_long_lan_2.csv"] == "duplicate" and status["hong.xlsx"] == "rejected"
    assert status["tram.csv"] == "cell_sites" and status[".ghi_chu.txt"] == "ignored"
    assert snapshot[0]["source_file"].n_unique() == 4  # the reports' rows, all reused


def test_a_resubmitted_file_is_the_only_one_read_and_moves_to_its_new_place(lake):
    settings, landing = lake
    before = take_snapshot(settings, PERIOD)[0]
    _report(landing / "phu_xuan.csv", [("19753", 30, 30)], 10)  # corrected, landed last
    snapshot, _ = _again(settings)
    assert _read_now(snapshot) == ["phu_xuan.csv"]
    rows = snapshot[0]
    assert rows["source_file"].unique(maintain_order=True).to_list()[-1] == "phu_xuan.csv"
    assert rows.filter(source_file="phu_xuan.csv")["numerator_raw"].to_list() == ["30"]
    # the files not read keep the rows (and the time) of their reading
    kept = rows.filter(pl.col("source_file") != "phu_xuan.csv")
    assert_frame_equal(kept, before.filter(pl.col("source_file") != "phu_xuan.csv"))


def test_a_file_rewritten_with_its_size_and_time_kept_is_read_again(lake):
    """In place, same size, mtime set back (an archive's dates): the ctime tells."""
    settings, landing = lake
    _report(landing / "phu_xuan.csv", [("19753", 30, 27)], 1)
    snapshot, _ = _again(settings)
    assert _read_now(snapshot) == ["phu_xuan.csv"]
    assert snapshot[0].filter(source_file="phu_xuan.csv")["numerator_raw"].to_list() == ["27"]


def test_added_removed_and_renamed_files(lake):
    settings, landing = lake
    _report(landing / "vy_da.csv", [("19777", 22, 11)], 0)  # added, first in the landing order
    snapshot, status = _again(settings)
    assert _read_now(snapshot) == ["vy_da.csv"] and status["vy_da.csv"] == "read"
    (landing / "ha_noi.csv").unlink()
    snapshot, status = _again(settings)
    assert _read_now(snapshot) == [] and "ha_noi.csv" not in status
    assert "01" not in snapshot[0]["province_code"].to_list()  # Hà Nội's rows left with it
    (landing / "vy_da.csv").rename(landing / "xa_vy_da.csv")
    snapshot, status = _again(settings)
    assert _read_now(snapshot) == ["xa_vy_da.csv"] and "vy_da.csv" not in status


def test_a_duplicate_becomes_the_read_file_when_its_original_changes(lake):
    """kim_long_lan_2.csv duplicated kim_long.csv: once the original is corrected, the copy is
    the first with its content, so it is read again (and read), and the original too."""
    settings, landing = lake
    _report(landing / "kim_long.csv", [("19774", 25, 25)], 12)
    snapshot, status = _again(settings)
    assert _read_now(snapshot) == ["kim_long.csv", "kim_long_lan_2.csv"]
    assert status["kim_long_lan_2.csv"] == "read" and status["kim_long.csv"] == "read"


def test_a_new_copy_earlier_in_the_landing_order_makes_the_reused_file_its_duplicate(lake):
    """A copy landed with an older time than the file read before (cp -p): the copy is read
    and is the original now; the file read before is reused as the duplicate it became."""
    settings, landing = lake
    _landed(Path(shutil.copy(landing / "phu_xuan.csv", landing / "ban_sao.csv")), 0)
    snapshot, status = _again(settings)
    assert _read_now(snapshot) == ["ban_sao.csv"]
    assert status["ban_sao.csv"] == "read" and status["phu_xuan.csv"] == "duplicate"
    assert snapshot[0].filter(source_file="phu_xuan.csv").is_empty()


def test_a_removed_original_leaves_its_duplicate_read(lake):
    settings, landing = lake
    (landing / "kim_long.csv").unlink()
    snapshot, status = _again(settings)
    assert _read_now(snapshot) == ["kim_long_lan_2.csv"]
    assert status["kim_long_lan_2.csv"] == "read"


def test_a_file_open_in_an_editor_is_skipped_then_read_once_closed(lake):
    settings, landing = lake
    lock = landing / ".~lock.phu_xuan.csv#"
    lock.write_text("someone,office-pc,01.06.2026 09:00;")
    snapshot, status = _again(settings)
    assert _read_now(snapshot) == [] and status["phu_xuan.csv"] == "skipped"
    assert snapshot[0].filter(source_file="phu_xuan.csv").is_empty()
    lock.unlink()
    snapshot, status = _again(settings)
    assert _read_now(snapshot) == ["phu_xuan.csv"] and status["phu_xuan.csv"] == "read"


def test_a_rejected_file_is_reused_until_it_is_replaced(lake):
    settings, landing = lake
    snapshot, _ = _again(settings)
    assert snapshot[1].filter(source_file="hong.xlsx")["reading"].to_list() == ["reused"]
    _report(landing / "hong.xlsx", [("19777", 22, 11)], 13)  # a CSV under an .xlsx name
    snapshot, status = _again(settings)
    assert _read_now(snapshot) == ["hong.xlsx"] and status["hong.xlsx"] == "read"


def test_another_setting_reads_every_file_again(lake):
    settings, _ = lake
    lowered = Settings(home=settings.home, limits=Limits(max_rows=10))
    snapshot, status = _again(lowered)
    assert len(_read_now(snapshot)) == 7
    assert status["tong_hop.xlsx"] == "rejected"  # over the lowered row limit
    snapshot, _ = _again(lowered)
    assert _read_now(snapshot) == []  # then reused, read with the same setting


def test_another_reading_code_reads_every_file_again(lake, monkeypatch):
    """The reading code changed (its digest, reading_version): nothing is reused."""
    import assets.ingest.snapshot

    settings, _ = lake
    monkeypatch.setattr(assets.ingest.snapshot, "reading_version", lambda: "another reader")
    snapshot, _ = _again(settings)
    assert len(_read_now(snapshot)) == 7


def test_a_snapshot_stored_to_another_contract_is_read_again_whole(lake):
    """A lake written before a contract changed (here its rows lack a column today's contract
    has): nothing of it is reused, nothing fails."""
    settings, _ = lake
    rows = settings.tables / "landing_snapshot" / f"period={PERIOD}" / "rows.parquet"
    pl.read_parquet(rows).drop("province_code").write_parquet(rows)
    snapshot, _ = _again(settings)
    assert len(_read_now(snapshot)) == 7


def test_a_changed_site_list_is_read_again_and_stays_a_site_list(lake):
    settings, landing = lake
    before = dict(take_snapshot(settings, PERIOD)[1].select("source_file", "file_sha256").rows())
    (landing / "tram.csv").write_text(SITES + "Mobifone;HUE002;4G;16,47;107,6;2\n")
    snapshot, status = _again(settings)
    assert _read_now(snapshot) == ["tram.csv"] and status["tram.csv"] == "cell_sites"
    after = dict(snapshot[1].select("source_file", "file_sha256").rows())
    assert after["tram.csv"] != before["tram.csv"]


def test_the_asset_reports_the_files_it_read(lake):
    import dagster as dg

    from assets.ingest.assets import landing_snapshot
    from assets.resources import LakeResource

    settings, landing = lake
    _report(landing / "vy_da.csv", [("19777", 22, 11)], 14)
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("period", [PERIOD])
        result = dg.materialize(
            [landing_snapshot],
            partition_key=PERIOD,
            instance=instance,
            resources={"lake": LakeResource.from_settings(settings)},
        )
    (event,) = result.get_asset_materialization_events()
    metadata = {k: v.value for k, v in event.materialization.metadata.items()}
    assert metadata["files_read"] == 1 and metadata["files_reused"] == 7
