"""Shared fixtures: the real shared data beside the repository, the catalogue, the gazetteer."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.chromium import browser, chromium_path  # noqa: F401 - one browser for every test

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data (real boundaries and registers); CI has it beside the clone."""
    if not SHARED_DATA.is_dir():
        pytest.fail(f"shared data not found at {SHARED_DATA}: clone beside ../shared")
    return SHARED_DATA


@pytest.fixture(scope="session")
def catalogue():
    from schemas.catalogue import load_catalogue

    return load_catalogue()


@pytest.fixture(scope="session")
def gazetteer():
    from geo.gazetteer import Gazetteer

    return Gazetteer.default()


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory):
    """The demo (`dxlake demo`'s files: reports, cell-site list, population grid) for 2026-H1
    materialized through Dagster once per session: (settings, demo spec, job results, runs
    recorded in the instance)."""
    import dagster as dg

    from orchestration.demo import PERIOD, write_demo
    from orchestration.runner import materialize_period
    from schemas.settings import Settings

    home = tmp_path_factory.mktemp("demo_lake")
    settings = Settings(home=home)
    spec = write_demo(home, PERIOD)
    (home / ".dagster").mkdir()
    umask = os.umask(0o022)  # as on an office server: what the run writes, colleagues may read
    try:
        with dg.instance_for_test(temp_dir=str(home / ".dagster")) as instance:
            results = materialize_period(settings, PERIOD, instance)
            runs = instance.get_runs()
    finally:
        os.umask(umask)
    return settings, spec, results, runs


def official_units(shared: Path, provinces, remote_every: int):
    """The shared official communes of `provinces` as admin_units' columns, every
    `remote_every`-th a remote border commune (the publishing tests' units)."""
    import geopandas as gpd
    import numpy as np

    g = gpd.read_parquet(shared / "vn_communes_2025.parquet")
    g = g[g["ma_tinh"].astype(str).isin(list(provinces))].reset_index(drop=True)
    remote = np.arange(len(g)) % remote_every == 0
    return gpd.GeoDataFrame(
        {
            "unit_code": g["ma_xa"].astype(str),
            "unit_name": g["ten_day_du"],
            "unit_type": g["loai"].str.lower(),
            "province_code": g["ma_tinh"].astype(str),
            "province_name": g["ten_tinh"],
            "geometry_source": "official",
            "is_border": remote,
            "is_island": False,
            "remote_class": None,
            "is_remote": remote,
        },
        geometry=g.geometry.values,
        crs=g.crs,
    )
