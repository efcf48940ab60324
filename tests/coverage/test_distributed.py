"""The province-partitioned computation, in process, in a pool of processes and on a
dask.distributed cluster, equals the one-window run."""

import polars as pl
import pytest
from distributed import Client, LocalCluster
from polars.testing import assert_frame_equal

from geo.coverage import CoverageOptions, compute_coverage, compute_coverage_distributed

from .test_coverage_method import box, sites, units

OPTIONS = CoverageOptions(min_cell_population=1, min_zone_population=1)


@pytest.fixture(scope="module")
def client():
    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
        ) as cluster,
        Client(cluster) as c,
    ):
        yield c


def _case():
    # Three provinces: overlapping polygons on the 01/02 line, a site in 02 reaching into 03,
    # 4G and 5G, a sector.
    u = units(
        ("00001", "01", box(0, 0, 650, 600)),
        ("00002", "02", box(550, 0, 1000, 600)),
        ("00003", "03", box(0, 600, 1000, 1000)),
        ("00004", "02", box(1000, 0, 1500, 1000)),
    )
    s = sites(
        {"x": 700, "y": 500, "r": 260, "tech": "5G"},
        {"x": 300, "y": 300, "r": 180, "tech": "5G", "az": 45.0, "bw": 120.0},
        {"x": 1200, "y": 800, "r": 400, "tech": "4G"},
        {"x": 150, "y": 850, "r": 120, "tech": "4G"},
    )
    return u, s


@pytest.mark.parametrize("with_grid", [True, False])
def test_dask_partitioned_equals_in_process(client, grid, with_grid):
    u, s = _case()
    path = (
        grid(__import__("numpy").arange(150, dtype="float32").reshape(10, 15))
        if with_grid
        else None
    )
    if not with_grid:
        u["population"] = [1000.0, 2000.0, 3000.0, 4000.0]
    whole = compute_coverage(u, s, path, by_province=False, options=OPTIONS)
    local = compute_coverage(u, s, path, by_province=True, options=OPTIONS)
    spread = compute_coverage_distributed(u, s, client, path, options=OPTIONS)
    pooled = compute_coverage(u, s, path, by_province=True, options=OPTIONS, workers=2)
    assert len(whole.table) == 8 and whole.table["population_covered"].sum() > 0
    for other in (local, spread, pooled):
        assert_frame_equal(other.table, whole.table, check_exact=False, rel_tol=1e-12, abs_tol=1e-9)
        a = whole.dead_zones.drop(columns="geometry")
        b = other.dead_zones.drop(columns="geometry")
        assert_frame_equal(pl.from_pandas(b), pl.from_pandas(a), check_exact=False, rel_tol=1e-12)
        assert all(whole.dead_zones.geometry.geom_equals_exact(other.dead_zones.geometry, 1e-9))
    assert len(whole.dead_zones) > 0
