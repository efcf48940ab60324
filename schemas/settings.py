"""Where the lake lives and what the operator configured, read once from the environment.

DXLAKE_HOME         lake root (default ./data): landing/, lake/, reports/
DAGSTER_HOME        Dagster's instance (default $DXLAKE_HOME/.dagster, SQLite)
DXLAKE_BOUNDARIES   official boundary file (any GDAL format); unset → approximate geometry
DXLAKE_BOUNDARIES_CODE_COLUMN  its unit-code column when not detected
DXLAKE_CROSSWALK    the dvhcvn/20250701 old → new crosswalk (its mapping/splits.json or
                    merges.json, or a folder holding them): the authority for names from before
                    1 July 2025; unset → the crosswalk of the vietnamadminunits package
DXLAKE_REMOTE_CLASSES  a province's CSV of remote classes (khu vực III, xã ĐBKK, ...)
DXLAKE_TARGETS      a province's YAML of target overrides
DXLAKE_PROVINCES    comma-separated province codes in scope (default: those the files report)
DXLAKE_BORDER_KM    distance to the land border that makes a unit a border unit (default 1)
DXLAKE_DEADLINES    report deadlines as MM-DD=half, comma-separated (default 06-10=H1,12-10=H2:
                    the seeds' latest half-year and year deadlines); a compilation run follows
                    the day after each
DXLAKE_MAX_<FIELD>  what one landing file may cost to read (Limits below, checked by
                    assets/ingest/limits.py); a file over a limit is rejected with a reason
DXLAKE_LAKE         where the lake's tables live when not $DXLAKE_HOME/lake: a path or an fsspec
                    URL (s3://bucket/lake); landing files, reports, caches and locks stay local
DXLAKE_EXECUTOR     in_process (default), multiprocess or dask (see orchestration/executors.py)
DXLAKE_DASK_ADDRESS the dask.distributed scheduler for DXLAKE_EXECUTOR=dask (and for the
                    coverage's provinces)
DXLAKE_POPULATION_GRID  population GeoTIFF for the coverage; unset → the one GeoTIFF in
                    $DXLAKE_HOME/grids/ if there is exactly one, else each unit's population
                    spread over its area
DXLAKE_COVERAGE_TOLERANCE_PP  reported vs computed coverage flagged beyond it (default 5)

This is the only module that reads the environment: everything below gets a Settings (assets
through the `lake` resource), so a run, its worker processes and its fingerprints agree.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path

from schemas.lake import Location, lake_location

# Great Expectations reports usage over the network unless told not to: set before it is imported
# (schemas.expectations imports GX_ENVIRONMENT from here, and GX lazily, later).
GX_ENVIRONMENT = {"GX_ANALYTICS_ENABLED": "false"}
for _name, _value in GX_ENVIRONMENT.items():
    os.environ.setdefault(_name, _value)

DAGSTER_YAML = """\
# Written by dxlake: storage is SQLite under DAGSTER_HOME (Dagster's default). Runs launched from
# the UI, the sensor or the schedules are queued; two runs of one partition never run at once.
run_queue:
  tag_concurrency_limits:
    - key: dagster/partition
      value:
        applyLimitPerUniqueValue: true
      limit: 1
telemetry:
  enabled: false
"""


def _path(name: str) -> Path | None:
    value = os.environ.get(name, "").strip()
    return Path(value).expanduser().resolve() if value else None


def parse_deadlines(text: str) -> tuple[tuple[int, int, str], ...]:
    """'06-10=H1,12-10=H2' → ((6, 10, 'H1'), (12, 10, 'H2'))."""
    out = []
    for item in filter(None, (t.strip() for t in text.split(","))):
        try:
            date, half = item.split("=")
            month, day = (int(x) for x in date.split("-"))
        except ValueError as exc:
            raise ValueError(f"DXLAKE_DEADLINES: {item!r} is not MM-DD=H1|H2") from exc
        if half not in ("H1", "H2") or not (1 <= month <= 12 and 1 <= day <= 31):
            raise ValueError(f"DXLAKE_DEADLINES: {item!r} is not MM-DD=H1|H2")
        out.append((month, day, half))
    return tuple(out)


def _choice(name: str, allowed: tuple[str, ...]) -> str:
    value = os.environ.get(name, "").strip() or allowed[0]
    if value not in allowed:
        raise ValueError(f"{name}: {value!r} is not one of {', '.join(allowed)}")
    return value


@dataclass(frozen=True)
class Limits:
    """What one landing file may cost to read (DXLAKE_MAX_<FIELD>). Defaults are far above any
    real report (a province has < 200 communes; the national long table is ~30,000 rows) and
    far below what would exhaust the machine."""

    max_file_mb: float = 50.0
    max_uncompressed_mb: float = 300.0
    max_ratio: float = 200.0  # uncompressed / compressed, for members over 1 MB
    max_rows: int = 200_000  # per sheet
    max_columns: int = 1_000  # per sheet
    max_cells: int = 5_000_000  # per sheet, filled cells (and the dense grid calamine builds)
    max_line_bytes: int = 1 << 20  # one line of delimited text
    max_zip_entries: int = 10_000
    max_workbook_cells: int = 10_000_000  # all sheets' dense grids together
    max_merged_ranges: int = 10_000  # per workbook
    max_seconds: float = 30.0  # wall time to read one file, in a worker process
    max_memory_mb: float = 1024.0  # memory one file may take to read, over the worker's own

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Limits:
        """DXLAKE_MAX_<FIELD> overrides each field (DXLAKE_MAX_FILE_MB, ...)."""
        environ = os.environ if environ is None else environ
        values = {}
        for f in fields(cls):
            raw = environ.get("DXLAKE_" + f.name.upper(), "").strip()
            if raw:
                try:
                    values[f.name] = type(f.default)(float(raw))
                except ValueError as exc:
                    raise ValueError(f"DXLAKE_{f.name.upper()}: {raw!r} is not a number") from exc
        return cls(**values)


@dataclass(frozen=True)
class Settings:
    home: Path
    boundaries: Path | None = None
    boundaries_code_column: str | None = None
    remote_classes: Path | None = None
    targets: Path | None = None
    provinces: tuple[str, ...] = ()
    border_km: float = 1.0
    deadlines: tuple[tuple[int, int, str], ...] = ((6, 10, "H1"), (12, 10, "H2"))
    limits: Limits = Limits()
    executor: str = "in_process"
    dask_address: str | None = None
    lake_url: str | None = None
    crosswalk: Path | None = None
    population_grid: Path | None = None
    coverage_tolerance_pp: float = 5.0
    dagster_home_path: Path | None = None  # DAGSTER_HOME as set; see dagster_home

    @classmethod
    def from_env(cls) -> Settings:
        provinces = os.environ.get("DXLAKE_PROVINCES", "")
        return cls(
            home=_path("DXLAKE_HOME") or Path("data").resolve(),
            boundaries=_path("DXLAKE_BOUNDARIES"),
            boundaries_code_column=os.environ.get("DXLAKE_BOUNDARIES_CODE_COLUMN") or None,
            remote_classes=_path("DXLAKE_REMOTE_CLASSES"),
            targets=_path("DXLAKE_TARGETS"),
            provinces=tuple(p.strip().zfill(2) for p in provinces.split(",") if p.strip()),
            border_km=float(os.environ.get("DXLAKE_BORDER_KM", "1")),
            deadlines=parse_deadlines(os.environ.get("DXLAKE_DEADLINES", "06-10=H1,12-10=H2")),
            limits=Limits.from_env(),  # a bad value fails here, before a run starts
            executor=_choice("DXLAKE_EXECUTOR", ("in_process", "multiprocess", "dask")),
            dask_address=os.environ.get("DXLAKE_DASK_ADDRESS") or None,
            lake_url=os.environ.get("DXLAKE_LAKE", "").strip() or None,
            crosswalk=_path("DXLAKE_CROSSWALK"),
            population_grid=_path("DXLAKE_POPULATION_GRID"),
            coverage_tolerance_pp=float(os.environ.get("DXLAKE_COVERAGE_TOLERANCE_PP") or 5),
            dagster_home_path=_path("DAGSTER_HOME"),
        )

    def inputs(self) -> dict[str, object]:
        """What runs read from these settings (not where they write: home, lake): the
        fingerprints of the snapshot and the plan include it, and the files its paths name."""
        return {
            f.name: getattr(self, f.name)
            for f in fields(self)
            if f.name not in ("home", "lake_url", "dagster_home_path")
        }

    @property
    def landing(self) -> Path:
        return self.home / "landing"

    @property
    def lake(self) -> Path:
        return self.home / "lake"

    @property
    def tables(self) -> Location:
        """The lake's tables: DXLAKE_LAKE (a path or an fsspec URL), else $DXLAKE_HOME/lake."""
        return lake_location(self.lake_url) if self.lake_url else self.lake

    @property
    def reports(self) -> Path:
        return self.home / "reports"

    @property
    def dagster_home(self) -> Path:
        return self.dagster_home_path or self.home / ".dagster"

    def ensure_dagster_home(self) -> Path:
        """Create DAGSTER_HOME and export it, so CLI runs and `dagster dev` share one instance."""
        home = self.dagster_home
        home.mkdir(parents=True, exist_ok=True)
        config = home / "dagster.yaml"
        if not config.exists():  # SQLite under DAGSTER_HOME; one queued run per partition at once
            config.write_text(DAGSTER_YAML, encoding="utf-8")
        os.environ["DAGSTER_HOME"] = str(home)
        return home

    def export_home(self) -> None:
        """Export DXLAKE_HOME as resolved here, for processes started from this one (`dagster
        dev`'s code server), whatever folder they start in."""
        os.environ["DXLAKE_HOME"] = str(self.home)
