"""The lake on disk: table paths of DESIGN.md and atomic Parquet writes (write beside, rename).

A crash mid-write leaves the previous good file, never half a file: readers see either the old
table or the new one.
"""

from __future__ import annotations

import fcntl
import os
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

import geopandas as gpd
import polars as pl

REFERENCE_TABLES = {"admin_units", "boundary_problems"}


def table_path(lake: Path, table: str, period: str | None = None) -> Path:
    """lake/reference/<table>.parquet, or lake/<table>/period=<period>/part-0.parquet."""
    if table in REFERENCE_TABLES or period is None:
        return lake / "reference" / f"{table}.parquet"
    return lake / table / f"period={period}" / "part-0.parquet"


def atomic_write(path: Path, write: Callable[[Path], None]) -> Path:
    """Call `write(tmp)` on a temporary file beside `path`, then rename it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(Path(tmp))
        _pause_for_crash_test(path)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _pause_for_crash_test(path: Path) -> None:
    """DXLAKE_PAUSE_BEFORE_RENAME=<part of a table's path>: stop here, the new version written
    beside the table and not yet renamed, so the crash-safety test can SIGKILL the run at the
    one moment that matters (tests/hostile/test_crash_and_concurrency.py). Unset: nothing."""
    target = os.environ.get("DXLAKE_PAUSE_BEFORE_RENAME")
    if target and target in path.as_posix():
        print(f"dxlake: paused before rename {path}", file=sys.stderr, flush=True)
        time.sleep(300)


def write_table(path: Path, table: pl.DataFrame | gpd.GeoDataFrame) -> Path:
    """Parquet for polars frames, GeoParquet for GeoDataFrames; zstd, atomic."""
    if isinstance(table, gpd.GeoDataFrame):
        return atomic_write(
            path, lambda tmp: table.to_parquet(tmp, compression="zstd", index=False)
        )
    return atomic_write(path, lambda tmp: table.write_parquet(tmp, compression="zstd"))


def write_text(path: Path, text: str) -> Path:
    return atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def read_table(path: Path) -> pl.DataFrame:
    return pl.read_parquet(path)


def read_geotable(path: Path) -> gpd.GeoDataFrame:
    return gpd.read_parquet(path)


@contextmanager
def period_lock(lake: Path, period: str, on_wait: Callable[[], None] | None = None):
    """Hold the period's lock for a whole run: a second run of the same period waits.

    An OS file lock (released by the kernel if the process dies, so a killed run never leaves
    the period locked); `on_wait` is called once when another run holds it.
    """
    path = lake / ".locks" / f"{period}.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if on_wait:
                on_wait()
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
