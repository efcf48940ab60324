"""Where the lake lives and what the operator configured, read once from the environment.

DXLAKE_HOME         lake root (default ./data): landing/, lake/, reports/
DAGSTER_HOME        Dagster's instance (default $DXLAKE_HOME/.dagster, SQLite)
DXLAKE_BOUNDARIES   official boundary file (any GDAL format); unset → approximate geometry
DXLAKE_BOUNDARIES_CODE_COLUMN  its unit-code column when not detected
DXLAKE_CROSSWALK    the dvhcvn/20250701 old → new crosswalk (its mapping/splits.json or
                    merges.json, or a folder holding them): the authority for names from before
                    1 July 2025; unset → the crosswalk of the vietnamadminunits package. Read by
                    geo/gazetteer.py (Gazetteer.default), which ingest calls without settings
DXLAKE_REMOTE_CLASSES  a province's CSV of remote classes (khu vực III, xã ĐBKK, ...)
DXLAKE_TARGETS      a province's YAML of target overrides
DXLAKE_PROVINCES    comma-separated province codes in scope (default: those the files report)
DXLAKE_BORDER_KM    distance to the land border that makes a unit a border unit (default 1)
DXLAKE_DEADLINES    report deadlines as MM-DD=half, comma-separated (default 06-10=H1,12-10=H2:
                    the seeds' latest half-year and year deadlines); a compilation run follows
                    the day after each
DXLAKE_MAX_FILE_MB, DXLAKE_MAX_UNCOMPRESSED_MB, DXLAKE_MAX_RATIO, DXLAKE_MAX_ROWS,
DXLAKE_MAX_COLUMNS, DXLAKE_MAX_CELLS, DXLAKE_MAX_LINE_BYTES
                    what one landing file may cost to read (assets/ingest/limits.py: defaults
                    50 MB, 300 MB unzipped, 200:1, 200,000 rows, 1,000 columns, 5,000,000 cells
                    per sheet, 1 MiB per text line); a file over a limit is rejected with a reason
DXLAKE_LAKE         where the lake's tables live when not $DXLAKE_HOME/lake: a path or an fsspec
                    URL (s3://bucket/lake); landing files, reports, caches and locks stay local
DXLAKE_EXECUTOR     in_process (default), multiprocess or dask (see orchestration/executors.py)
DXLAKE_DASK_ADDRESS the dask.distributed scheduler for DXLAKE_EXECUTOR=dask
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from assets.ingest.limits import Limits

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


def _deadlines(text: str) -> tuple[tuple[int, int, str], ...]:
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
class Settings:
    home: Path
    boundaries: Path | None = None
    boundaries_code_column: str | None = None
    remote_classes: Path | None = None
    targets: Path | None = None
    provinces: tuple[str, ...] = ()
    border_km: float = 1.0
    deadlines: tuple[tuple[int, int, str], ...] = ((6, 10, "H1"), (12, 10, "H2"))
    limits: Limits = Limits()  # readers read DXLAKE_MAX_* themselves, so worker processes agree
    executor: str = "in_process"
    dask_address: str | None = None
    lake_url: str | None = None

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
            deadlines=_deadlines(os.environ.get("DXLAKE_DEADLINES", "06-10=H1,12-10=H2")),
            limits=Limits.from_env(),  # a bad value fails here, before a run starts
            executor=_choice("DXLAKE_EXECUTOR", ("in_process", "multiprocess", "dask")),
            dask_address=os.environ.get("DXLAKE_DASK_ADDRESS") or None,
            lake_url=os.environ.get("DXLAKE_LAKE", "").strip() or None,
        )

    @property
    def landing(self) -> Path:
        return self.home / "landing"

    @property
    def lake(self) -> Path:
        return self.home / "lake"

    @property
    def tables(self) -> Path | str:
        """The lake's tables: DXLAKE_LAKE (a path or an fsspec URL), else $DXLAKE_HOME/lake."""
        if not self.lake_url:
            return self.lake
        return self.lake_url if "://" in self.lake_url else Path(self.lake_url).resolve()

    @property
    def reports(self) -> Path:
        return self.home / "reports"

    @property
    def dagster_home(self) -> Path:
        return _path("DAGSTER_HOME") or self.home / ".dagster"

    def ensure_dagster_home(self) -> Path:
        """Create DAGSTER_HOME and export it, so CLI runs and `dagster dev` share one instance."""
        home = self.dagster_home
        home.mkdir(parents=True, exist_ok=True)
        config = home / "dagster.yaml"
        if not config.exists():  # SQLite under DAGSTER_HOME; one queued run per partition at once
            config.write_text(DAGSTER_YAML, encoding="utf-8")
        os.environ["DAGSTER_HOME"] = str(home)
        return home
