"""Every hostile case through ingest_folder, beside the good files: the call finishes, each bad
file gets its status and a bilingual reason, and the good files' observations are unchanged."""

from __future__ import annotations

import tracemalloc

import polars as pl
import pytest

from assets.ingest.landing import ingest_folder
from tests.hostile.cases import CASES, PERIOD, write_cases
from tests.hostile.conftest import FIGURES, copy_good, ingest_beside_good

GOOD = [
    "so_khcn_hue_2026-H1.xlsx",
    "so_khcn_hue_2026-H1_bo_sung.xlsx",
    "viettel_phu_song_5g_2026-H1.csv",
]


def _observations(raw: pl.DataFrame, files: list[str]) -> pl.DataFrame:
    return raw.filter(pl.col("source_file").is_in(files)).drop("ingested_at").sort("obs_id")


@pytest.fixture(scope="module")
def ingested(tmp_path_factory, good_landing, lowered_limits, catalogue, gazetteer):
    """(raw, status) of the good files alone and of the good files with every case."""
    base = tmp_path_factory.mktemp("ingest")
    return ingest_beside_good(
        base,
        good_landing,
        lambda folder: write_cases(folder, base / "good" / GOOD[0]),
        len(CASES),
        catalogue,
        gazetteer,
    )


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_case_gets_its_status_and_reason(ingested, case):
    _, (raw, status) = ingested
    row = status.filter(pl.col("source_file") == case.name).to_dicts()
    assert len(row) == 1, f"{case.name} has no file_status row"
    row = row[0]
    assert row["status"] == case.status, row
    assert case.reason in (row["reason_en"] or ""), row
    if case.status != "read":
        assert row["reason_vi"] and row["reason_en"] and case.name in row["reason_en"]
    n = raw.filter(pl.col("source_file") == case.name).height
    assert (n > 0) is case.rows and n == row["observations"]


def test_good_files_read_exactly_as_without_the_hostile_ones(ingested):
    (raw_alone, status_alone), (raw_mixed, status_mixed) = ingested
    assert status_alone["status"].to_list() == ["read"] * 3
    assert _observations(raw_mixed, GOOD).equals(_observations(raw_alone, GOOD))
    lock = status_mixed.filter(pl.col("source_file") == ".~lock.open_in_editor.csv#")
    assert lock["status"].to_list() == ["ignored"]  # every entry has a row, the lock file too
    assert status_mixed.height == len(GOOD) + len(CASES) + 1


def test_nothing_from_outside_the_landing_folder_is_read(ingested):
    _, (raw, _) = ingested
    cells = raw.select(pl.concat_str(pl.all().cast(pl.String), ignore_nulls=True)).to_series()
    assert not cells.str.contains("root:x:0").any()


def test_a_file_that_grows_while_the_run_reads_is_skipped_not_half_read(
    tmp_path, good_landing, lowered_limits, catalogue, gazetteer
):
    """The folder is listed first; the progress callback appends to the last file after the
    first is read, as a copy still in progress would: that file is skipped for the next run."""
    copy_good(good_landing, tmp_path)
    growing = tmp_path / GOOD[2]
    grown = []

    def progress(done: int, total: int, name: str) -> None:
        if not grown:
            with growing.open("ab") as fh:
                fh.write("00001;Xã đang chép dở;12".encode())
            grown.append(name)

    raw, status = ingest_folder(tmp_path, PERIOD, catalogue, gazetteer, progress=progress)
    FIGURES["cases tried"] += 1
    row = status.filter(pl.col("source_file") == GOOD[2]).row(0, named=True)
    assert grown and grown[0] != GOOD[2]
    assert row["status"] == "skipped" and "next run" in row["reason_en"]
    assert raw.filter(pl.col("source_file") == GOOD[2]).is_empty()


def test_a_1gb_line_is_refused_after_reading_only_the_limit(tmp_path, monkeypatch):
    """A real 1 GiB line (a sparse file: no disk used) with the default line limit: refused at
    line 2 having held about one line limit of it, never the gigabyte."""
    from assets.ingest.readers import UnreadableFile, read_sheets

    monkeypatch.setenv("DXLAKE_MAX_FILE_MB", "2048")
    monkeypatch.delenv("DXLAKE_MAX_LINE_BYTES", raising=False)
    path = tmp_path / "one_gb_line.csv"
    with path.open("wb") as fh:
        fh.write(b"Ma xa;Ten xa\n00001;")
        fh.truncate(1 << 30)
    tracemalloc.start()
    try:
        with pytest.raises(UnreadableFile) as err:
            read_sheets(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    FIGURES["cases tried"] += 1
    assert "line 2 is longer than 1,048,576 bytes" in err.value.reason_en
    assert "dòng 2" in err.value.reason_vi
    assert peak < 8 << 20, f"held {peak / 2**20:.1f} MiB reading a 1 GiB line"


def test_limits_are_settings_with_a_clear_error(monkeypatch):
    from schemas.settings import Settings

    monkeypatch.setenv("DXLAKE_MAX_ROWS", "12")
    assert Settings.from_env().limits.max_rows == 12
    monkeypatch.setenv("DXLAKE_MAX_ROWS", "lots")
    with pytest.raises(ValueError, match="DXLAKE_MAX_ROWS"):
        Settings.from_env()


def test_the_generated_workbooks_are_valid_below_the_limits(tmp_path, lowered_limits):
    """Control: the same generator under the limits reads fine, so the refusals above are the
    limits' doing, not broken test files."""
    from assets.ingest.readers import read_sheets
    from tests.hostile.cases import _cells, minimal_xlsx

    path = tmp_path / "small.xlsx"
    path.write_bytes(minimal_xlsx(_cells(3, 4)))
    (sheet,) = read_sheets(path)
    assert sheet.rows == [[1.0] * 4] * 3
