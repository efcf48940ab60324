"""Benchmark: publishing a national period (the coverage_maps and quality_report assets' work).

Why: issue 20 measured coverage_maps at 90 s and quality_report at 29 s on a national period;
a rerun after one commune resubmits one file must cost a small part of a whole run. This times
the two assets' publishing (assets.reports.publish: map pages, province pages, layer PNGs, gap
tables, return-to-sender workbooks, the quality page, traceability) three times over the same
report folder:
- publish: from scratch (an empty folder);
- republish_noop: again with the same inputs;
- republish_one: after one commune of one province resubmitted its file (its figures changed,
  so the national ranks move; the file's quarantined rows are gone, it has nothing to return).

Inputs, in one process, on ../shared/data/vn_communes_2025.parquet: coverage_gaps and the
units as benchmarks/maps.py makes them (its functions, imported); 5G and 4G dead zones as many
and as ragged as a national coverage run's (about 11,000); one commune file per unit (3,321)
with about 30,000 accepted figures, a few superseded, and quarantined rows in one file in
twelve (most files have nothing to return; `--returns-share 1` for every file).

Run: `uv run python benchmarks/publish.py` (`--profile publish|one` prints the top of a
cProfile of that pass). Per-function seconds are printed per pass; last line:
RESULT units=<n> publish_s=<s> republish_noop_s=<s> republish_one_s=<s>
"""

from __future__ import annotations

import argparse
import cProfile
import functools
import os
import pstats
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import polars as pl
import shapely

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from maps import PERIOD, SEED, load_units, synthetic_gaps  # noqa: E402

from assets.indicators.gaps import compute_coverage_gaps, units_frame  # noqa: E402
from assets.reports import gap_tables, publish, returns  # noqa: E402
from schemas.catalogue import load_catalogue  # noqa: E402
from schemas.contracts import INDICATOR_VALUES, conform, empty  # noqa: E402

OUT = Path(tempfile.gettempdir()) / "dxlake-bench-publish"
NOW = pl.datetime(2026, 7, 1, time_zone="UTC")
RESUBMIT_UNIT = 100  # the commune (by position) that resubmits in the last pass

# What each pass times, by name, wherever the publish module calls it from.
TIMED = (
    "render_map_page",
    "render_layer_pngs",
    "write_gap_tables",
    "returns_workbooks",
    "render_quality_page",
    "traceability",
    "write_table",
    "write_csv",
    "write_text",
    "dead_zone_layer",
    "digest",
    "publish_maps",
    "publish_gap_tables",
    "publish_quality",
    "publish_returns",
)


def commune_files(gaps: pl.DataFrame) -> pl.DataFrame:
    """coverage_gaps with each figure from its commune's own file, as the ingest benchmark
    lands them (<province>/<unit>.xlsx)."""
    src = pl.col("province_code") + "/" + pl.col("unit_code") + ".xlsx"
    return gaps.with_columns(
        source_file=pl.when(pl.col("status") == "reported").then(src),
        source_sheet=pl.when(pl.col("status") == "reported").then(pl.lit("Báo cáo")),
    )


def dead_zones(units: gpd.GeoDataFrame, rng: np.random.Generator) -> gpd.GeoDataFrame:
    """5G and 4G dead zones as a national coverage run leaves them (about 11,000 in the real
    lake): two of each technology in most units, each a ragged outline of a couple of hundred
    points (cells' edges), a few people to thousands in each, some with nobody."""
    parts = []
    for technology, share in (("5G", 0.85), ("4G", 0.80)):
        pick = np.repeat(np.flatnonzero(rng.random(len(units)) < share), 2)
        centres = shapely.point_on_surface(units.geometry.values[pick])
        x = shapely.get_x(centres) + rng.normal(0, 0.004, len(pick))
        y = shapely.get_y(centres) + rng.normal(0, 0.004, len(pick))
        radius = rng.uniform(0.002, 0.01, len(pick))
        shapes = shapely.buffer(shapely.points(x, y), radius, quad_segs=50)
        parts.append(
            gpd.GeoDataFrame(
                {
                    "period": PERIOD,
                    "unit_code": units["unit_code"].to_numpy()[pick],
                    "province_code": units["province_code"].to_numpy()[pick],
                    "technology": technology,
                    "population": rng.integers(0, 5000, len(pick)).astype(float),
                    "area_km2": np.pi * (radius * 111) ** 2,
                },
                geometry=shapes,
                crs="EPSG:4326",
            )
        )
    return gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), crs="EPSG:4326")


def lake_tables(
    gaps: pl.DataFrame, rng: np.random.Generator, returns_share: float
) -> dict[str, pl.DataFrame]:
    """file_status, raw, validated, quarantined and superseded rows of one file per commune:
    the reported figures accepted; in `returns_share` of the files one to four rows
    quarantined; a few figures superseded by a later row of the same file."""
    reported = gaps.filter(pl.col("status") == "reported")
    files = gaps.select("province_code", "unit_code").unique().sort("unit_code")
    files = files.with_columns(
        source_file=pl.col("province_code") + "/" + pl.col("unit_code") + ".xlsx"
    )
    n = files.height
    lineage = {
        "source_sheet": pl.lit("Báo cáo"),
        "source_column": pl.lit("E/F"),
        "file_sha256": pl.col("source_file").hash().cast(pl.String),
        "ingested_at": NOW,
    }
    validated = conform(
        reported.with_columns(
            numerator=pl.col("value"),
            denominator=pl.lit(100.0),
            match_kind=pl.lit("code"),
            obs_id=pl.col("unit_code") + ":" + pl.col("indicator_id"),
            **lineage,
        ),
        "validated_observations",
    )
    bad = files.filter(pl.Series(rng.random(n) < returns_share))
    bad = bad.with_columns(rows=pl.Series(rng.integers(1, 5, bad.height))).with_columns(
        k=pl.int_ranges(0, "rows")
    )
    bad = bad.explode("k")
    quarantined = conform(
        bad.with_columns(
            obs_id=pl.col("unit_code") + ":q" + pl.col("k").cast(pl.String),
            period=pl.lit(PERIOD),
            reported_period=pl.lit(PERIOD),
            unit_code_raw=pl.col("unit_code"),
            unit_name_raw=pl.lit(None, pl.String),
            province_raw=pl.lit(None, pl.String),
            match_kind=pl.lit("code"),
            match_candidates=pl.lit(None, pl.String),
            indicator_id=pl.lit("officials_with_computer"),
            numerator_raw=pl.lit("12"),
            denominator_raw=pl.lit(None, pl.String),
            value_raw=pl.lit(None, pl.String),
            numerator=pl.lit(12.0),
            denominator=pl.lit(None, pl.Float64),
            value_stated=pl.lit(None, pl.Float64),
            parse_error=pl.lit(None, pl.String),
            source_row=pl.col("k") + 7,
            file_mtime=NOW,
            rule_id=pl.lit("missing_figure"),
            message_vi=pl.lit("Thiếu tử số hoặc mẫu số để tính tỷ lệ"),
            message_en=pl.lit("a numerator or denominator is missing"),
            **lineage,
        ),
        "quarantined_rows",
    )
    superseded = conform(
        validated.head(40).with_columns(
            reported_period=pl.lit(PERIOD),
            unit_code_raw=pl.col("unit_code"),
            unit_name_raw=pl.lit(None, pl.String),
            province_raw=pl.lit(None, pl.String),
            match_candidates=pl.lit(None, pl.String),
            numerator_raw=pl.col("numerator").cast(pl.String),
            denominator_raw=pl.lit("100"),
            value_raw=pl.lit(None, pl.String),
            value_stated=pl.lit(None, pl.Float64),
            parse_error=pl.lit(None, pl.String),
            file_mtime=NOW,
            source_row=pl.col("source_row") + 1000,
            superseded_by=pl.col("obs_id"),
        ),
        "superseded_observations",
    )
    raw_cols = list(empty("raw_reports").columns)
    raw = pl.concat(
        [
            validated.with_columns(
                reported_period=pl.lit(PERIOD),
                unit_code_raw=pl.col("unit_code"),
                unit_name_raw=pl.lit(None, pl.String),
                province_raw=pl.lit(None, pl.String),
                match_candidates=pl.lit(None, pl.String),
                numerator_raw=pl.col("numerator").cast(pl.String),
                denominator_raw=pl.lit("100"),
                value_raw=pl.lit(None, pl.String),
                value_stated=pl.lit(None, pl.Float64),
                parse_error=pl.lit(None, pl.String),
                file_mtime=NOW,
            ).select(raw_cols),
            quarantined.select(raw_cols),
            superseded.select(raw_cols),
        ]
    )
    counts = raw.group_by("source_file").len()
    file_status = conform(
        files.join(counts, on="source_file", how="left").with_columns(
            period=pl.lit(PERIOD),
            file_sha256=pl.col("source_file").hash().cast(pl.String),
            file_mtime=NOW,
            status=pl.lit("read"),
            reason_vi=pl.lit(None, pl.String),
            reason_en=pl.lit(None, pl.String),
            sheets_read=pl.lit("Báo cáo"),
            sheets_hidden=pl.lit(None, pl.String),
            columns_unread=pl.lit(None, pl.String),
            observations=pl.col("len").fill_null(0).cast(pl.Int64),
        ),
        "file_status",
    )
    return {
        "file_status": file_status,
        "raw_reports": raw,
        "validated_observations": validated,
        "quarantined_rows": quarantined,
        "superseded_observations": superseded,
        "indicator_values": conform(gaps, "indicator_values"),
    }


def resubmitted(gaps, tables, catalogue, unit_code: str):
    """The inputs after `unit_code` resubmitted its file: every figure it reported now meets its
    target (so classes and national ranks move) and nothing of it is quarantined any more."""
    mine = pl.col("unit_code") == unit_code
    values = gaps.select(list(INDICATOR_VALUES)).with_columns(
        value=pl.when(mine & pl.col("value").is_not_null())
        .then(pl.col("target"))
        .otherwise("value"),
        gap=pl.when(mine & pl.col("value").is_not_null()).then(0.0).otherwise("gap"),
        meets_target=pl.when(mine & pl.col("value").is_not_null())
        .then(True)
        .otherwise("meets_target"),
    )
    new_gaps = compute_coverage_gaps(values, catalogue)
    new = dict(tables)
    new["indicator_values"] = conform(new_gaps, "indicator_values")
    new["quarantined_rows"] = tables["quarantined_rows"].filter(~mine)
    new["raw_reports"] = tables["raw_reports"].filter(~(mine & pl.col("obs_id").str.contains(":q")))
    mine_file = pl.col("source_file").str.ends_with(f"/{unit_code}.xlsx")
    new["file_status"] = tables["file_status"].with_columns(
        file_sha256=pl.when(mine_file).then(pl.lit("resubmitted")).otherwise("file_sha256")
    )
    return new_gaps, new


class Timer:
    """Seconds spent in each function named in TIMED, however the publish module reaches it."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.cpu: dict[str, float] = defaultdict(float)  # on a shared machine: the work
        self.calls: dict[str, int] = defaultdict(int)
        modules = [
            m
            for m in sys.modules.values()
            if getattr(m, "__name__", "").startswith(("assets.reports", "geo.maps", "geo.previews"))
        ]
        for module in modules:
            for name in TIMED:
                fn = module.__dict__.get(name)
                if callable(fn) and not getattr(fn, "_timed", False):
                    setattr(module, name, self._wrap(name, fn))

    def _wrap(self, name, fn):
        @functools.wraps(fn)
        def timed(*args, **kwargs):
            started, cpu = time.perf_counter(), time.process_time()
            try:
                return fn(*args, **kwargs)
            finally:
                self.seconds[name] += time.perf_counter() - started
                self.cpu[name] += time.process_time() - cpu
                self.calls[name] += 1

        timed._timed = True
        return timed

    def report(self, label: str, total: float) -> None:
        parts = ", ".join(
            f"{k} {self.seconds[k]:.2f}/{self.cpu[k]:.2f}"
            + (f" ×{self.calls[k]}" if self.calls[k] > 1 else "")
            for k in TIMED
            if k in self.seconds
        )
        print(f"{label}: {total:.2f} s  (wall/cpu s: {parts})")
        self.seconds.clear()
        self.cpu.clear()
        self.calls.clear()


def run(maps_in: dict, quality_in: dict) -> float:
    """Wall seconds of both assets' publishing (the CPU seconds printed: on a shared machine
    they show the work when the wall time shows the neighbours)."""
    started, cpu = time.perf_counter(), time.process_time()
    publish.publish_maps(OUT / "maps", **maps_in)
    gap_tables.publish_gap_tables(OUT / "gaps", maps_in["coverage_gaps"], maps_in["catalogue"])
    publish.publish_quality(OUT / "quality", **quality_in)
    returns.publish_returns(
        OUT / "quality" / "returns", quality_in["quarantined_rows"], quality_in["catalogue"]
    )
    print(f"  cpu {time.process_time() - cpu:.2f} s, load average {os.getloadavg()[0]:.1f}")
    return time.perf_counter() - started


def profiled(on: bool, fn, *args):
    """fn(*args), with the top of a cProfile (by own time) printed when `on`."""
    if not on:
        return fn(*args)
    profiler = cProfile.Profile()
    result = profiler.runcall(fn, *args)
    pstats.Stats(profiler).sort_stats("tottime").print_stats(30)
    return result


def files_written_since(t: float) -> int:
    return sum(1 for p in OUT.rglob("*") if p.is_file() and p.stat().st_mtime > t)


def main() -> None:
    global OUT  # --out: the functions above write there
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", choices=("publish", "one"), help="cProfile that pass")
    parser.add_argument(
        "--returns-share",
        type=float,
        default=1 / 12,
        help="share of the files with quarantined rows (1: every file, as when each commune "
        "leaves one cell of a numerator/denominator pair empty)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=OUT,
        help=f"the report folder, emptied first (default {OUT}; another for runs side by side)",
    )
    args = parser.parse_args()
    OUT = args.out

    rng = np.random.default_rng(SEED)
    catalogue = load_catalogue()
    units = load_units(rng)
    gaps = commune_files(synthetic_gaps(units, catalogue, rng))
    zones = dead_zones(units, rng)
    tables = lake_tables(gaps, rng, args.returns_share)
    boundary_problems = pl.DataFrame(schema={"unit_code": pl.String, "problem": pl.String})
    common = {"period": PERIOD, "catalogue": catalogue}

    def inputs(gaps, tables):
        maps_in = {
            "coverage_gaps": gaps,
            "admin_units": units,
            "dead_zones": zones,
            "catalogue": catalogue,
            "period": PERIOD,
        }
        quality_in = {
            **common,
            **tables,
            "admin_units": units_frame(units),  # as the asset reads it: attributes only
            "boundary_problems": boundary_problems,
        }
        return maps_in, quality_in

    shutil.rmtree(OUT, ignore_errors=True)
    OUT.mkdir(parents=True)
    timer = Timer()
    print(
        f"{len(units)} units, {gaps.height} gap rows, {len(zones)} dead zones, "
        f"{tables['file_status'].height} files, {tables['quarantined_rows'].height} quarantined "
        f"rows in {tables['quarantined_rows']['source_file'].n_unique()} files; out: {OUT}"
    )
    publish_s = profiled(args.profile == "publish", run, *inputs(gaps, tables))
    timer.report("publish", publish_s)

    before = time.time()
    noop_s = run(*inputs(gaps, tables))
    timer.report("republish_noop", noop_s)
    print(f"  files written: {files_written_since(before)}")

    # A commune whose file had something to return: after the resubmission it has nothing.
    code = tables["quarantined_rows"]["unit_code"].unique().sort()[RESUBMIT_UNIT // 10]
    new_gaps, new_tables = resubmitted(gaps, tables, catalogue, code)
    before = time.time()
    one_s = profiled(args.profile == "one", run, *inputs(new_gaps, new_tables))
    timer.report(f"republish_one (unit {code})", one_s)
    print(f"  files written: {files_written_since(before)}")
    print(
        f"RESULT units={len(units)} publish_s={publish_s:.2f} republish_noop_s={noop_s:.2f} "
        f"republish_one_s={one_s:.2f}"
    )


if __name__ == "__main__":
    main()
