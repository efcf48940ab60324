"""Publishing redoes only what changed (assets/reports/publish.py), on the real boundaries of two
provinces (Lai Châu 12, Huế 46; 78 units) with synthetic figures:

- a republish with the same inputs writes no file (every mtime stays);
- a figure changed in one province rebuilds that province's page, the national page and the
  layer and tables of that indicator, nothing of the other province, and the result is the
  same as a publish from scratch;
- a file whose quarantined rows are all gone loses its return-to-sender workbook, the others
  are left as they were;
- a province no longer in the gap rows loses its page;
- the keys are the same from one process to the next.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import openpyxl
import polars as pl
import pytest

from assets.indicators.gaps import compute_coverage_gaps, compute_indicator_values, units_frame
from assets.reports.gap_tables import publish_gap_tables
from assets.reports.publish import publish_maps, publish_quality
from assets.reports.returns import publish_returns
from schemas.contracts import CONTRACTS, conform
from tests.conftest import official_units

PERIOD = "2026-H1"
PROVINCES = ("12", "46")
CHANGED = "46"  # the province where a commune resubmits


@pytest.fixture(scope="module")
def units(shared_data: Path) -> gpd.GeoDataFrame:
    return official_units(shared_data, PROVINCES, remote_every=7)


def observations(units: gpd.GeoDataFrame, catalogue) -> pl.DataFrame:
    """A figure per unit and indicator (a tenth not reported), each from its commune's file."""
    rng = np.random.default_rng(20)
    rows = []
    for ind in catalogue:
        lo, hi = ind.valid_range
        for code, prov in zip(units["unit_code"], units["province_code"], strict=True):
            if rng.random() < 0.1:
                continue
            value = float(np.clip(ind.target + rng.normal(0, ind.gap_classes[1]), lo, hi))
            rows.append((code, ind.id, value if ind.is_percent else round(value), prov))
    return pl.DataFrame(
        rows, schema=["unit_code", "indicator_id", "value", "province_code"], orient="row"
    ).with_columns(
        source_file=pl.col("province_code") + "/" + pl.col("unit_code") + ".xlsx",
        source_sheet=pl.lit("Báo cáo"),
        source_row=pl.lit(7, pl.Int64),
    )


def coverage_gaps(units, catalogue, obs: pl.DataFrame) -> pl.DataFrame:
    values = compute_indicator_values(obs, units_frame(units), catalogue, PERIOD, list(PROVINCES))
    return compute_coverage_gaps(values, catalogue)


def table(name: str, n: int, **columns) -> pl.DataFrame:
    """n rows of a contract's table: the columns given, the rest null."""
    schema = CONTRACTS[name]
    df = pl.DataFrame({c: pl.Series(c, [None] * n, dtype=t) for c, t in schema.items()})
    return conform(df.with_columns(pl.Series(c, v) for c, v in columns.items()), name)


def quarantined(rows_per_file: dict[str, int]) -> pl.DataFrame:
    files = [f for f, n in rows_per_file.items() for _ in range(n)]
    rows = [7 + k for n in rows_per_file.values() for k in range(n)]
    return table(
        "quarantined_rows",
        len(files),
        source_file=files,
        source_sheet=["Báo cáo"] * len(files),
        source_row=rows,
        indicator_id=["officials_with_computer"] * len(files),
        numerator_raw=["12"] * len(files),
        rule_id=["missing_figure"] * len(files),
        message_vi=["Thiếu tử số hoặc mẫu số để tính tỷ lệ"] * len(files),
        message_en=["a numerator or denominator is missing"] * len(files),
    )


def mtimes(root: Path) -> dict[str, int]:
    return {
        p.relative_to(root).as_posix(): p.stat().st_mtime_ns for p in root.rglob("*") if p.is_file()
    }


def maps(root: Path, units, gaps, catalogue) -> dict:
    zones = gpd.GeoDataFrame(
        {
            "unit_code": [],
            "province_code": [],
            "technology": [],
            "population": [],
            "area_km2": [],
        },
        geometry=[],
        crs="EPSG:4326",
    )
    maps = publish_maps(root / "maps", gaps, units, zones, catalogue, PERIOD)
    tables = publish_gap_tables(root / "gaps", gaps, catalogue)  # the planners' other asset
    return {**maps, "tables": tables["tables"], "rebuilt": maps["rebuilt"] + tables["rebuilt"]}


def quality(root: Path, units, gaps, quarantine: pl.DataFrame, catalogue) -> dict:
    """The auditors' page and the offices' return workbooks (two assets)."""
    files = sorted({*quarantine["source_file"], "12/ok.xlsx"})
    returns = publish_returns(root / "quality" / "returns", quarantine, catalogue)
    page = publish_quality(
        root / "quality",
        period=PERIOD,
        catalogue=catalogue,
        file_status=table(
            "file_status", len(files), source_file=files, status=["read"] * len(files)
        ),
        raw_reports=table("raw_reports", quarantine.height, source_file=quarantine["source_file"]),
        validated_observations=table("validated_observations", 0),
        quarantined_rows=quarantine,
        superseded_observations=table("superseded_observations", 0),
        indicator_values=conform(gaps, "indicator_values"),
        admin_units=units_frame(units),
        boundary_problems=pl.DataFrame(),
    )
    return {**page, "returns": returns["returns"], "rebuilt": page["rebuilt"] + returns["rebuilt"]}


@pytest.fixture(scope="module")
def published(units, catalogue, tmp_path_factory):
    """(folder, gaps, observations) of a first publish of both assets."""
    root = tmp_path_factory.mktemp("published")
    obs = observations(units, catalogue)
    gaps = coverage_gaps(units, catalogue, obs)
    maps(root, units, gaps, catalogue)
    quality(root, units, gaps, quarantined({"12/a.xlsx": 2, "46/b.xlsx": 1}), catalogue)
    return root, gaps, obs


def test_an_unchanged_republish_writes_no_file(published, units, catalogue, tmp_path):
    first, gaps, _ = published
    root = tmp_path / "again"
    shutil.copytree(first, root, copy_function=shutil.copy2)  # mtimes kept
    before = mtimes(root)
    assert "maps/index.html" in before and "quality/returns/12__a.xlsx.quarantined.xlsx" in before
    m = maps(root, units, gaps, catalogue)
    q = quality(root, units, gaps, quarantined({"12/a.xlsx": 2, "46/b.xlsx": 1}), catalogue)
    assert m["rebuilt"] == [] and q["rebuilt"] == []
    assert mtimes(root) == before
    # What the assets report still names every output.
    assert len(m["provinces"]) == 2 and len(m["pngs"]) == len(catalogue.ids)
    assert set(q["returns"]) == {"12/a.xlsx", "46/b.xlsx"}


def test_a_change_in_one_province_rebuilds_its_page_and_the_national_outputs_only(
    published, units, catalogue, tmp_path
):
    first, gaps, obs = published
    root = tmp_path / "incremental"
    shutil.copytree(first, root, copy_function=shutil.copy2)
    before = mtimes(root)
    # A commune of Huế resubmits: its first indicator now meets the target.
    ind = catalogue.ids[0]
    target = next(i.target for i in catalogue if i.id == ind)
    mine = gaps.filter(
        (pl.col("province_code") == CHANGED)
        & (pl.col("indicator_id") == ind)
        & (pl.col("gap_class") == "large")
    )["unit_code"][0]
    changed = obs.with_columns(
        value=pl.when((pl.col("unit_code") == mine) & (pl.col("indicator_id") == ind))
        .then(target)
        .otherwise("value")
    )
    new_gaps = coverage_gaps(units, catalogue, changed)
    rebuilt = set(maps(root, units, new_gaps, catalogue)["rebuilt"])

    pages = {p.name for p in (root / "maps" / "provinces").iterdir()}
    huế = next(p for p in pages if p.startswith(f"{CHANGED}-"))
    lai_chau = next(p for p in pages if p.startswith("12-"))
    must = {
        "maps/index.html",
        f"maps/provinces/{huế}",
        f"maps/png/{ind}.png",
        f"gaps/{ind}.csv",
        f"gaps/{ind}.xlsx",
    }
    assert must <= rebuilt <= must | {"gaps/priority.csv", "gaps/priority.xlsx"}
    after = mtimes(root)
    assert after[f"maps/provinces/{lai_chau}"] == before[f"maps/provinces/{lai_chau}"]
    for other in catalogue.ids[1:]:
        assert after[f"maps/png/{other}.png"] == before[f"maps/png/{other}.png"]
        assert after[f"gaps/{other}.xlsx"] == before[f"gaps/{other}.xlsx"]

    # The same files as a publish of the new figures from scratch.
    scratch = tmp_path / "scratch"
    maps(scratch, units, new_gaps, catalogue)
    for folder in ("maps", "gaps"):
        made = sorted(p.relative_to(scratch) for p in (scratch / folder).rglob("*") if _output(p))
        kept = sorted(p.relative_to(root) for p in (root / folder).rglob("*") if _output(p))
        assert made == kept
        for rel in made:
            if rel.suffix == ".xlsx":  # the zip carries its own write time
                assert _cells(scratch / rel) == _cells(root / rel), rel
            else:
                assert (scratch / rel).read_bytes() == (root / rel).read_bytes(), rel


def test_a_file_with_nothing_left_to_return_loses_its_workbook(
    published, units, catalogue, tmp_path
):
    first, gaps, _ = published
    root = tmp_path / "returns"
    shutil.copytree(first, root, copy_function=shutil.copy2)
    returns = root / "quality" / "returns"
    kept = returns / "46__b.xlsx.quarantined.xlsx"
    before = kept.stat().st_mtime_ns
    assert (returns / "12__a.xlsx.quarantined.xlsx").exists()

    q = quality(root, units, gaps, quarantined({"46/b.xlsx": 1}), catalogue)
    assert sorted(p.name for p in returns.iterdir()) == [kept.name]
    assert kept.stat().st_mtime_ns == before
    assert set(q["returns"]) == {"46/b.xlsx"}
    assert "index.html" in q["rebuilt"] and not any("returns" in r for r in q["rebuilt"])
    page = (root / "quality" / "index.html").read_text(encoding="utf-8")
    assert kept.name in page and "12__a.xlsx.quarantined.xlsx" not in page
    # The page assembled from the parts kept is the page published from scratch.
    quality(tmp_path / "scratch", units, gaps, quarantined({"46/b.xlsx": 1}), catalogue)
    assert (tmp_path / "scratch" / "quality" / "index.html").read_text(encoding="utf-8") == page
    # Nothing quarantined at all: no workbook, and the folder stays empty.
    quality(root, units, gaps, quarantined({}), catalogue)
    assert list(returns.glob("*")) == []


def _output(path: Path) -> bool:
    """A file a user sees (not the manifest or the geometry cache)."""
    return path.is_file() and not any(part.startswith(".") for part in path.parts[-3:])


def _cells(path: Path) -> list:
    wb = openpyxl.load_workbook(path)
    return [
        (ws.title, ws.freeze_panes, [[(c.value, c.data_type) for c in row] for row in ws.rows])
        for ws in wb.worksheets
    ]


def test_a_province_no_longer_published_loses_its_page(published, units, catalogue, tmp_path):
    first, gaps, _ = published
    root = tmp_path / "fewer"
    shutil.copytree(first, root, copy_function=shutil.copy2)
    out = maps(root, units, gaps.filter(pl.col("province_code") == "12"), catalogue)
    assert [p.name[:3] for p in out["provinces"]] == ["12-"]
    assert [p.name[:3] for p in (root / "maps" / "provinces").iterdir()] == ["12-"]
    assert "maps/index.html" in out["rebuilt"]


def test_the_keys_are_the_same_in_every_process(shared_data: Path):
    """Each Dagster run is a new process: a key that changed with it (an object's address in
    a repr, a per-process hash seed) would rebuild every output every run."""
    script = (
        "import geopandas as gpd, polars as pl\n"
        "from schemas.lake import digest\n"
        "from schemas.catalogue import load_catalogue\n"
        f"g = gpd.read_parquet({str(shared_data / 'vn_communes_2025.parquet')!r}).head(40)\n"
        "f = pl.DataFrame({'a': ['x', None], 'b': [1.5, None]}).with_columns(\n"
        "    c=pl.col('a').cast(pl.Categorical))\n"
        "print(digest(g, f, load_catalogue(), 'x'))\n"
    )
    repo = Path(__file__).resolve().parents[2]
    keys = {
        subprocess.run(
            [sys.executable, "-c", script], cwd=repo, capture_output=True, text=True, check=True
        ).stdout
        for _ in range(2)
    }
    assert len(keys) == 1 and len(keys.pop().strip()) == 32


def test_a_workbook_changed_since_it_was_made_is_made_again(published, units, catalogue, tmp_path):
    """A return workbook edited by hand (or left half-written) is rewritten by the next publish
    though its rows did not change; the others are left as they are."""
    first, gaps, _ = published
    root = tmp_path / "edited"
    shutil.copytree(first, root, copy_function=shutil.copy2)
    returns = root / "quality" / "returns"
    edited, other = returns / "12__a.xlsx.quarantined.xlsx", returns / "46__b.xlsx.quarantined.xlsx"
    edited.write_bytes(b"not a workbook")
    before = other.stat().st_mtime_ns

    q = quality(root, units, gaps, quarantined({"12/a.xlsx": 2, "46/b.xlsx": 1}), catalogue)
    assert [r for r in q["rebuilt"] if "returns" in r] == [f"returns/{edited.name}"]
    assert _cells(edited) == _cells(first / "quality" / "returns" / edited.name)
    assert other.stat().st_mtime_ns == before
