"""The period's landing snapshot: every landing file read once, its rows attributed to provinces.

Why: ingest and validation run per (period, province) so that a province that resubmits reruns
only its own partition, but a file is not addressed to a province: only its rows say which
provinces it covers (a department's file may cover several). So the folder is read once, as the
`landing_snapshot` asset, every row gets a `province_code`, and each province partition takes
its share of the snapshot: every step of a run reads the same reading, and a file that lands
mid-run is the next run's.

A row's province is its resolved unit's; else the province it names (a column or the title
block); else the province most of its file's rows belong to; else UNATTRIBUTED ("00"). A file
with no rows (rejected, or a duplicate) belongs to the provinces of the file it duplicates, or
to UNATTRIBUTED. Nothing read is left without a partition.

Stored as lake/landing_snapshot/period=<p>/rows.parquet and files.parquet (contracts
LANDING_SNAPSHOT_ROWS and LANDING_SNAPSHOT_FILES). A snapshot reuses the previous one: a file
listed as it was then (its `entry_stamp`: mode, size, mtime, inode, ctime) keeps its status and
rows, and only new or changed files are read, when the reading is the same (`reading_stamp`: the
reading code and the settings and the input files they name; else every file is read). What
depends on several files is decided again over the whole listing, as a full read decides it:
the order, duplicates by content, lock files beside a file, the provinces of a file's rows.
A resubmission in a national landing is then one file read, not thousands.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from functools import partial
from pathlib import Path

import polars as pl

import schemas
from geo.gazetteer import Gazetteer
from geo.units import official_units
from schemas.catalogue import load_catalogue
from schemas.contracts import LANDING_SNAPSHOT_FILES, LANDING_SNAPSHOT_ROWS, conform
from schemas.lake import Location, exists, join, read_table, write_table
from schemas.settings import Settings

from .landing import PreviousReading, Progress, list_entries, read_landing

UNATTRIBUTED = "00"
# What decides how the same bytes are read: this package's code, the header vocabulary, and the
# text folding and gazetteer that match headers, units and provinces.
_GEO = Path(__file__).parents[2] / "geo"
_READING_SOURCES = (
    *sorted(Path(__file__).parent.glob("*.py")),
    Path(schemas.__file__).parent / "indicators.yaml",
    _GEO / "text.py",
    _GEO / "gazetteer.py",
)


def reading_version() -> str:
    """The landing_snapshot's code_version: a digest of what decides how bytes are read."""
    digest = hashlib.sha256()
    for source in _READING_SOURCES:
        digest.update(source.read_bytes())
    return digest.hexdigest()[:12]


def file_stamp(path: Path | None) -> str:
    """A file's path, size, time and inode ("" when there is none): it changes when the file
    is rewritten or replaced, without reading it."""
    if path is None or not path.exists():
        return ""
    st = path.stat()
    return f"{path}:{st.st_size}:{st.st_mtime_ns}:{st.st_ino}"


def environment_stamp(settings: Settings) -> str:
    """The settings runs read, and the size and time of each input file they name (a crosswalk,
    a grid, targets replaced in place change it too; where the lake is written does not)."""
    lines = []
    for name, value in settings.inputs().items():
        lines.append(f"{name}={'' if value is None else value}")
        path = value if isinstance(value, Path) else None
        if path is not None and path.exists():
            for item in sorted(path.iterdir()) if path.is_dir() else [path]:
                if item.is_file():
                    lines.append(f"  {file_stamp(item)}")
    return "\n".join(lines)


def reading_stamp(settings: Settings) -> str:
    """What decides how a landing file's bytes are read here: the reading code, the settings
    and the files they name (limits, targets, crosswalk). A snapshot reuses the previous one's
    readings only when this is the same."""
    text = f"{reading_version()}\n{environment_stamp(settings)}"
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def landing_fingerprint(folder: Path, settings: Settings) -> str:
    """Changes when a file is added, removed, renamed, rewritten or replaced, when the
    reading code or vocabulary changes, or when a DXLAKE_ setting changes (limits, targets);
    cheap (stat only), so the sensor and the runner can call it to tell whether the snapshot
    is current."""
    digest = hashlib.sha256(reading_version().encode())
    digest.update(environment_stamp(settings).encode())
    # Every entry, as ingest_folder lists it: each has a status row, and an editor's lock file
    # coming or going changes the status of the file beside it.
    for entry, rel, _, _, _ in sorted(list_entries(folder), key=lambda e: e[1]):
        try:
            st = os.stat(entry.path)  # a link's target
        except OSError:  # a loop, a link to nothing, gone
            st = os.lstat(entry.path) if os.path.lexists(entry.path) else None
        if st is not None:
            # The inode and ctime too: a file replaced by one of the same size with its time
            # kept (cp -p, rsync -t, an archive's dates) has a new inode or ctime, not mtime.
            digest.update(
                f"{rel}\0{st.st_mode}\0{st.st_size}\0{st.st_mtime_ns}\0{st.st_ino}"
                f"\0{st.st_ctime_ns}\n".encode()
            )
    return digest.hexdigest()[:20]


def attribute_provinces(
    raw: pl.DataFrame, file_status: pl.DataFrame, resolve_province: Callable[[str], str | None]
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """raw_reports with `province_code`, file_status with `provinces` (a list of codes)."""
    unit_province = official_units().select("unit_code", unit_province="province_code")
    named = raw["province_raw"].drop_nulls().unique()
    named_province = pl.DataFrame(
        {"province_raw": named, "named_province": [resolve_province(t) for t in named]},
        schema={"province_raw": pl.String, "named_province": pl.String},
    )
    raw = raw.join(unit_province, on="unit_code", how="left", maintain_order="left").join(
        named_province, on="province_raw", how="left", maintain_order="left"
    )
    file_province = (
        raw.filter(pl.col("unit_province").is_not_null())
        .group_by("source_file", "unit_province")
        .len()
        .sort(["source_file", "len", "unit_province"], descending=[False, True, False])
        .group_by("source_file", maintain_order=True)
        .first()
        .select("source_file", file_province="unit_province")
    )
    raw = (
        raw.join(file_province, on="source_file", how="left", maintain_order="left")
        .with_columns(
            province_code=pl.coalesce(
                "unit_province", "named_province", "file_province", pl.lit(UNATTRIBUTED)
            )
        )
        .drop("unit_province", "named_province", "file_province")
    )
    by_hash = (
        raw.group_by("file_sha256")
        .agg(provinces=pl.col("province_code").unique().sort())
        .select("file_sha256", "provinces")
    )
    file_status = file_status.join(
        by_hash, on="file_sha256", how="left", maintain_order="left"
    ).with_columns(
        provinces=pl.when(pl.col("provinces").list.len() > 0)
        .then("provinces")
        .otherwise(pl.lit([UNATTRIBUTED], pl.List(pl.String)))
    )
    return raw, file_status


def take_snapshot(
    settings: Settings, period: str, progress: Progress | None = None, *, reuse: bool = True
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(rows, files) of a period's landing folder for a configured lake: raw_reports with
    `province_code`, file_status with `provinces`, `entry_stamp`, `reading_stamp` and `reading`,
    both whole (all provinces). With `reuse`, the files unchanged since the lake's snapshot of the
    period are not read again (see the module's docstring): the same tables as reading all."""
    stamp = reading_stamp(settings)
    reading = read_landing(
        settings.landing / period,
        period,
        load_catalogue(settings.targets),
        partial(Gazetteer.from_crosswalk, settings.crosswalk),  # built while the files are read
        previous=previous_reading(settings.tables, period, stamp) if reuse else None,
        progress=progress,
        limits=settings.limits,
    )
    gazetteer = Gazetteer.from_crosswalk(settings.crosswalk)
    rows, files = attribute_provinces(reading.rows, reading.files, gazetteer.resolve_province)
    files = files.with_columns(reading_stamp=pl.lit(stamp, pl.String))
    return conform(rows, "landing_snapshot_rows"), conform(files, "landing_snapshot_files")


def previous_reading(tables: Location, period: str, stamp: str) -> PreviousReading | None:
    """The lake's snapshot of the period, when it was read as it would be now (`stamp`, see
    reading_stamp) and stored to today's contracts (a contract changed: everything is read)."""
    if not snapshot_exists(tables, period):
        return None
    files, rows = snapshot_files(tables, period), snapshot_rows(tables, period)
    if files.schema != pl.Schema(LANDING_SNAPSHOT_FILES) or rows.schema != pl.Schema(
        LANDING_SNAPSHOT_ROWS
    ):
        return None  # another contract, or a snapshot from before stamps were kept
    if files["reading_stamp"].unique().to_list() != [stamp]:
        return None  # another code or setting
    return PreviousReading(files, rows)


def _snapshot_path(tables: Location, period: str, part: str) -> Location:
    return join(tables, "landing_snapshot", f"period={period}", f"{part}.parquet")


def write_snapshot(tables: Location, period: str, rows: pl.DataFrame, files: pl.DataFrame):
    write_table(_snapshot_path(tables, period, "rows"), rows)
    write_table(_snapshot_path(tables, period, "files"), files)


def snapshot_files(tables: Location, period: str) -> pl.DataFrame:
    """The snapshot's file_status (every landing entry, with its `provinces`)."""
    path = _snapshot_path(tables, period, "files")
    if not exists(path):
        raise FileNotFoundError(
            f"landing_snapshot {period}: no snapshot at {path}; materialize landing_snapshot "
            f"first (chưa có ảnh chụp thư mục nhận của kỳ {period})"
        )
    return read_table(path)


def snapshot_exists(tables: Location, period: str) -> bool:
    return exists(_snapshot_path(tables, period, "files"))


def snapshot_rows(tables: Location, period: str) -> pl.DataFrame:
    return read_table(_snapshot_path(tables, period, "rows"))


def snapshot_shares(
    tables: Location, period: str, provinces: list[str]
) -> dict[str, tuple[pl.DataFrame, pl.DataFrame]]:
    """Each province's raw_reports and file_status from the snapshot, in their contracts.
    Only the rows of `provinces` are read (filtered as the file is scanned): a run of one
    province, or a step on a cluster's worker, does not hold the whole period's rows."""
    files = snapshot_files(tables, period)
    with _snapshot_path(tables, period, "rows").open("rb") as f:
        rows = pl.scan_parquet(f).filter(pl.col("province_code").is_in(provinces)).collect()
    return {p: province_share(rows, files, p) for p in provinces}


def province_share(
    raw: pl.DataFrame, file_status: pl.DataFrame, province: str
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """One province's raw_reports and file_status, in their contracts."""
    return (
        conform(raw.filter(pl.col("province_code") == province), "raw_reports"),
        conform(file_status.filter(pl.col("provinces").list.contains(province)), "file_status"),
    )


def frame_digest(frame: pl.DataFrame) -> str:
    """A digest of a frame's content, independent of row order; `ingested_at` (the time of
    reading, not what was read) left out."""
    frame = frame.drop("ingested_at", strict=False)
    if frame.is_empty():
        return hashlib.sha256(",".join(frame.columns).encode()).hexdigest()[:16]
    rows = frame.hash_rows().sort().to_numpy().tobytes()
    return hashlib.sha256(",".join(frame.columns).encode() + rows).hexdigest()[:16]


def share_digests(rows: pl.DataFrame, files: pl.DataFrame, provinces: list[str]) -> dict[str, str]:
    """province → a digest of its share: changes exactly when the province's rows or the status
    of a file touching it changes (a resubmission elsewhere leaves it alone)."""
    out = {}
    for p in provinces:
        raw, status = province_share(rows, files, p)
        out[p] = frame_digest(raw)[:8] + frame_digest(status)[:8]
    return out


def provinces_touched(file_status: pl.DataFrame) -> list[str]:
    return sorted(set(file_status["provinces"].explode().drop_nulls().to_list()))
