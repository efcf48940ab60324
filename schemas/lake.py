"""The lake: table paths of DESIGN.md and atomic Parquet writes.

On disk a table is written beside its place and renamed into it, so a crash mid-write leaves the
previous good file, never half a file: readers see either the old table or the new one. The
lake's root may also be an fsspec URL (DXLAKE_LAKE=s3://bucket/lake, memory://lake): a table is
then one object written whole (object stores replace an object atomically).
"""

from __future__ import annotations

import fcntl
import hashlib
import io
import json
import os
import sys
import tempfile
import warnings
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl
from upath import UPath

if TYPE_CHECKING:
    import geopandas as gpd

REFERENCE_TABLES = {"admin_units", "boundary_problems"}
TMP_PREFIX = ".dx-"  # atomic_write's temporary files: ".dx-<random>.tmp" beside the target


Location = Path | UPath  # a local path, or a UPath (fsspec) for a remote lake: s3://bucket/lake


def lake_location(text: str | Path) -> Location:
    """A lake's root as given in DXLAKE_LAKE: an fsspec URL (s3://…, memory://…) as a UPath,
    anything else as a local, absolute Path."""
    path = UPath(text)
    return Path(text).expanduser().resolve() if isinstance(path, Path) else path


def is_remote(location: Location) -> bool:
    """Remote: a UPath on a file system other than the local one (local UPaths are Paths)."""
    return not isinstance(location, Path)


def join(root: Location, *parts: str) -> Location:
    return root.joinpath(*parts)


def exists(location: Location) -> bool:
    return location.exists()


def table_path(
    lake: Location, table: str, period: str | None = None, province: str | None = None
) -> Location:
    """lake/reference/<table>.parquet; a period's table lake/<table>/period=<period>/part-0.parquet;
    a province's part of it lake/<table>/period=<period>/province=<code>.parquet."""
    if table in REFERENCE_TABLES or period is None:
        return join(lake, "reference", f"{table}.parquet")
    name = "part-0.parquet" if province is None else f"province={province}.parquet"
    return join(lake, table, f"period={period}", name)


def period_parts(lake: Location, table: str, period: str) -> list[Location]:
    """The files that make up a period's table (one per province, or one for the period)."""
    folder = join(lake, table, f"period={period}")
    return sorted(folder.glob("*.parquet"), key=str) if folder.exists() else []


def read_period(
    lake: Location, table: str, period: str, columns: list[str] | None = None
) -> pl.DataFrame:
    """A period's whole table (or those `columns` of it): its province parts concatenated
    (DESIGN: period=<p>/*.parquet)."""
    parts = period_parts(lake, table, period)
    if not parts:
        raise FileNotFoundError(f"{table}: nothing at {join(lake, table, f'period={period}')}")
    return read_tables(parts, columns)


def digest(*parts: object) -> str:
    """The one content hash (outputs' keys, run fingerprints, caches): frames by schema and
    every row in order, GeoDataFrames by columns and geometry as WKB, bytes as they are,
    anything else by its repr."""
    h = hashlib.blake2b(digest_size=16)
    for part in parts:
        if isinstance(part, pl.DataFrame):
            h.update(repr(part.schema).encode())
            h.update(part.hash_rows(seed=0, seed_1=1, seed_2=2, seed_3=3).to_numpy().tobytes())
        elif isinstance(part, bytes):
            h.update(part)
        elif _is_geoframe(part):
            import pandas as pd
            import shapely

            crs = part.crs.to_wkt() if part.crs is not None else None
            # str, not repr: a dtype's repr may carry its address, which changes every run
            h.update(repr((crs, list(part.columns), [str(t) for t in part.dtypes])).encode())
            h.update(b"".join(shapely.to_wkb(part.geometry.values)))
            rows = pd.util.hash_pandas_object(part.drop(columns=part.geometry.name), index=False)
            h.update(rows.to_numpy().tobytes())
        else:
            h.update(repr(part).encode())
        h.update(b"\x00")
    return h.hexdigest()


def _is_geoframe(part: object) -> bool:
    """A GeoDataFrame, without importing geopandas where none can exist (the CLI's start)."""
    if "geopandas" not in sys.modules:
        return False
    import geopandas as gpd

    return isinstance(part, gpd.GeoDataFrame)


def atomic_write(path: Path, write: Callable[[Path], None]) -> Path:
    """Call `write(tmp)` on a temporary file beside `path`, then rename it into place.

    The temporary name is short and random whatever `path` is called (".dx-<8 chars>.tmp"): a
    name derived from the target's would pass the file system's 255-byte limit for a long one.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=TMP_PREFIX, suffix=".tmp")
    os.close(fd)
    try:
        write(Path(tmp))
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp's 0600 would hide reports from colleagues
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _umask() -> int:
    """The process's umask, read without setting it (os.umask sets it for every thread)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_table(path: Location, table: pl.DataFrame | gpd.GeoDataFrame) -> Location:
    """Parquet for polars frames, GeoParquet for GeoDataFrames; zstd, atomic."""
    if is_remote(path):
        buffer = io.BytesIO()
        if isinstance(table, pl.DataFrame):
            table.write_parquet(buffer, compression="zstd")
        else:
            table.to_parquet(buffer, compression="zstd", index=False)
        path.fs.pipe_file(path.path, buffer.getvalue())  # one whole object: never seen half
        return path
    if isinstance(table, pl.DataFrame):
        return atomic_write(path, lambda tmp: table.write_parquet(tmp, compression="zstd"))
    return atomic_write(path, lambda tmp: table.to_parquet(tmp, compression="zstd", index=False))


def write_text(path: Path, text: str) -> Path:
    return atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def write_bytes(path: Path, data: bytes) -> Path:
    return atomic_write(path, lambda tmp: tmp.write_bytes(data))


def read_table(path: Location, columns: list[str] | None = None) -> pl.DataFrame:
    """A table as polars reads it; a GeoParquet table's geometry as its WKB bytes (polars
    knows no geoarrow type: read_geotable for the shapes)."""
    with path.open("rb") as f, _geoarrow_as_bytes():
        return pl.read_parquet(f, columns=columns)


def read_tables(paths: list[Location], columns: list[str] | None = None) -> pl.DataFrame:
    """Parts of one table (its provinces' files, one contract) as one frame, in their order:
    local files read by polars at once, in parallel (a third of the time for a period's 35
    province files), a remote lake's one by one."""
    if not any(is_remote(p) for p in paths):
        with _geoarrow_as_bytes():
            return pl.read_parquet([os.fspath(p) for p in paths], columns=columns)
    return pl.concat([read_table(p, columns) for p in paths], how="vertical")


def read_attributes(path: Location) -> pl.DataFrame:
    """A GeoParquet table without its shapes (the columns its "geo" metadata names): what a
    reader of the units' codes, names and flags needs, in a twentieth of the time."""
    with path.open("rb") as f, _geoarrow_as_bytes():
        shapes = json.loads(pl.read_parquet_metadata(f)["geo"])["columns"]
        f.seek(0)
        names = pl.read_parquet_schema(f).names()
    return read_table(path, [c for c in names if c not in shapes])


@contextmanager
def _geoarrow_as_bytes():
    """Polars' warning that it reads a geoarrow column as its bytes, silenced: that is what
    these readers want (a terminal would show it to the data engineer)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Extension type 'geoarrow", UserWarning)
        yield


def read_geotable(path: Location) -> gpd.GeoDataFrame:
    import geopandas as gpd  # only for the geographic tables: it takes a second to import

    with path.open("rb") as f:
        return gpd.read_parquet(f)


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
