"""Report files rebuilt only when what they are made from changed.

A national period has 3,321 communes; when one resubmits a file, the publish should rewrite its
province's page, the national outputs that show it, and nothing else. Each output is written
with a key: a hash of exactly its inputs (frames, text) and of the code that renders it. The
keys are kept in a small manifest beside the outputs; an output whose key is unchanged and
whose file exists is left as it is (not rewritten: its mtime stays), and a file this publish
no longer makes (a province or a source file gone) is removed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from functools import cache
from importlib.metadata import version
from pathlib import Path

import geopandas as gpd
import pandas as pd
import polars as pl
import shapely

from schemas.lake import write_text

_REPO = Path(__file__).resolve().parents[2]
# The code a report's bytes depend on, besides the frames: any change rebuilds every output.
CODE = (
    "assets/reports/gap_tables.py",
    "assets/reports/outputs.py",
    "assets/reports/publish.py",
    "assets/reports/quality.py",
    "assets/reports/safe.py",
    "geo/maps.py",
    "geo/previews.py",
    "geo/text.py",
    "schemas/display.py",
    "schemas/rules.py",
)
LIBRARIES = ("polars", "openpyxl", "folium", "matplotlib", "shapely", "django-js-lib-leaflet")


@cache
def code_version() -> str:
    """A hash of the rendering code and of the libraries that shape the bytes written."""
    h = hashlib.blake2b(digest_size=16)
    for name in CODE:
        h.update((_REPO / name).read_bytes())
    h.update(repr([version(lib) for lib in LIBRARIES]).encode())
    return h.hexdigest()


def digest(*parts: object) -> str:
    """A hash of frames (schema and every row, in order), GeoDataFrames (their columns and
    geometry as WKB), bytes and anything else by its repr."""
    h = hashlib.blake2b(digest_size=16)
    for part in parts:
        if isinstance(part, gpd.GeoDataFrame):
            crs = part.crs.to_wkt() if part.crs is not None else None
            # str, not repr: a dtype's repr may carry its address, which changes every run
            h.update(repr((crs, list(part.columns), [str(t) for t in part.dtypes])).encode())
            h.update(b"".join(shapely.to_wkb(part.geometry.values)))
            rows = pd.util.hash_pandas_object(part.drop(columns=part.geometry.name), index=False)
            h.update(rows.to_numpy().tobytes())
        elif isinstance(part, pl.DataFrame):
            h.update(repr(part.schema).encode())
            h.update(part.hash_rows(seed=0, seed_1=1, seed_2=2, seed_3=3).to_numpy().tobytes())
        else:
            h.update(part if isinstance(part, bytes) else repr(part).encode())
        h.update(b"\x00")
    return h.hexdigest()


class Outputs:
    """The files one asset writes under `root`, with their keys in `manifest`.

    The manifest keeps, per file, its key and the size and mtime it had when made: a file
    changed since (by hand, or rewritten by a publish that failed before saving the manifest)
    is made again."""

    def __init__(self, root: Path, manifest: Path):
        self.root, self.manifest = Path(root), Path(manifest)
        try:
            self.old: dict[str, list] = json.loads(self.manifest.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            self.old = {}
        self.new: dict[str, list] = {}
        self.built: list[str] = []  # written this time, relative to root

    def make(self, path: Path, key: str, write: Callable[[Path], object]) -> Path:
        """`write(path)` unless `path` is as the last publish made it from the same key."""
        built = self.stale(path, key)
        if built:
            write(path)
        return self.record(path, key, built=built)

    def stale(self, path: Path, key: str) -> bool:
        """Whether `path` must be (re)built: missing, changed, or made from another key."""
        entry = self._entry(path, key)
        return entry is None or self.old.get(self._rel(path)) != entry

    def record(self, path: Path, key: str, *, built: bool) -> Path:
        """Note that `path` is made from `key` (and whether it was written this time)."""
        rel = self._rel(path)
        self.new[rel] = self._entry(path, key)
        if built:
            self.built.append(rel)
        return path

    def _entry(self, path: Path, key: str) -> list | None:
        try:
            stat = Path(path).stat()
        except FileNotFoundError:
            return None
        return [digest(code_version(), key), stat.st_size, stat.st_mtime_ns]

    def _rel(self, path: Path) -> str:
        return Path(path).relative_to(self.root).as_posix()

    def prune(self, folder: Path, *patterns: str) -> None:
        """Remove the files in `folder` matching `patterns` that this publish did not make."""
        for pattern in patterns:
            for path in Path(folder).glob(pattern):
                if path.relative_to(self.root).as_posix() not in self.new:
                    path.unlink()

    def close(self) -> None:
        """Remove what the last publish made and this one did not; keep the keys."""
        for rel in self.old.keys() - self.new.keys():
            (self.root / rel).unlink(missing_ok=True)
        if self.new != self.old:
            write_text(self.manifest, json.dumps(self.new, indent=0, sort_keys=True))
