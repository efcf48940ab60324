"""Read a period's landing folder into raw observations and a status per file.

Every landing entry gets exactly one `file_status` row, whatever it is: read, rejected (with
the reason), duplicate (the same content landed twice is read once), skipped (still being
written, or gone since it was listed), ignored (an editor's lock file, a hidden file) or
cell_sites (an operator's site list, left to the coverage assets). Landing files are opened
read-only and never modified. Every file is read in a worker process under a time and a memory
limit (Limits.max_seconds, max_memory_mb): a file over either is rejected and the run goes on. A
national half-year is thousands of small files, so they are read by one worker per core and
everything that repeats across files (header texts, province titles) is matched once. Given
the previous reading of the folder (read_landing's `previous`), a file listed as it was then
keeps its status and rows unread, and what depends on other files (the order, duplicates) is
decided again over the whole listing: a resubmission is one file read, not the folder.
"""

from __future__ import annotations

import gc
import hashlib
import itertools
import logging
import multiprocessing
import os
import resource
import signal
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path

import pebble
import polars as pl

from geo.gazetteer import Gazetteer
from geo.text import fold
from schemas.catalogue import Catalogue
from schemas.contracts import FILE_STATUS, conform, empty

from . import limits as lim
from .layout import (
    FigureRows,
    TableLayout,
    figure_rows,
    figure_rows_unread,
    fill_merged,
    find_layout,
    form_table,
    stacked_tables,
    title_block,
    transposed_table,
    transposed_unread,
    unread_spans,
)
from .observations import figure_row_observations, sheet_observations, transposed_lineage
from .readers import SUPPORTED_SUFFIXES, TEXT_SUFFIXES, UnreadableFile, read_sheets
from .sites import find_site_header
from .titles import title_period

_AUTHORITY = "uy ban nhan dan "
IGNORED_PREFIXES = (".", "~$", "~")  # hidden files and office lock files

Progress = Callable[[int, int, str], None]
# Progress for a user at a terminal: `dxlake run` shows this logger's INFO lines on stderr while
# Dagster's own console log stays at WARNING.
TERMINAL = logging.getLogger("dxlake.progress")
log = logging.getLogger(__name__)
CHUNK_FILES = 32  # files per worker task (see _bounded)
PARALLEL_MIN_FILES = 200  # fewer files are read by one worker: more would not pay for their start


@dataclass(frozen=True)
class LandingFile:
    path: Path
    rel: str  # relative to the period's landing folder, as the quality report names it
    sha256: str
    mtime: datetime
    # (size, mtime ns) when listed: a change before it is read means "still being written"
    stamp: tuple[int, int] | None = None
    refusal: tuple[str, str, str] | None = None  # (status, vi, en): not opened at all
    # mode, size, mtime, inode and ctime when listed: the same only for the same file unchanged
    # (a copy with its time kept has a new inode or ctime); "" for an entry not to be opened
    entry_stamp: str = ""


def landing_files(folder: Path, *, hashed: bool = True) -> list[LandingFile]:
    """Every entry of a landing folder, oldest first (ties by name): later files win on conflicts.

    Every entry is listed, whatever it is: those not to be opened (a lock or hidden file, a link
    loop, a FIFO, a device, a subfolder that cannot be listed) carry their status in `refusal`.
    `hashed=False` leaves sha256 empty for the reader to fill in (read_file hashes the file in
    the worker that reads it, so a national folder is not hashed on one core first)."""
    out = []
    for entry, rel, is_link, beside, listed in list_entries(folder):
        path = Path(entry.path)
        refusal = listed or lim.ignored(entry.name, rel, _is_dir(entry))
        st = None
        if refusal is None:
            refusal, st = lim.path_refusal(path, rel, folder, is_link)
        if st is None:  # never opened: no hash, the entry's own time
            out.append(LandingFile(path, rel, "", _own_time(entry), refusal=refusal))
            continue
        before = (st.st_size, st.st_mtime_ns)
        digest = _sha256(path) if hashed else ""
        mtime = datetime.fromtimestamp(before[1] / 1e9, tz=UTC)
        refusal = lim.editor_lock(path, beside.__contains__, rel)
        entry_stamp = f"{st.st_mode}:{st.st_size}:{st.st_mtime_ns}:{st.st_ino}:{st.st_ctime_ns}"
        out.append(LandingFile(path, rel, digest, mtime, before, refusal, entry_stamp))
    return sorted(out, key=lambda f: (f.mtime, f.rel))


def _own_time(entry: os.DirEntry) -> datetime:
    try:
        return datetime.fromtimestamp(entry.stat(follow_symlinks=False).st_mtime, tz=UTC)
    except OSError:  # gone since it was listed: its status says so
        return _EPOCH


def list_entries(
    folder: Path,
) -> Iterator[tuple[os.DirEntry, str, bool, set[str], tuple[str, str, str] | None]]:
    """(entry, path relative to `folder`, is a link, names beside it, status if not to be
    read) for every entry at any depth. A subfolder is descended unless its name is hidden, and
    is itself an entry only when it is not descended (hidden, or it cannot be listed); a linked
    folder is an entry (refused later), never descended. The directory listing says what is a
    folder or a link without a system call per file."""
    stack: list[tuple[str, str, os.DirEntry | None]] = [(os.fspath(folder), "", None)]
    while stack:
        top, prefix, own = stack.pop()
        try:
            with os.scandir(top) as listing:
                entries = list(listing)
        except OSError as exc:
            if own is None:  # the landing folder itself: nothing to list
                return
            rel = prefix.rstrip("/")
            yield own, rel, False, set(), lim.unlisted(rel, exc)
            continue
        beside = {e.name for e in entries}
        for e in entries:
            rel = prefix + lim.shown(e.name)
            if _is_dir(e) and not e.name.startswith(IGNORED_PREFIXES):
                stack.append((e.path, f"{rel}/", e))
            else:
                yield e, rel, e.is_symlink(), beside, None


def _is_dir(entry: os.DirEntry) -> bool:
    try:
        return entry.is_dir(follow_symlinks=False)
    except OSError:  # left to the per-entry checks, which say what it is
        return False


def _small_file(file: LandingFile, limits: lim.Limits) -> bytes | None:
    """The bytes of a spreadsheet under the size limit, else None (hashed as a stream)."""
    size = file.stamp[0] if file.stamp else file.path.stat().st_size
    if size > limits.max_file_mb * (1 << 20) or file.path.suffix.lower() in TEXT_SUFFIXES:
        return None
    return file.path.read_bytes()


def _sha256(path: Path) -> str:
    with path.open("rb") as fh:  # streamed: a huge file costs time, not memory
        return hashlib.file_digest(fh, "sha256").hexdigest()


def _province_from_title(
    texts: list[str], resolve_province: Callable[[str], str | None]
) -> str | None:
    for text in texts:
        words = text.split()
        folded = fold(text)
        # "UBND THÀNH PHỐ HUẾ", "Ủy ban nhân dân tỉnh Lào Cai": the issuing authority's line
        authority = 1 if folded.startswith("ubnd ") else 4 if folded.startswith(_AUTHORITY) else 0
        for candidate in (text, text.split(":", 1)[-1], " ".join(words[authority:])):
            code = resolve_province(candidate.strip())
            if code:
                return code
    return None


def read_file(
    file: LandingFile,
    catalogue: Catalogue,
    resolve_province: Callable[[str], str | None] | None = None,
    limits: lim.Limits | None = None,
) -> tuple[list[dict], dict]:
    """Observations of one file and its status row. Never raises for a bad file: rejects it.

    An error nobody foresaw (a bug meeting a file shaped like none before) rejects that file
    with the error named and logged with its traceback: one file never stops a national run."""
    try:
        return _read_bounded(file, catalogue, resolve_province, limits)
    except Exception as exc:  # noqa: BLE001 - reported per file, see the docstring
        log.exception("unexpected error reading %s", file.rel)
        return [], _refused(_blank_status(file), *_unexpected(file, exc))


def _read_bounded(
    file: LandingFile,
    catalogue: Catalogue,
    resolve_province: Callable[[str], str | None] | None = None,
    limits: lim.Limits | None = None,
) -> tuple[list[dict], dict]:
    """_read_file, with running out of memory (the worker's limit, see _start_worker) as the
    file's rejection. Any other error is raised: a pool worker raises it to the parent, which
    logs it with the worker's traceback."""
    limits = limits or lim.Limits()
    try:
        observations, status = _read_file(file, catalogue, resolve_province, limits)
    except MemoryError:
        return [], _refused(_blank_status(file), *_over_memory(file, limits))
    name = file.path.name
    if lim.shown(name) != name:  # not UTF-8: the readers' reasons carry it
        status = {k: lim.shown(v) if isinstance(v, str) else v for k, v in status.items()}
    return observations, status


def _read_file(
    file: LandingFile,
    catalogue: Catalogue,
    resolve_province: Callable[[str], str | None] | None,
    limits: lim.Limits | None,
) -> tuple[list[dict], dict]:
    """read_file's work.

    Without `resolve_province` each observation carries its sheet's title lines in `_titles`
    for the caller to resolve: a pool worker then needs no gazetteer, and the same title in a
    thousand files is resolved once."""
    limits = limits or lim.Limits()
    data = None
    if not file.sha256 and not file.refusal:
        try:
            data = _small_file(file, limits)  # read once: hashed here, parsed from memory
            sha = hashlib.sha256(data).hexdigest() if data is not None else _sha256(file.path)
        except OSError as exc:  # gone since it was listed, or not ours to read
            return [], _refused(_blank_status(file), *lim.not_opened(file.rel, exc))
        file = replace(file, sha256=sha)
    status = {**_blank_status(file), "status": "read"}
    if file.refusal:
        return [], _refused(status, *file.refusal)
    if file.path.suffix.lower() not in SUPPORTED_SUFFIXES:
        return [], _reject(status, *_unsupported(file.rel, file.path.suffix))
    notes: list[tuple[str, str]] = []
    try:
        sheets = read_sheets(file.path, limits, notes=notes, data=data)
    except UnreadableFile as exc:
        return [], _reject(status, exc.reason_vi, exc.reason_en)
    # A file changed since it was listed is skipped by ingest_folder once its reader returns
    # (_recorded): that one check, after the read, sees every change a check here would.
    if notes:  # read, with something the auditor should know (macros ignored, wrong extension)
        status["reason_vi"] = "; ".join(vi for vi, _ in notes)
        status["reason_en"] = "; ".join(en for _, en in notes)
    observations: list[dict] = []
    read, hidden, unread = [], [s.name for s in sheets if s.hidden], []
    for sheet in sheets:
        if sheet.hidden:
            continue
        filled = fill_merged(sheet)
        if (per_figure := figure_rows(filled, catalogue)) is not None:
            read.append(sheet.name)
            unread += [f"{sheet.name}!{span}" for span in figure_rows_unread(per_figure)]
            observations += _figure_row_observations(
                sheet.name, filled, per_figure, resolve_province
            )
            continue
        layout = find_layout(filled, catalogue)
        if layout is None:
            turned = transposed_table(filled, catalogue) or form_table(filled, catalogue)
            if turned is not None:
                read.append(sheet.name)
                unread += [f"{sheet.name}!{span}" for span in transposed_unread(turned)]
                found = _table_observations(
                    sheet.name,
                    turned.grid,
                    turned.titles(filled),
                    turned.layout,
                    resolve_province,
                    catalogue,
                )
                observations += [transposed_lineage(obs) for obs in found]
            continue
        for table in stacked_tables(filled, layout, catalogue):
            unread += [f"{sheet.name}!{span}" for span in unread_spans(table)]
            if not table.figures:  # every figure under another period's heading: none to read
                continue
            if sheet.name not in read:
                read.append(sheet.name)
            titles = title_block(filled, table)
            observations += _table_observations(
                sheet.name, sheet.rows, titles, table, resolve_province, catalogue
            )
    status["sheets_read"] = ", ".join(read) or None
    status["sheets_hidden"] = ", ".join(hidden) or None
    status["columns_unread"] = ", ".join(unread) or None
    if not read and (
        sites := [s.name for s in sheets if not s.hidden and find_site_header(s.rows)]
    ):
        return [], {
            **status,
            "status": "cell_sites",
            "sheets_read": ", ".join(sites),
            "reason_vi": "Danh sách trạm phát sóng: đọc vào bảng cell_sites để tính vùng phủ sóng",
            "reason_en": "cell-site list: read into cell_sites for the coverage computation",
        }
    if not read and unread:
        return [], _reject(status, *_other_periods(file.rel, status["columns_unread"]))
    if not read:
        return [], _reject(
            status,
            f"Tệp {file.rel}: không tìm thấy bảng số liệu: không có dòng tiêu đề nào có cột "
            "mã/tên đơn vị và cột chỉ tiêu",
            f"file {file.rel}: no report table found: no header row with a unit code/name "
            "column and an indicator column",
        )
    status["observations"] = len(observations)
    if not observations:  # a report table without one figure: said, never a silent "read"
        notes.append(
            (
                f"Tệp {file.rel}: có bảng số liệu ({status['sheets_read']}) nhưng không có số "
                "liệu nào: ô để trống, hoặc công thức chưa được tính (tệp do chương trình tạo); "
                "hãy mở và lưu lại bằng Excel hoặc LibreOffice",
                f"file {file.rel}: a report table ({status['sheets_read']}) but not one figure "
                "in it: empty cells, or formulas saved without their values (a file written by "
                "a program); open and save it in Excel or LibreOffice",
            )
        )
        status["reason_vi"] = "; ".join(vi for vi, _ in notes)
        status["reason_en"] = "; ".join(en for _, en in notes)
    return observations, status


def _table_observations(
    sheet_name: str,
    rows: list[list[object]],
    titles: list[str],
    table: TableLayout,
    resolve_province: Callable[[str], str | None] | None,
    catalogue: Catalogue,
) -> list[dict]:
    """The observations of one table of a sheet, with its title lines' province and period."""
    return _titled(
        lambda **hints: sheet_observations(rows, table, catalogue, sheet_name=sheet_name, **hints),
        titles,
        table.period or title_period(titles),
        resolve_province,
    )


def _figure_row_observations(
    sheet_name: str,
    filled: list[list[object]],
    table: FigureRows,
    resolve_province: Callable[[str], str | None] | None,
) -> list[dict]:
    """The observations of a table with a row per figure under each unit."""
    titles = title_block(filled, TableLayout((table.header_row,), {}, table.header_row + 1))
    return _titled(
        lambda **hints: figure_row_observations(filled, table, sheet_name=sheet_name, **hints),
        titles,
        title_period(titles),
        resolve_province,
    )


def _titled(
    make: Callable[..., Iterable[dict]],
    titles: list[str],
    period_hint: str | None,
    resolve_province: Callable[[str], str | None] | None,
) -> list[dict]:
    """`make(province_hint=, period_hint=)`'s observations. Without `resolve_province` each
    carries its title lines in `_titles` for the caller to resolve (see _read_file)."""
    province_hint = _province_from_title(titles, resolve_province) if resolve_province else None
    found = list(make(province_hint=province_hint, period_hint=period_hint))
    if resolve_province is None:
        for obs in found:
            obs["_titles"] = tuple(titles)
    return found


def _other_periods(name: str, unread: str) -> tuple[str, str]:
    return (
        f"Tệp {name}: không có nhóm cột nào của kỳ báo cáo; các cột không đọc: {unread}",
        f"file {name}: no column group of the reported period; columns not read: {unread}",
    )


def _unsupported(name: str, suffix: str) -> tuple[str, str]:
    return (
        f"Tệp {name}: định dạng tệp không được hỗ trợ ({suffix or 'không có phần mở rộng'}); "
        "hãy gửi .xlsx, .xls, .ods hoặc .csv",
        f"file {name}: unsupported file type ({suffix or 'no extension'}); "
        "send .xlsx, .xls, .ods or .csv",
    )


def _refused(status: dict, kind: str, reason_vi: str, reason_en: str) -> dict:
    return {**status, "status": kind, "reason_vi": reason_vi, "reason_en": reason_en}


def _reject(status: dict, reason_vi: str, reason_en: str) -> dict:
    return {**status, "status": "rejected", "reason_vi": reason_vi, "reason_en": reason_en}


@dataclass(frozen=True)
class PreviousReading:
    """The same folder as read before, by the same code and settings (the period's last landing
    snapshot): each entry's status row with its `entry_stamp`, and the rows read."""

    files: pl.DataFrame  # file_status columns and entry_stamp
    rows: pl.DataFrame  # raw_reports columns


@dataclass(frozen=True)
class Reading:
    """A landing folder read: its raw_reports, and its file_status with each entry's
    `entry_stamp` (as listed) and `reading`: read (opened and read now), reused (its status and
    rows taken from the previous reading) or listed (its status from the listing alone: a lock
    or hidden file, a link, a FIFO, a file with a lock file beside it; never opened)."""

    rows: pl.DataFrame
    files: pl.DataFrame


def ingest_folder(
    folder: Path,
    period: str,
    catalogue: Catalogue,
    gazetteer: Gazetteer | Callable[[], Gazetteer],
    **options,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(raw_reports, file_status) for a period's landing folder (read_landing's options)."""
    reading = read_landing(folder, period, catalogue, gazetteer, **options)
    return reading.rows, conform(reading.files, "file_status")


def read_landing(
    folder: Path,
    period: str,
    catalogue: Catalogue,
    gazetteer: Gazetteer | Callable[[], Gazetteer],
    *,
    previous: PreviousReading | None = None,
    ingested_at: datetime | None = None,
    progress: Progress | None = None,
    workers: int | None = None,
    limits: lim.Limits | None = None,
) -> Reading:
    """A period's landing folder read, every file in it or, given the `previous` reading, only
    the files new or changed since (see _unchanged): the same rows and statuses, in the same
    order, as reading them all.

    `limits`: what one file may cost to read (Settings.limits; default: Limits' defaults).

    `workers`: processes reading files, each file under the cost bound (Limits.max_seconds,
    max_memory_mb); by default one per core once there are PARALLEL_MIN_FILES files, else one.
    Without `progress`, the progress goes to the TERMINAL logger, so whoever reads the folder
    first (the runner planning provinces, the sensor, the asset) shows it on `dxlake run`'s
    terminal; it counts the files opened.
    `gazetteer`: the Gazetteer, or the function that builds it (Gazetteer.default): it is then
    built once the pool's workers have started, while they read, not before.
    """
    ingested_at = ingested_at or datetime.now(tz=UTC)
    built = cache(gazetteer if callable(gazetteer) else lambda: gazetteer)
    progress = progress or progress_logger(lambda message: TERMINAL.info(f"dxlake: {message}"))
    limits = limits or lim.Limits()
    files = landing_files(folder, hashed=False) if folder.exists() else []
    kept = _unchanged(files, previous.files) if previous is not None else {}
    # An entry refused from its listing alone (a lock file, a link, a FIFO) is never opened:
    # its status is made here, without a worker.
    opened = [f for f in files if f.refusal is None and f.rel not in kept]
    seen: dict[str, str] = {}  # sha256 → the first (oldest) file with that content
    by_file: dict[str, dict] = {}
    columns: dict[str, list] = {}  # the observations, column by column (see _columns)
    provinces: dict[tuple[str, ...], str | None] = {}  # title lines → province code
    done = itertools.count(1)  # files opened and read
    with closing(_read_files(opened, catalogue, limits, workers)) as reads:  # in listing order
        for file in files:
            if file.rel in kept:
                by_file[file.rel] = _deduplicated(file, kept[file.rel], seen)
            elif file.refusal is not None:
                status = read_file(file, catalogue, None, limits)[1]
                by_file[file.rel] = _recorded(file, {}, status, seen)
            else:
                _, found, status = next(reads)
                by_file[file.rel] = status = _recorded(file, found, status, seen)
                if status["status"] == "read" and found:
                    _add_rows(columns, file, found, status, provinces, built)
                progress(next(done), len(opened), file.rel)
    rows = _raw_frame(columns, period, ingested_at, built)
    reused = [rel for rel in kept if by_file[rel]["status"] == "read"]
    if reused:  # the rows of the files kept, each file's rows in its place in the listing
        place = {f.rel: k for k, f in enumerate(files)}
        earlier = conform(previous.rows.filter(pl.col("source_file").is_in(reused)), "raw_reports")
        rows = pl.concat([rows, earlier]).sort(
            pl.col("source_file").replace_strict(place, return_dtype=pl.Int64),
            maintain_order=True,
        )
    return Reading(rows, _status_frame(files, by_file, kept, period))


def _add_rows(
    columns: dict[str, list],
    file: LandingFile,
    found: dict[str, list],
    status: dict,
    provinces: dict[tuple[str, ...], str | None],
    gazetteer: Callable[[], Gazetteer],
) -> None:
    """A file's observations added to `columns`, with their lineage and the province of their
    title lines (each distinct title resolved once, in `provinces`)."""
    titles, province = found.pop("_titles", ()), found["province_raw"]
    for j, lines in enumerate(titles):
        if province[j] is None and lines:
            if lines not in provinces:
                provinces[lines] = _province_from_title(lines, gazetteer().resolve_province)
            province[j] = provinces[lines]
    count = len(province)
    found.update(
        source_file=[file.rel] * count,
        file_sha256=[status["file_sha256"]] * count,
        file_mtime=[(file.mtime - _EPOCH) // _MICROSECOND] * count,
    )
    for key, values in found.items():
        columns.setdefault(key, []).extend(values)


def _how(file: LandingFile, kept: dict[str, dict]) -> str:
    return "reused" if file.rel in kept else "listed" if file.refusal else "read"


def _status_frame(
    files: list[LandingFile], by_file: dict[str, dict], kept: dict[str, dict], period: str
) -> pl.DataFrame:
    """file_status in listing order, with each entry's stamp and how it was read (Reading)."""
    extra = {"entry_stamp": pl.String, "reading": pl.String}
    if not files:
        return empty("file_status").with_columns(pl.lit(None, t).alias(c) for c, t in extra.items())
    statuses = pl.DataFrame([by_file[f.rel] for f in files], schema_overrides=_STATUS_TYPES)
    return conform(statuses.with_columns(period=pl.lit(period)), "file_status").with_columns(
        entry_stamp=pl.Series([f.entry_stamp or None for f in files], dtype=pl.String),
        reading=pl.Series([_how(f, kept) for f in files], dtype=pl.String),
    )


def _unchanged(files: list[LandingFile], previous: pl.DataFrame) -> dict[str, dict]:
    """rel → the previous status row of each file whose reading is reused: listed as it was
    then (the same entry stamp: mode, size, times, inode), nothing refusing it now (a lock file
    beside it), and its status the reading's own: read, rejected (by its content and the limits,
    which are the same), a cell-site list, or a duplicate of a file before it that is reused
    as read (so is a duplicate still). Skipped files are read again, and so are duplicates
    whose original changed or left: they may now be the first with that content."""
    wanted = ["entry_stamp", *(c for c in FILE_STATUS if c != "period")]  # a status row's
    before = {r["source_file"]: r for r in previous.select(wanted).iter_rows(named=True)}
    kept: dict[str, dict] = {}
    held: set[str] = set()  # the content of the files kept as read before this one
    for file in files:
        row = before.get(file.rel)
        if row is None or file.refusal or row.pop("entry_stamp") != file.entry_stamp:
            continue
        status, sha = row["status"], row["file_sha256"]
        if status in ("read", "cell_sites"):
            held.add(sha)
        elif not (status == "rejected" or (status == "duplicate" and sha in held)):
            continue
        kept[file.rel] = row
    return kept


def _recorded(
    file: LandingFile, found: dict[str, list], status: dict, seen: dict[str, str]
) -> dict:
    """The file's one status row, as the run records it. A file changed or gone since it was
    listed is skipped whatever its reader found (its rows would be of a state the next run's
    listing never sees); the same content read twice counts once (see _deduplicated)."""
    skipped = status["status"] == "skipped"
    if (
        not skipped
        and file.stamp
        and (changed := lim.being_written(file.path, file.stamp, file.rel))
    ):
        return _refused({**_blank_status(file), "file_sha256": status["file_sha256"]}, *changed)
    return _deduplicated(file, status, seen)


def _deduplicated(file: LandingFile, status: dict, seen: dict[str, str]) -> dict:
    """The status, or "duplicate" when a file before it in the listing has its content. Only
    content that was read is what another file duplicates: a half-written (skipped) file is
    not, and a copy of a rejected file is rejected in its own name (its sender is told too;
    nothing of it was read once)."""
    sha = status["file_sha256"]
    if sha and sha in seen:  # hashed by its reader; read, but only the first copy counts
        return {
            **_blank_status(file),
            "file_sha256": sha,
            "status": "duplicate",
            "reason_vi": f"Tệp {file.rel}: trùng nội dung với tệp {seen[sha]}; chỉ đọc một lần",
            "reason_en": f"file {file.rel}: same content as {seen[sha]}; read once",
        }
    if sha and status["status"] in ("read", "cell_sites"):
        seen[sha] = file.rel
    return status


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# The status rows' types, not inferred: the first hundred rows may all lack a reason.
_STATUS_TYPES = {k: t for k, t in FILE_STATUS.items() if k not in ("period", "file_mtime")}
_MICROSECOND = timedelta(microseconds=1)


def _columns(observations: list[dict]) -> dict[str, list]:
    """Observations as columns: lists pickle back from a pool worker, and become a frame, many
    times faster than a dict per observation."""
    keys = dict.fromkeys(key for obs in observations for key in obs)
    return {key: [obs.get(key) for obs in observations] for key in keys}


def _read_files(
    files: list[LandingFile], catalogue: Catalogue, limits: lim.Limits, workers: int | None
) -> Iterator[tuple[LandingFile, dict[str, list], dict]]:
    """(file, its observations as columns, status) for each file, in order, each read in a
    worker process under the cost bound (see _bounded)."""
    if not files:
        return
    if workers is None:
        workers = len(os.sched_getaffinity(0)) if len(files) >= PARALLEL_MIN_FILES else 1
    if multiprocessing.current_process().daemon:  # e.g. a Dask worker: may not start processes
        log.warning("reading in this daemonic process, without the per-file cost bound")
        for file in files:
            yield file, *_read_columns(file, catalogue, limits)
        return
    # Objects alive now are never collected in a worker: a collection would write to every one
    # of them and copy the parent's pages into each worker (copy-on-write) for nothing.
    gc.freeze()
    try:
        yield from _bounded(files, catalogue, limits, max(1, min(workers, len(files))))
    finally:
        gc.unfreeze()


def _bounded(
    files: list[LandingFile], catalogue: Catalogue, limits: lim.Limits, workers: int
) -> Iterator[tuple[LandingFile, dict[str, list], dict]]:
    """Each file read by a pebble worker under limits.max_seconds (the worker is killed and
    replaced past it) and limits.max_memory_mb (see _start_worker); a file over either, or
    whose reader dies, is rejected with the reason and the others are read.

    Forked workers start in milliseconds with the code and the header memo already loaded.
    They only read files (calamine, the standard library) and never call polars: a polars call
    in a child forked after polars started its thread pool would hang. Frames are built here, in
    the parent. The catalogue and limits reach each worker once, through the fork (initargs are
    not pickled then): a catalogue unpickled per task would be a new object and miss every
    per-catalogue memo. Files go to workers CHUNK_FILES at a time under one time limit (a task
    per file cost the parent a tenth of a national read); a chunk that fails, past the limit or
    with its worker dead, is read again a file per task, so only the file over the bound is
    rejected and each file is held to the limit on its own."""
    with _pool(workers, catalogue, limits) as pool:
        chunks = [files[k : k + CHUNK_FILES] for k in range(0, len(files), CHUNK_FILES)]
        futures = [pool.schedule(_read_chunk, (c,), timeout=limits.max_seconds) for c in chunks]
        for chunk, future in zip(chunks, futures, strict=True):
            try:
                results = future.result()
            except Exception:  # noqa: BLE001 - a file of it over the bound: each on its own
                results = None
            if results is not None:
                for file, (observations, status) in zip(chunk, results, strict=True):
                    yield file, observations, status
                continue
            alone = [pool.schedule(_read_one, (f,), timeout=limits.max_seconds) for f in chunk]
            for file, single in zip(chunk, alone, strict=True):
                yield file, *_outcome(file, single, limits)


@contextmanager
def _pool(
    workers: int, catalogue: Catalogue | None, limits: lim.Limits
) -> Iterator[pebble.ProcessPool]:
    """Forked pebble workers, each under the memory limit (see _start_worker); stopped, not
    drained, on the way out: when the caller stops reading, the files not read yet are not
    waited for."""
    pool = pebble.ProcessPool(
        workers,
        initializer=_start_worker,
        initargs=(catalogue, limits),
        context=multiprocessing.get_context("fork"),
    )
    try:
        yield pool
    finally:
        pool.stop()
        pool.join()


def _outcome(
    file: LandingFile, future: pebble.ProcessFuture, limits: lim.Limits
) -> tuple[dict[str, list], dict]:
    """A file read on its own in a worker: its observations and status, or its rejection."""
    try:
        return future.result()
    except TimeoutError:
        refusal = _too_slow(file, limits)
    except pebble.ProcessExpired as exc:
        refusal = _crashed(file, exc.exitcode, limits)
    except MemoryError:  # the result itself did not fit
        refusal = _over_memory(file, limits)
    except Exception as exc:  # noqa: BLE001 - one file never stops a run
        log.error("unexpected error reading %s", file.rel, exc_info=exc)
        refusal = _unexpected(file, exc)
    return {}, _refused(_blank_status(file), *refusal)


def bounded_calls(
    fn: Callable[[Path], object], paths: list[Path], limits: lim.Limits
) -> Iterator[tuple[Path, object, str | None]]:
    """(path, fn(path), None) for each path, each call in a worker under the cost bound a file
    is read with (see _bounded), or (path, None, why) past it. For whatever else reads landing
    files (the cell-site lists): `fn` must return plain Python (no polars in a forked worker)."""
    if not paths:
        return
    if multiprocessing.current_process().daemon:  # may not start processes (see _read_files)
        for path in paths:
            yield path, fn(path), None
        return
    with _pool(1, None, limits) as pool:
        futures = [pool.schedule(fn, (path,), timeout=limits.max_seconds) for path in paths]
        for path, future in zip(paths, futures, strict=True):
            try:
                yield path, future.result(), None
            except TimeoutError:
                yield path, None, f"took more than {limits.max_seconds:g} s (DXLAKE_MAX_SECONDS)"
            except (pebble.ProcessExpired, MemoryError) as exc:
                yield path, None, f"over the cost bound (DXLAKE_MAX_MEMORY_MB): {exc!r}"[:200]


_WORKER: dict[str, object] = {}  # in a pool worker: the catalogue and limits it reads with


def _start_worker(catalogue: Catalogue, limits: lim.Limits) -> None:
    """A worker's memory limit, over what it already maps: the forked parent's pages (shared,
    copy-on-write) are not what a file costs."""
    _WORKER.update(catalogue=catalogue, limits=limits)
    with open("/proc/self/status") as fh:
        size = next(int(line.split()[1]) << 10 for line in fh if line.startswith("VmSize:"))
    hard = resource.getrlimit(resource.RLIMIT_AS)[1]
    soft = size + int(limits.max_memory_mb * (1 << 20))
    resource.setrlimit(resource.RLIMIT_AS, (soft if hard < 0 else min(soft, hard), hard))


def _read_chunk(files: list[LandingFile]) -> list[tuple[dict[str, list], dict]]:
    return [_read_one(file) for file in files]


def _read_one(file: LandingFile) -> tuple[dict[str, list], dict]:
    observations, status = _read_bounded(file, _WORKER["catalogue"], limits=_WORKER["limits"])
    return _columns(observations), status


def _over_memory(file: LandingFile, limits: lim.Limits) -> tuple[str, str, str]:
    mb = f"{limits.max_memory_mb:g}"
    return (
        "rejected",
        f"Tệp {file.rel}: cần hơn {mb} MB bộ nhớ để đọc (DXLAKE_MAX_MEMORY_MB)",
        f"file {file.rel}: needed more than {mb} MB to read (DXLAKE_MAX_MEMORY_MB)",
    )


def _too_slow(file: LandingFile, limits: lim.Limits) -> tuple[str, str, str]:
    s = f"{limits.max_seconds:g}"
    return (
        "rejected",
        f"Tệp {file.rel}: đọc mất hơn {s} giây (DXLAKE_MAX_SECONDS); đã dừng đọc",
        f"file {file.rel}: took more than {s} s to read (DXLAKE_MAX_SECONDS); reading stopped",
    )


def _crashed(file: LandingFile, exitcode: int | None, limits: lim.Limits) -> tuple[str, str, str]:
    """The reader's process died reading the file. A native allocation over the memory limit
    aborts (SIGABRT) rather than raising MemoryError: that one names the limit too."""
    try:
        how = signal.Signals(-exitcode).name if exitcode and exitcode < 0 else f"exit {exitcode}"
    except ValueError:
        how = f"signal {-exitcode}"
    vi, en = f"bộ đọc bị dừng đột ngột ({how})", f"the reader crashed ({how})"
    if exitcode == -signal.SIGABRT:
        mb = f"{limits.max_memory_mb:g}"
        vi += f", thường do cần hơn {mb} MB bộ nhớ (DXLAKE_MAX_MEMORY_MB)"
        en += f", most often from needing more than {mb} MB (DXLAKE_MAX_MEMORY_MB)"
    return ("rejected", f"Tệp {file.rel}: {vi}", f"file {file.rel}: {en}")


def _unexpected(file: LandingFile, exc: Exception) -> tuple[str, str, str]:
    detail = f"{type(exc).__name__}: {str(exc)[:200]}"
    return (
        "rejected",
        f"Tệp {file.rel}: lỗi không lường trước khi đọc ({detail}); hãy báo cho nhóm dữ liệu",
        f"file {file.rel}: unexpected error while reading ({detail}); report it to the data team",
    )


def _read_columns(
    file: LandingFile, catalogue: Catalogue, limits: lim.Limits
) -> tuple[dict[str, list], dict]:
    """read_file, with the observations as columns (see _columns)."""
    observations, status = read_file(file, catalogue, limits=limits)
    return _columns(observations), status


def progress_logger(log: Callable[[str], None], every: int = 100) -> Progress:
    """A Progress that logs files read of total and the rate, every `every` files and at the end."""
    started = time.monotonic()

    def report(done: int, total: int, name: str) -> None:
        if done == total or done % every == 0:
            rate = done / max(time.monotonic() - started, 1e-6)
            log(f"đã đọc / read {done}/{total} tệp / files ({rate:.0f} tệp/giây / files/s)")

    return report


def _blank_status(file: LandingFile) -> dict:
    return {
        "source_file": file.rel,
        "file_sha256": file.sha256,
        "file_mtime": file.mtime,
        "status": None,
        "reason_vi": None,
        "reason_en": None,
        "sheets_read": None,
        "sheets_hidden": None,
        "columns_unread": None,
        "observations": 0,
    }


def _row_key(df: pl.DataFrame) -> pl.Expr:
    """The row in an observation's id; a transposed table's units share a row, so theirs is
    the figure's cell ("C5")."""
    row = pl.col("source_row").cast(pl.String)
    return pl.coalesce(pl.col("_cell"), row) if "_cell" in df.columns else row


def _raw_frame(
    columns: dict[str, list],
    period: str,
    ingested_at: datetime,
    gazetteer: Callable[[], Gazetteer],
) -> pl.DataFrame:
    """raw_reports from the observations' columns (file_mtime in microseconds since 1970);
    `gazetteer` builds the gazetteer, only when there are observations to resolve."""
    if not columns:
        return empty("raw_reports")
    schema = dict(empty("raw_reports").schema)
    df = pl.DataFrame(
        columns,
        schema_overrides={k: schema[k] for k in columns if k in schema and k != "file_mtime"},
    )
    df = df.with_columns(
        period=pl.lit(period),
        ingested_at=pl.lit(ingested_at, schema["ingested_at"]),
        file_mtime=pl.col("file_mtime").cast(schema["file_mtime"]),
        obs_id=pl.concat_str(  # the period first: the same file landed in two periods is two
            pl.lit(period),  # observations each, never one id shared across periods
            pl.col("file_sha256").str.slice(0, 16),
            pl.col("source_sheet"),
            _row_key(df),
            pl.col("indicator_id"),
            separator=":",
        ),
    )
    df = gazetteer().resolve_frame(df, "unit_code_raw", "unit_name_raw", "province_raw")
    return conform(df, "raw_reports")
