"""Every landing entry gets exactly one status row with a bilingual reason naming it, whatever it
is (a link loop, a FIFO, a device, a folder that cannot be listed, a lock or hidden file, a file
gone or growing, one whose reader is too slow, too greedy or killed), and nothing else is lost:
the good files' observations are the same as without it, and the rows match the listing."""

from __future__ import annotations

import os
import signal
import stat
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pytest

import assets.ingest.landing as landing
from assets.ingest.landing import ingest_folder
from tests.hostile.cases import PERIOD, other_province_csv
from tests.hostile.conftest import FIGURES, copy_good

GOOD = [
    "so_khcn_hue_2026-H1.xlsx",
    "so_khcn_hue_2026-H1_bo_sung.xlsx",
    "viettel_phu_song_5g_2026-H1.csv",
]


def listing(folder: Path) -> list[str]:
    """What a landing folder holds, as an office would count it: every entry but the folders
    it walks into (a hidden folder, or one that cannot be listed, is one entry itself)."""
    out, stack = [], [(folder, "")]
    while stack:
        top, prefix = stack.pop()
        try:
            entries = list(os.scandir(top))
        except OSError:
            out.append(prefix.rstrip("/"))
            continue
        for e in entries:
            if e.is_dir(follow_symlinks=False) and not e.name.startswith((".", "~")):
                stack.append((Path(e.path), f"{prefix}{e.name}/"))
            else:
                out.append(prefix + e.name)
    return sorted(out)


def _observations(raw: pl.DataFrame) -> pl.DataFrame:
    return raw.filter(pl.col("source_file").is_in(GOOD)).drop("ingested_at").sort("obs_id")


@pytest.fixture(scope="module")
def good_alone(tmp_path_factory, good_landing, lowered_limits, catalogue, gazetteer):
    folder = tmp_path_factory.mktemp("alone")
    copy_good(good_landing, folder)
    raw, status = ingest_folder(folder, PERIOD, catalogue, gazetteer)
    assert status["status"].to_list() == ["read"] * 3
    return _observations(raw)


def _single_row(status: pl.DataFrame, name: str) -> dict:
    rows = status.filter(pl.col("source_file") == name).to_dicts()
    assert len(rows) == 1, f"{name}: {len(rows)} status rows"
    return rows[0]


def _assert_entry(status, raw, folder, good_alone, name, kind, reason, vi=None):
    """The entry's one row, its reason in both languages naming it, and nothing else lost."""
    FIGURES["cases tried"] += 1
    row = _single_row(status, name)
    assert row["status"] == kind, row
    assert reason in row["reason_en"], row
    assert name in row["reason_en"] and name in row["reason_vi"], row
    if vi:
        assert vi in row["reason_vi"], row
    assert raw.filter(pl.col("source_file") == name).is_empty()
    assert row["observations"] == 0
    assert _observations(raw).equals(good_alone)
    assert sorted(status["source_file"]) == listing(folder)  # one row per entry, no more


# ---- entries in the folder before the run ------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    name: str
    write: Callable[[Path], None]
    status: str
    reason: str
    vi: str | None = None


def _link(name: str, target: str) -> Callable[[Path], None]:
    return lambda folder: (folder / name).symlink_to(target)


def _file(name: str, data: bytes = b"x") -> Callable[[Path], None]:
    return lambda folder: (folder / name).write_bytes(data)


def _nested_too_deep(folder: Path) -> None:
    """deep/ and folders in it whose whole path is longer than the system takes (PATH_MAX,
    4,096 bytes): the folder at that depth cannot be listed, by root either. Made with paths
    relative to an open folder, as only they can."""
    fd = os.open(folder, os.O_DIRECTORY)
    try:
        for name in ["deep", *["d" * 250] * 17]:
            os.mkdir(name, dir_fd=fd)
            inner = os.open(name, os.O_DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd = inner
        with open(os.open("r.csv", os.O_CREAT | os.O_WRONLY, dir_fd=fd), "wb") as fh:
            fh.write(other_province_csv())
    finally:
        os.close(fd)


def _deep_name(folder: Path) -> str:
    rel = "deep"
    while len(str(folder / rel)) + 251 < 4096:
        rel += "/" + "d" * 250
    return rel + "/" + "d" * 250


def _hidden_folder(folder: Path) -> None:
    (folder / ".Trash-1000").mkdir()
    (folder / ".Trash-1000" / "old.csv").write_bytes(other_province_csv())


ENTRIES = [
    Entry("loop_a.csv", _link("loop_a.csv", "loop_b.csv"), "rejected", "symbolic link loop"),
    Entry("loop_b.csv", _link("loop_b.csv", "loop_a.csv"), "rejected", "symbolic link loop"),
    Entry("self.csv", _link("self.csv", "self.csv"), "rejected", "symbolic link loop", "vòng"),
    Entry(
        "dangling.csv",
        _link("dangling.csv", "nowhere.csv"),
        "rejected",
        "symbolic link to nothing",
    ),
    Entry(
        "queue.csv",
        lambda f: os.mkfifo(f / "queue.csv"),
        "rejected",
        "is not a regular file (a named pipe (FIFO))",
    ),
    Entry(
        "null.csv",
        lambda f: os.mknod(f / "null.csv", stat.S_IFCHR | 0o600, os.makedev(1, 3)),
        "rejected",
        "is not a regular file (a device)",
        "thiết bị",
    ),
    Entry(
        "~$bao_cao.xlsx",
        _file("~$bao_cao.xlsx", b"\x0bsomeone" + bytes(150)),
        "ignored",
        "Excel's lock file",
        "tệp khoá",
    ),
    Entry(
        ".~lock.bao_cao.ods#",
        _file(".~lock.bao_cao.ods#", b"someone,pc,01.06.2026 09:00;"),
        "ignored",
        "LibreOffice's lock file",
    ),
    Entry(".DS_Store", _file(".DS_Store"), "ignored", "its name starts with '.'", "tệp ẩn"),
    Entry(
        "~tam.csv", _file("~tam.csv", other_province_csv()), "ignored", "its name starts with '~'"
    ),
    Entry(".Trash-1000", _hidden_folder, "ignored", "a hidden or temporary folder", "thư mục ẩn"),
]


@pytest.fixture(scope="module")
def entries(tmp_path_factory, good_landing, lowered_limits, catalogue, gazetteer):
    folder = tmp_path_factory.mktemp("entries")
    copy_good(good_landing, folder)
    for entry in ENTRIES:
        entry.write(folder)
    _nested_too_deep(folder)
    raw, status = ingest_folder(folder, PERIOD, catalogue, gazetteer)
    return folder, raw, status


@pytest.mark.parametrize("entry", ENTRIES, ids=[e.name for e in ENTRIES])
def test_an_entry_gets_its_one_status(entries, good_alone, entry):
    folder, raw, status = entries
    _assert_entry(status, raw, folder, good_alone, entry.name, entry.status, entry.reason, entry.vi)


def test_a_folder_that_cannot_be_listed_is_an_entry_rejected_with_the_reason(entries, good_alone):
    """A real listing failure, root or not: a path longer than the system takes."""
    folder, raw, status = entries
    name = _deep_name(folder)
    _assert_entry(status, raw, folder, good_alone, name, "rejected", "cannot be listed (File name")
    row = _single_row(status, name)
    assert row["reason_en"].startswith(f"folder {name}: ") and "not read" in row["reason_en"]


def test_a_listing_refused_by_the_system_is_an_entry(
    tmp_path, good_landing, good_alone, lowered_limits, catalogue, gazetteer, monkeypatch
):
    """A subfolder the system refuses to list (as chmod 000 does for anyone but root)."""
    copy_good(good_landing, tmp_path)
    (tmp_path / "locked").mkdir()
    (tmp_path / "locked" / "r.csv").write_bytes(other_province_csv())
    scandir = os.scandir

    def refusing(path):
        if os.fspath(path).endswith("locked"):
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return scandir(path)

    monkeypatch.setattr(landing.os, "scandir", refusing)
    raw, status = ingest_folder(tmp_path, PERIOD, catalogue, gazetteer)
    _assert_entry(  # counted against the listing as the run saw it (still refused)
        status, raw, tmp_path, good_alone, "locked", "rejected", "cannot be listed (Permission"
    )


def test_statuses_past_the_first_hundred_keep_their_reasons(
    tmp_path, lowered_limits, catalogue, gazetteer
):
    """A hundred files read without a note, then a hidden one: its reason is a row like any
    other (the status frame's types are the contract's, not guessed from the first rows)."""
    for k in range(101):
        (tmp_path / f"r{k:03}.csv").write_bytes(other_province_csv(skip=k % 5))
        os.utime(tmp_path / f"r{k:03}.csv", (1_000 + k, 1_000 + k))
    (tmp_path / ".complete").write_text("101")
    raw, status = _run(tmp_path, catalogue, gazetteer)
    FIGURES["cases tried"] += 1
    assert status["source_file"].to_list()[-1] == ".complete"
    assert _single_row(status, ".complete")["status"] == "ignored"
    assert status["status"].value_counts().sort("status").rows() == [
        ("duplicate", 96), ("ignored", 1), ("read", 5)
    ]  # fmt: skip
    assert sorted(status["source_file"]) == listing(tmp_path)


# ---- what happens to an entry during the run ---------------------------------------------------


def _listed_then(monkeypatch, change: Callable[[], None]) -> None:
    """Run `change` right after the folder is listed, before any file is read."""
    listed = landing.landing_files

    def then(*args, **kwargs):
        files = listed(*args, **kwargs)
        change()
        return files

    monkeypatch.setattr(landing, "landing_files", then)


def _run(folder: Path, catalogue, gazetteer) -> tuple[pl.DataFrame, pl.DataFrame]:
    return ingest_folder(folder, PERIOD, catalogue, gazetteer)


def test_a_file_gone_after_listing_is_skipped(
    tmp_path, good_landing, good_alone, lowered_limits, catalogue, gazetteer, monkeypatch
):
    copy_good(good_landing, tmp_path)
    gone = tmp_path / "gone.csv"
    gone.write_bytes(other_province_csv())
    _listed_then(monkeypatch, gone.unlink)
    raw, status = _run(tmp_path, catalogue, gazetteer)
    gone.write_bytes(b"")  # the listing the run saw: counted against it
    _assert_entry(status, raw, tmp_path, good_alone, "gone.csv", "skipped", "moved or deleted")


def test_a_file_growing_after_listing_is_skipped_not_half_read(
    tmp_path, good_landing, good_alone, lowered_limits, catalogue, gazetteer, monkeypatch
):
    copy_good(good_landing, tmp_path)
    growing = tmp_path / "growing.csv"
    growing.write_bytes(other_province_csv())

    def append() -> None:
        with growing.open("ab") as fh:
            fh.write("00001;Xã đang chép dở;12".encode())

    _listed_then(monkeypatch, append)
    raw, status = _run(tmp_path, catalogue, gazetteer)
    _assert_entry(
        status, raw, tmp_path, good_alone, "growing.csv", "skipped", "still being written"
    )


def test_a_file_that_cannot_be_opened_is_rejected_with_the_system_reason(
    tmp_path, good_landing, good_alone, lowered_limits, catalogue, gazetteer, monkeypatch
):
    """Root opens anything, so the refusal is the system's error as open raises it."""
    copy_good(good_landing, tmp_path)
    (tmp_path / "private.xlsx").write_bytes((tmp_path / GOOD[0]).read_bytes() + b"\0")
    small_file = landing._small_file

    def refused(file, limits):
        if file.rel == "private.xlsx":
            raise PermissionError(13, "Permission denied", str(file.path))
        return small_file(file, limits)

    monkeypatch.setattr(landing, "_small_file", refused)
    raw, status = _run(tmp_path, catalogue, gazetteer)
    _assert_entry(
        status,
        raw,
        tmp_path,
        good_alone,
        "private.xlsx",
        "rejected",
        "cannot be opened (Permission",
    )


# ---- the cost bound ----------------------------------------------------------------------------


def _reader_that(monkeypatch, name: str, does: Callable[[], None]) -> None:
    """The reader does `does` for the file `name` (in the worker: patched before the fork)."""
    read_sheets = landing.read_sheets

    def reader(path, *args, **kwargs):
        if path.name == name:
            does()
        return read_sheets(path, *args, **kwargs)

    monkeypatch.setattr(landing, "read_sheets", reader)


def _with_case(tmp_path, good_landing, name: str) -> Path:
    copy_good(good_landing, tmp_path)
    (tmp_path / name).write_bytes(other_province_csv())
    return tmp_path


def _spin() -> None:
    while True:
        pass


def test_a_file_read_past_the_time_limit_is_rejected_and_the_run_goes_on(
    tmp_path, good_landing, good_alone, lowered_limits, catalogue, gazetteer, monkeypatch
):
    folder = _with_case(tmp_path, good_landing, "slow.csv")
    monkeypatch.setenv("DXLAKE_MAX_SECONDS", "1")
    _reader_that(monkeypatch, "slow.csv", _spin)
    started = time.monotonic()
    raw, status = _run(folder, catalogue, gazetteer)
    assert time.monotonic() - started < 20
    _assert_entry(
        status, raw, folder, good_alone, "slow.csv", "rejected",
        "took more than 1 s to read (DXLAKE_MAX_SECONDS)", "mất hơn 1 giây",
    )  # fmt: skip


def test_a_file_needing_more_memory_than_the_limit_is_rejected(
    tmp_path, good_landing, good_alone, lowered_limits, catalogue, gazetteer, monkeypatch
):
    folder = _with_case(tmp_path, good_landing, "greedy.csv")
    monkeypatch.setenv("DXLAKE_MAX_MEMORY_MB", "100")
    _reader_that(monkeypatch, "greedy.csv", lambda: bytearray(200 << 20))
    raw, status = _run(folder, catalogue, gazetteer)
    _assert_entry(
        status, raw, folder, good_alone, "greedy.csv", "rejected",
        "needed more than 100 MB to read (DXLAKE_MAX_MEMORY_MB)", "cần hơn 100 MB",
    )  # fmt: skip


def test_the_memory_limit_leaves_an_ordinary_file_its_room(
    tmp_path, good_landing, good_alone, lowered_limits, catalogue, gazetteer, monkeypatch
):
    """Control for the test above: 50 MB under a 100 MB limit is read, so the limit counts what
    the file costs, not what the forked worker already maps."""
    folder = _with_case(tmp_path, good_landing, "modest.csv")
    monkeypatch.setenv("DXLAKE_MAX_MEMORY_MB", "100")
    _reader_that(monkeypatch, "modest.csv", lambda: bytearray(50 << 20))
    raw, status = _run(folder, catalogue, gazetteer)
    FIGURES["cases tried"] += 1
    assert _single_row(status, "modest.csv")["status"] == "read"
    assert raw.filter(pl.col("source_file") == "modest.csv").height > 0
    assert _observations(raw).equals(good_alone)


def test_a_reader_killed_by_a_signal_rejects_its_file_only(
    tmp_path, good_landing, good_alone, lowered_limits, catalogue, gazetteer, monkeypatch
):
    folder = _with_case(tmp_path, good_landing, "crash.csv")
    _reader_that(monkeypatch, "crash.csv", lambda: os.kill(os.getpid(), signal.SIGKILL))
    raw, status = _run(folder, catalogue, gazetteer)
    _assert_entry(
        status, raw, folder, good_alone, "crash.csv", "rejected", "the reader crashed (SIGKILL)"
    )


def test_a_reader_aborting_names_the_memory_limit(
    tmp_path, good_landing, good_alone, lowered_limits, catalogue, gazetteer, monkeypatch
):
    """A native allocation over the limit aborts the process (Rust, C) instead of raising."""
    folder = _with_case(tmp_path, good_landing, "abort.csv")
    _reader_that(monkeypatch, "abort.csv", os.abort)
    raw, status = _run(folder, catalogue, gazetteer)
    _assert_entry(
        status, raw, folder, good_alone, "abort.csv", "rejected",
        "the reader crashed (SIGABRT), most often from needing more than 1024 MB",
    )  # fmt: skip


def _ingest_in_daemon(folder: str, out: str) -> None:
    from geo.gazetteer import Gazetteer
    from schemas.catalogue import load_catalogue

    _, status = ingest_folder(Path(folder), PERIOD, load_catalogue(), Gazetteer.default)
    status.write_parquet(out)


def test_a_daemonic_process_reads_without_workers(tmp_path, good_landing):
    """A Dask worker is a daemonic process, which may not start processes: it reads the files
    itself (logged), rather than failing the run."""
    import multiprocessing

    copy_good(good_landing, tmp_path / "l")
    out = tmp_path / "status.parquet"
    spawn = multiprocessing.get_context("spawn")  # a fork of this process would hang in polars
    proc = spawn.Process(target=_ingest_in_daemon, args=(str(tmp_path / "l"), str(out)))
    proc.daemon = True
    proc.start()
    proc.join(120)
    FIGURES["cases tried"] += 1
    assert proc.exitcode == 0
    assert pl.read_parquet(out)["status"].to_list() == ["read"] * 3


# ---- rows split otherwise than the header ------------------------------------------------------


def test_a_row_split_by_another_delimiter_is_read_and_quarantined(
    tmp_path, good_landing, good_alone, lowered_limits, catalogue, gazetteer
):
    """'00004,Ba Đình,20,18' under a ';' header: neither read as figures nor lost."""
    from assets.validate.checks import validate
    from schemas.expectations import ObservationValidator

    copy_good(good_landing, tmp_path)
    lines = other_province_csv().decode().splitlines()
    code, name, total, with_pc = lines[4].split(";")
    lines[4] = ",".join([code, name, total, with_pc])
    (tmp_path / "commas.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    raw, status = _run(tmp_path, catalogue, gazetteer)
    FIGURES["cases tried"] += 1
    row = _single_row(status, "commas.csv")
    assert row["status"] == "read"
    mine = raw.filter(pl.col("source_file") == "commas.csv")
    assert sorted(set(mine["source_row"])) == [4, 5, 6]
    assert row["observations"] == mine.height
    assert _observations(raw).equals(good_alone)
    assert sorted(status["source_file"]) == listing(tmp_path)
    validated, quarantined, _ = validate(mine, catalogue, ObservationValidator(catalogue, PERIOD))
    split = quarantined.filter(pl.col("source_row") == 5)
    assert split.height == mine.filter(pl.col("source_row") == 5).height > 0
    assert set(split["unit_code"]) == {code}
    assert all("not split like the header's (by ',')" in m for m in split["message_en"])
    assert all(f"{code},{name}" in m for m in split["message_vi"])
    assert set(validated["source_row"]) == {4, 6}


# ---- a file that changes while a run goes through its provinces -------------------------------


def test_a_file_finished_after_the_run_planned_keeps_its_one_status_row(tmp_path, monkeypatch):
    """The run takes the landing snapshot while a Hà Nội file is still open in an editor
    (skipped), and the office finishes it right after: every step of the run uses the
    snapshot, so the file's row (skipped) is in the lake, and the next run reads
    it. (Re-read by the steps, it was read for Hà Nội, a province the run had not planned:
    its row, and its rows, were in no partition at all.)"""
    import dagster as dg

    import orchestration.runner as runner
    from schemas.lake import read_period
    from schemas.settings import Settings

    landing = tmp_path / "landing" / PERIOD
    landing.mkdir(parents=True)
    (landing / "hue.csv").write_text(
        "Mã xã;Tổng số cán bộ, công chức cấp xã\n19753;20\n19774;25\n", encoding="utf-8"
    )
    half, lock = landing / "half.csv", landing / ".~lock.half.csv#"
    whole = other_province_csv()
    half.write_bytes(whole[: whole.rindex(b"\n", 0, -1) + 1])
    lock.write_text("someone,office-pc,01.06.2026 09:00;")
    import assets.ingest.assets as ingest_assets

    planned = ingest_assets.take_snapshot

    def plan_then_finish(*args, **kwargs):
        reading = planned(*args, **kwargs)
        if lock.exists():
            half.write_bytes(whole)
            lock.unlink()
        return reading

    monkeypatch.setattr(ingest_assets, "take_snapshot", plan_then_finish)
    settings = Settings(home=tmp_path)
    (tmp_path / ".dagster").mkdir()

    def run() -> pl.DataFrame:
        with dg.instance_for_test(temp_dir=str(tmp_path / ".dagster")) as instance:
            results = runner.materialize_period(settings, PERIOD, instance, log_level="ERROR")
        assert all(r.success for r in results)
        return read_period(settings.tables, "file_status", PERIOD)

    status = run()
    FIGURES["cases tried"] += 1
    assert sorted(status["source_file"]) == [".~lock.half.csv#", "half.csv", "hue.csv"]
    row = _single_row(status, "half.csv")
    assert row["status"] == "skipped" and "half.csv" in row["reason_en"], row
    status = run()
    assert sorted(status["source_file"]) == ["half.csv", "hue.csv"]
    assert _single_row(status, "half.csv")["status"] == "read"
    assert _single_row(status, "half.csv")["observations"] == 3  # its three communes
