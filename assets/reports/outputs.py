"""Report files rebuilt only when what they are made from changed.

A national period has 3,321 communes; when one resubmits a file, the publish should rewrite its
province's page, the national outputs that show it, and nothing else. Each output is written
with a key: a hash of exactly its inputs (frames, text) and of the code that renders it. The
keys are kept in a small manifest beside the outputs; an output whose key is unchanged and
whose file exists is left as it is (not rewritten: its mtime stays), and a file this publish
no longer makes (a province or a source file gone) is removed.
"""

from __future__ import annotations

import gc
import hashlib
import json
from collections.abc import Callable
from contextlib import contextmanager
from functools import cache
from importlib.metadata import version
from pathlib import Path

from schemas.lake import digest, write_text

_REPO = Path(__file__).resolve().parents[2]
# The code a report's bytes depend on, besides the frames: any change rebuilds every output.
CODE = (
    "assets/reports/gap_tables.py",
    "assets/reports/outputs.py",
    "assets/reports/publish.py",
    "assets/reports/quality.py",
    "assets/reports/returns.py",
    "assets/reports/safe.py",
    "assets/reports/templates/quality.html.j2",
    "assets/reports/templates/quality.css",
    "geo/coverage/layer.py",  # the dead-zone layer the pages draw
    "geo/maps.py",
    "geo/page.py",
    "geo/page_data.py",
    "geo/topology.py",
    "geo/templates/map.html.j2",
    "geo/templates/page.html.j2",
    "geo/static/map.js",
    "geo/static/map.css",
    "geo/data/base_ne10m.geojson",
    "geo/data/vn_outline_ne10m.geojson",
    "geo/previews.py",
    "geo/text.py",
    "schemas/display.py",
    "schemas/rules.py",
)
LIBRARIES = (
    "polars",
    "xlsxwriter",  # writes the workbooks (openpyxl only reads)
    "jinja2",
    "folium",
    "branca",
    "matplotlib",
    "shapely",
    "django-js-lib-leaflet",
)


@cache
def code_version() -> str:
    """A hash of the rendering code and of the libraries that shape the bytes written."""
    h = hashlib.blake2b(digest_size=16)
    for name in CODE:
        h.update((_REPO / name).read_bytes())
    h.update(repr([version(lib) for lib in LIBRARIES]).encode())
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


@contextmanager
def cycles_paused():
    """Python's cycle collection paused while outputs are built (a `with` block or a decorator),
    then resumed as it was. A national publish builds millions of small objects (a workbook's
    cells, a page's arcs and features) that reference counting frees; in a run's process each
    collection they trigger also walks Dagster's heap: a fifth of a national table's time, a
    tenth of a first map publish. Whatever cycles they leave are collected afterwards."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
