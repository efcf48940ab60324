"""One Settings, read once from the environment, reaches the assets whole through the `lake`
resource: nothing the operator set is dropped on the way (limits, executor, deadlines, the
crosswalk, the grid and the tolerance used to be)."""

from __future__ import annotations

from pathlib import Path

import pytest

from assets.resources import LakeResource
from schemas.settings import Limits, Settings


def test_every_setting_survives_the_resource(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    grid = tmp_path / "pop.tif"
    grid.write_bytes(b"")
    for name, value in {
        "DXLAKE_HOME": str(tmp_path),
        "DXLAKE_PROVINCES": "46,1",
        "DXLAKE_BORDER_KM": "2.5",
        "DXLAKE_DEADLINES": "07-01=H1,01-15=H2",
        "DXLAKE_MAX_ROWS": "12",
        "DXLAKE_MAX_SECONDS": "3.5",
        "DXLAKE_EXECUTOR": "multiprocess",
        "DXLAKE_DASK_ADDRESS": "tcp://10.0.0.5:8786",
        "DXLAKE_LAKE": "s3://bucket/lake",
        "DXLAKE_CROSSWALK": str(tmp_path),
        "DXLAKE_POPULATION_GRID": str(grid),
        "DXLAKE_COVERAGE_TOLERANCE_PP": "7.5",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("DAGSTER_HOME", raising=False)  # the instance is not the assets' business
    settings = Settings.from_env()
    assert settings.limits == Limits(max_rows=12, max_seconds=3.5)
    assert settings.provinces == ("46", "01")
    assert settings.deadlines == ((7, 1, "H1"), (1, 15, "H2"))
    assert settings.population_grid == grid and settings.crosswalk == tmp_path
    assert settings.coverage_tolerance_pp == 7.5

    again = LakeResource.from_settings(settings).settings
    assert again == settings


def test_a_bad_limit_fails_when_the_settings_are_read(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("DXLAKE_MAX_ROWS", "lots")
    with pytest.raises(ValueError, match="DXLAKE_MAX_ROWS: 'lots' is not a number"):
        Settings.from_env()


def test_what_runs_read_excludes_where_they_write(tmp_path: Path):
    """The snapshot's and the plan's fingerprints hold what runs read: moving the lake's output
    does not make every table stale, a new crosswalk does."""
    a = Settings(home=tmp_path / "a", lake_url="s3://x/lake")
    b = Settings(home=tmp_path / "b")
    assert a.inputs() == b.inputs()
    assert Settings(home=tmp_path, crosswalk=tmp_path).inputs() != b.inputs()
