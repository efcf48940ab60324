"""A period's landing folder read once, its rows attributed to provinces, cached by fingerprint.

Why: ingest and validation run per (period, province) so that a province that resubmits reruns
only its own partition, but a file is not addressed to a province: only its rows say which
provinces it covers (a department's file may cover several). So the folder is read once per
change, every row gets a `province_code`, and each province partition and the landing sensor
take their share of the cached result instead of reading the folder again.

A row's province is its resolved unit's; else the province it names (a column or the title
block); else the province most of its file's rows belong to; else UNATTRIBUTED ("00"). A file
with no rows (rejected, or a duplicate) belongs to the provinces of the file it duplicates, or
to UNATTRIBUTED. Nothing read is left without a partition.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path

import polars as pl

import schemas
from geo.gazetteer import Gazetteer
from geo.units import official_units
from orchestration.lake import period_locked, write_table
from schemas.catalogue import Catalogue, load_catalogue
from schemas.contracts import conform

from .landing import Progress, ingest_folder, list_entries

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


def landing_fingerprint(folder: Path) -> str:
    """Changes when a file is added, removed, renamed, rewritten or replaced, when the
    reading code or vocabulary changes, or when a DXLAKE_ setting changes (limits, targets);
    cheap (stat only), so the sensor can call it every tick."""
    digest = hashlib.sha256()
    for source in _READING_SOURCES:
        digest.update(source.read_bytes())
    for name in sorted(k for k in os.environ if k.startswith("DXLAKE_")):
        digest.update(f"{name}={os.environ[name]}\n".encode())
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


def ingest_period(
    folder: Path,
    period: str,
    catalogue: Catalogue,
    gazetteer,
    cache_dir: Path,
    *,
    progress: Progress | None = None,
    pinned: Callable[[], bool] = lambda: False,
    pin: bool = False,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The whole period, attributed; read from cache_dir when the folder has not changed.
    `gazetteer`: a Gazetteer or the function that builds it, as ingest_folder takes it.

    `pin`: this reading is the one a run planned its provinces with; while `pinned()` (the run
    holds the period's lock) every step reads it, not the folder again: a file finished or
    changed after the plan is the next run's, never read by some of this run's steps for a
    province the run does not write (its status row would be in no partition)."""
    marker = cache_dir / "pinned"
    kept = marker.read_text().strip() if marker.exists() and pinned() else None
    if pin or not kept or not (cache_dir / f"{kept}.status.parquet").exists():
        key = landing_fingerprint(folder)
    else:
        key = kept
    raw_path, status_path = cache_dir / f"{key}.raw.parquet", cache_dir / f"{key}.status.parquet"
    if raw_path.exists() and status_path.exists():
        raw, status = pl.read_parquet(raw_path), pl.read_parquet(status_path)
    else:
        raw, status = ingest_folder(folder, period, catalogue, gazetteer, progress=progress)
        gazetteer = gazetteer() if callable(gazetteer) else gazetteer  # built by now: cached
        raw, status = attribute_provinces(raw, status, gazetteer.resolve_province)
        for stale in cache_dir.glob("*.parquet") if cache_dir.exists() else []:
            if not (kept and stale.name.startswith(kept)):  # the running run's stays
                stale.unlink(missing_ok=True)  # one cached reading per period is enough
        write_table(raw_path, raw)
        write_table(status_path, status)
    if pin:
        marker.write_text(key)
    return raw, status


def read_landing(settings, period: str, progress: Progress | None = None, pin: bool = False):
    """ingest_period for a configured lake (orchestration.settings.Settings): what the
    raw_reports asset, the runner and the landing sensor share. `pin`: the runner's reading,
    the one its steps read while it holds the period's lock (see ingest_period)."""
    return ingest_period(
        settings.landing / period,
        period,
        load_catalogue(settings.targets),
        Gazetteer.default,  # built while the files are read
        settings.lake / "_staging" / "landing" / f"period={period}",
        progress=progress,
        pinned=lambda: period_locked(settings.lake, period),
        pin=pin,
    )


def province_share(
    raw: pl.DataFrame, file_status: pl.DataFrame, province: str
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """One province's raw_reports and file_status, in their contracts."""
    return (
        conform(raw.filter(pl.col("province_code") == province), "raw_reports"),
        conform(file_status.filter(pl.col("provinces").list.contains(province)), "file_status"),
    )


def provinces_touched(file_status: pl.DataFrame) -> list[str]:
    return sorted(set(file_status["provinces"].explode().drop_nulls().to_list()))
