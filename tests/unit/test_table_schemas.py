"""Every lake table is built with its contract's schema, never inferred from its first rows:
a period where more than a hundred files read cleanly and a later one is rejected, or is a
cell-site list, crashed the national run (polars inferred file_status from the first 100)."""

from __future__ import annotations

import os

import pytest

from assets.ingest.snapshot import take_snapshot, write_snapshot
from orchestration.runner import materialize_period
from schemas.contracts import CONTRACTS
from schemas.lake import read_period
from schemas.settings import Settings

PERIOD = "2026-H1"
CLEAN = "Mã xã;Tổng số cán bộ, công chức cấp xã\n{code};{n}\n"
SITES = "Nhà mạng;Mã trạm;Công nghệ;Vĩ độ;Kinh độ;Bán kính (km)\nViettel;HUE001;5G;16,4637;107,5909;1,2\n"
HUE = ["19753", "19774", "19777", "19789", "19792"]


def _landing(home, odd_first: bool):
    """120 clean files and a corrupt workbook and a site list, the odd ones first or last."""
    landing = home / "landing" / PERIOD
    landing.mkdir(parents=True)
    odd = {"hong.xlsx": b"PK\x03\x04 not a workbook", "tram.csv": SITES.encode()}
    clean = {
        f"xa_{i:03d}.csv": CLEAN.format(code=HUE[i % 5], n=20 + i).encode() for i in range(120)
    }
    names = [*odd, *clean] if odd_first else [*clean, *odd]
    for i, name in enumerate(names):
        path = landing / name
        path.write_bytes({**odd, **clean}[name])
        os.utime(path, (1_780_000_000 + i, 1_780_000_000 + i))  # landing order: file time


@pytest.mark.parametrize("odd_first", [False, True])
def test_the_snapshot_has_its_contracts_schema_whatever_the_order(tmp_path, odd_first):
    _landing(tmp_path, odd_first)
    settings = Settings(home=tmp_path)
    rows, files = take_snapshot(settings, PERIOD)
    status = dict(files.select("source_file", "status").iter_rows())
    assert status["hong.xlsx"] == "rejected" and status["tram.csv"] == "cell_sites"
    assert sum(s == "read" for s in status.values()) == 120
    for table, frame in (("raw_reports", rows), ("file_status", files)):
        contract = CONTRACTS[table]
        assert {c: frame.schema[c] for c in contract} == contract, table
    write_snapshot(settings.tables, PERIOD, rows, files)  # as the asset stores it


def test_every_lake_table_of_a_run_has_its_contracts_schema(tmp_path):
    import dagster as dg

    _landing(tmp_path, odd_first=False)
    settings = Settings(home=tmp_path)
    (tmp_path / ".dagster").mkdir()
    with dg.instance_for_test(temp_dir=str(tmp_path / ".dagster")) as instance:
        results = materialize_period(settings, PERIOD, instance, log_level="ERROR")
    assert results and all(r.success for r in results)
    for table in (
        "file_status",
        "raw_reports",
        "validated_observations",
        "quarantined_rows",
        "superseded_observations",
        "indicator_values",
        "coverage_gaps",
    ):
        frame = read_period(settings.tables, table, PERIOD)
        assert dict(frame.schema) == CONTRACTS[table], table
    # each file: one unit, its officials count (the denominator of two indicators)
    assert read_period(settings.tables, "raw_reports", PERIOD).height == 240
