"""The `dxlake` command as a data engineer runs it: a real process, real DAGSTER_HOME, the real
boundary file; exit code, summary, lake paths and contracts checked."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import dagster as dg
import geopandas as gpd
import polars as pl

from schemas.contracts import QUARANTINED_ROWS, VALIDATED_OBSERVATIONS


def _dxlake(*args, env):
    return subprocess.run(
        [sys.executable, "-m", "orchestration.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_demo_with_official_boundaries(tmp_path, shared_data, monkeypatch):
    env = {
        **os.environ,
        "DXLAKE_HOME": str(tmp_path),
        "DXLAKE_BOUNDARIES": str(shared_data / "vn_communes_2025.parquet"),
    }
    env.pop("DAGSTER_HOME", None)
    done = _dxlake("demo", env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout
    assert "chấp nhận / accepted:   338" in out and "cách ly / quarantined:  7" in out
    assert "tệp / files:            4 (đọc/read 3, từ chối/rejected 0" in out
    assert "trạm/cell sites 1)" in out
    grid = tmp_path / "grids/population_synthetic_46_100m.tif"
    assert f"lưới dân số giả lập / synthetic population grid {grid}" in out and grid.exists()
    for path in (
        tmp_path / "lake/validated_observations/period=2026-H1/province=46.parquet",
        tmp_path / "lake/quarantined_rows/period=2026-H1/province=46.parquet",
        tmp_path / "reports/2026-H1/maps/index.html",
        tmp_path / "reports/2026-H1/quality/index.html",
    ):
        assert path.exists(), path
    assert str(tmp_path / "reports/2026-H1/maps/index.html") in out
    assert str(tmp_path / "reports/2026-H1/quality/index.html") in out
    validated = pl.read_parquet(tmp_path / "lake/validated_observations/period=2026-H1")
    quarantined = pl.read_parquet(tmp_path / "lake/quarantined_rows/period=2026-H1")
    assert validated.schema == pl.Schema(VALIDATED_OBSERVATIONS)
    assert quarantined.schema == pl.Schema(QUARANTINED_ROWS)

    units = gpd.read_parquet(tmp_path / "lake/reference/admin_units.parquet")
    assert len(units) == 3321 and units["unit_code"].is_unique
    assert set(units["geometry_source"]) == {"official"}
    assert units["unit_type"].value_counts().to_dict() == {"xã": 2621, "phường": 687, "đặc khu": 13}
    assert units.crs.to_epsg() == 4326
    page = (tmp_path / "reports/2026-H1/maps/index.html").read_text(encoding="utf-8")
    assert "official" in page or "chính thức" in page

    # 5G coverage computed from the synthetic cell sites and grid, on the official boundaries.
    hue = sorted(units.loc[units["province_code"] == "46", "unit_code"])
    coverage = pl.read_parquet(tmp_path / "lake/computed_coverage/period=2026-H1")
    five = coverage.filter(pl.col("technology") == "5G").sort("unit_code")
    assert len(hue) == 40 and five["unit_code"].to_list() == hue
    assert five["share_covered"].null_count() == 0
    assert five["share_covered"].is_between(0, 100).all()
    assert set(coverage["population_grid"]) == {str(grid)}
    zones = gpd.read_parquet(tmp_path / "lake/dead_zones/period=2026-H1/part-0.parquet")
    assert len(zones) > 0 and zones.crs.to_epsg() == 4326
    assert set(zones["unit_code"]) <= set(hue)
    shown = zones[(zones["technology"] == "5G") & (zones["population"] >= 1)]
    data = json.loads(re.search(r'id="dxlake-map-data">(.*?)</script>', page, re.S).group(1))
    assert data["meta"]["deadZones"]["count"] == len(shown) > 0
    assert len(data["objects"]["deadZones"]["geometries"]) == len(shown)
    # ...and summed up in what the command printed.
    people = five.filter(pl.col("population") > 0)
    share = people["population_covered"].sum() / people["population"].sum() * 100
    dead = zones[zones["technology"] == "5G"]
    assert (
        f"phủ sóng 5G / 5G coverage: {share:.1f} % dân số / of people (tính từ trạm / computed), "
        f"{len(dead)} vùng lõm / dead zones ({dead['population'].sum():.0f} người / people)"
    ) in out

    # Run again with nothing changed: nothing runs, the same summary is printed.
    again = _dxlake("run", "--period", "2026-H1", env=env)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "không có gì thay đổi / nothing changed" in again.stdout
    assert "chấp nhận / accepted:   338" in again.stdout

    # The runs are recorded in the instance under the default DAGSTER_HOME: the snapshot, an
    # ingest run for Huế and one for "00" (the cell-site list names no unit: province unknown).
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / ".dagster"))
    with dg.DagsterInstance.get() as inst:
        runs = sorted((r.job_name, r.tags.get("dxlake/shares", "")[:7]) for r in inst.get_runs())
    assert runs == [
        ("coverage_job", ""),
        ("ingest_job", '{"00": '),
        ("ingest_job", '{"46": '),
        ("publish_job", ""),
        ("reference_job", ""),
        ("snapshot_job", ""),
    ]


def test_run_without_landing_folder_is_a_clear_error(tmp_path):
    env = {**os.environ, "DXLAKE_HOME": str(tmp_path)}
    done = _dxlake("run", "--period", "2026-H2", env=env)
    assert done.returncode == 2
    assert "landing" in done.stderr and "2026-H2" in done.stderr


def test_bad_period_is_a_clear_error(tmp_path):
    done = _dxlake("run", "--period", "2026-Q1", env={**os.environ, "DXLAKE_HOME": str(tmp_path)})
    assert done.returncode == 2
    assert "2026-Q1" in done.stderr and "2026-H1" in done.stderr


def test_template_for_a_province(tmp_path):
    out = tmp_path / "mau.xlsx"
    done = _dxlake(
        "template", "--province", "46", "--period", "2026-H1", "-o", str(out), env=dict(os.environ)
    )
    assert done.returncode == 0, done.stderr
    import openpyxl

    wb = openpyxl.load_workbook(out)
    ws = wb["Báo cáo"]
    codes = [ws.cell(row=r, column=2).value for r in range(6, 46)]
    assert len(codes) == 40 and all(isinstance(c, str) and len(c) == 5 for c in codes)
    assert ws.data_validations.dataValidation, "number cells are validated"
    assert "Hướng dẫn" in wb.sheetnames
