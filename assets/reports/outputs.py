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
import os
from collections.abc import Callable
from contextlib import contextmanager
from fnmatch import fnmatchcase
from functools import cache
from importlib.metadata import version
from pathlib import Path

from schemas.lake import digest, write_bytes, write_text

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
    "assets/reports/templates/quality_parts.html.j2",
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


@cache
def _code_hash():
    return hashlib.blake2b(code_version().encode(), digest_size=16)


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

    @classmethod
    def beside(cls, folder: Path) -> Outputs:
        """The outputs of `folder` alone, their manifest beside it (.<name>.publish.json): the
        folder holds what is passed on, and nothing else."""
        folder = Path(folder)
        return cls(folder.parent, folder.parent / f".{folder.name}.publish.json")

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

    def keep_unchanged(self, folder: Path, keys: dict[str, str]) -> set[str]:
        """Of the files of `folder` named in `keys` (name → key), record those that are as the
        last publish made them from the same key; return the others' names, to build and
        record(). One pass over the manifest by name (thousands of return workbooks, most
        unchanged): a stat for each file whose key is unchanged, nothing more."""
        prefix, base = self._prefix(folder), os.path.join(folder, "")
        stale = set()
        for name, key in keys.items():
            rel = prefix + name
            old = self.old.get(rel)
            try:
                unchanged = old is not None and old[0] == self._versioned(key)
                stat = os.stat(base + name) if unchanged else None
            except FileNotFoundError:
                stat = None
            if stat is not None and old[1:] == [stat.st_size, stat.st_mtime_ns]:
                self.new[rel] = old
            else:
                stale.add(name)
        return stale

    def _entry(self, path: Path, key: str) -> list | None:
        try:
            stat = Path(path).stat()
        except FileNotFoundError:
            return None
        return [self._versioned(key), stat.st_size, stat.st_mtime_ns]

    @staticmethod
    def _versioned(key: str) -> str:
        """The key with the code's version (per file: thousands of return workbooks)."""
        h = _code_hash().copy()
        h.update(key.encode())
        return h.hexdigest()

    def _rel(self, path: Path) -> str:
        return Path(path).relative_to(self.root).as_posix()

    def _prefix(self, folder: Path) -> str:
        """What the manifest's names of the files in `folder` start with."""
        rel = self._rel(folder)
        return "" if rel == "." else rel + "/"

    def prune(self, folder: Path, *patterns: str) -> None:
        """Remove the files in `folder` matching `patterns` that this publish did not make."""
        prefix = self._prefix(folder)
        try:
            with os.scandir(folder) as entries:
                names = [e.name for e in entries]
        except FileNotFoundError:
            return
        for name in names:
            if prefix + name not in self.new and any(fnmatchcase(name, p) for p in patterns):
                os.unlink(os.path.join(folder, name))

    def close(self) -> None:
        """Remove what the last publish made and this one did not; keep the keys."""
        for rel in self.old.keys() - self.new.keys():
            (self.root / rel).unlink(missing_ok=True)
        if self.new != self.old:
            write_text(self.manifest, json.dumps(self.new, sort_keys=True))  # C encoder: no indent


class Parts:
    """Parts of a page kept between publishes, each under a key of what it is made from (its
    rows, and the code): a page is assembled from them, and a publish after one commune
    resubmitted makes again only the parts that show its rows. A file each in `folder`, named
    by its key (None: nothing kept, every part made); close() removes those not used."""

    def __init__(self, folder: Path | None = None):
        self.folder = folder
        self.used: dict[str, str] = {}
        self.made: list[str] = []  # the parts made this time (the others were kept)

    def get(self, make: Callable[[], str], *inputs: object) -> str:
        """The part made by `make()` from `inputs` (frames, text: as digest() hashes them)."""
        key = digest(code_version(), *inputs)
        part = self.used.get(key)
        if part is None:
            part = self._kept(key)
            if part is None:
                part = make()
                self.made.append(part)
                if self.folder is not None:
                    write_bytes(self.folder / key, part.encode())
            self.used[key] = part
        return part

    def _kept(self, key: str) -> str | None:
        if self.folder is None:
            return None
        try:
            return (self.folder / key).read_bytes().decode()
        except FileNotFoundError:
            return None

    def close(self) -> None:
        """Remove the parts this publish did not use (rows gone or changed)."""
        if self.folder is None or not self.folder.is_dir():
            return
        with os.scandir(self.folder) as entries:
            for entry in entries:
                if entry.name not in self.used:
                    os.unlink(entry.path)


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
