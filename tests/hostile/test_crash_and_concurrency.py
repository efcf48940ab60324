"""Crash safety and concurrency through the `dxlake` command itself, on the good files plus
every hostile case: two runs of one period started together (one waits), then a run SIGKILLed
at the moment a table's new version is written and not yet renamed, then the next run."""

from __future__ import annotations

import hashlib
import os
import signal
import threading

from schemas.lake import read_period
from tests.hostile.cases import CASES, PERIOD
from tests.hostile.conftest import FIGURES, dxlake_run, lake_tables

WAITING = "another run of 2026-H1 is in progress; waiting for it to finish"


def _accounting(lake) -> int:
    """Observations read that are neither accepted, quarantined nor superseded (goal 0), and
    none counted twice: raw ids minus the union of the three outcomes, both ways."""
    ids = {
        t: set(read_period(lake, t, PERIOD)["obs_id"])
        for t in (
            "raw_reports",
            "validated_observations",
            "quarantined_rows",
            "superseded_observations",
        )
    }
    outcomes = (
        ids["validated_observations"] | ids["quarantined_rows"] | ids["superseded_observations"]
    )
    n_out = sum(
        len(read_period(lake, t, PERIOD))
        for t in ("validated_observations", "quarantined_rows", "superseded_observations")
    )
    return len(ids["raw_reports"] ^ outcomes) + abs(
        n_out - len(read_period(lake, "raw_reports", PERIOD))
    )


def test_two_runs_of_one_period_started_together_one_waits_both_finish(hostile_lake):
    home, done = hostile_lake
    assert [rc for rc, _, _ in done] == [0, 0], [err[-2000:] for _, _, err in done]
    assert sum(WAITING in err for _, _, err in done) == 1  # exactly one waited, and said so
    summaries = [out[out.index("\n") :] for _, out, _ in done]  # minus the timing line
    assert summaries[0] == summaries[1]
    unaccounted = _accounting(home / "lake")
    FIGURES["rows unaccounted for"] += unaccounted
    assert unaccounted == 0
    assert not [p for p in (home / "lake").rglob("*.tmp")]


def test_every_hostile_file_has_its_status_in_the_lake(hostile_lake):
    home, _ = hostile_lake
    status = read_period(home / "lake", "file_status", PERIOD).unique("source_file")
    got = dict(zip(status["source_file"], status["status"], strict=True))
    assert {c.name: c.status for c in CASES}.items() <= got.items()


def test_the_quality_page_counts_every_status(hostile_lake):
    home, _ = hostile_lake
    status = read_period(home / "lake", "file_status", PERIOD).unique("source_file")
    page = (home / "reports" / PERIOD / "quality" / "index.html").read_text(encoding="utf-8")
    counts = dict(status.group_by("status").len().iter_rows())
    assert counts.get("ignored", 0) >= 1  # the editor's lock file beside open_in_editor.csv
    assert f"<tr><td>Tệp nhận / files received</td><td>{status.height}</td></tr>" in page
    assert f"ignored: lock and hidden files</td><td>{counts['ignored']}</td></tr>" in page
    assert f"rejected</td><td>{counts['rejected']}</td></tr>" in page


def _stamp(path):
    st = path.stat()
    return st.st_ino, st.st_mtime_ns, hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_run_killed_mid_write_leaves_the_lake_readable_and_the_next_run_completes(hostile_lake):
    home, _ = hostile_lake
    lake = home / "lake"
    before_files = {p: _stamp(p) for p in lake.rglob("*.parquet") if "_staging" not in p.parts}
    before = lake_tables(lake)
    proc = dxlake_run(home, DXLAKE_PAUSE_BEFORE_RENAME="validated_observations")
    paused: list[str] = []
    seen: list[str] = []  # what the run said, for the failure message

    def watch() -> None:
        for line in proc.stderr:
            seen.append(line)
            if "paused before rename" in line:
                paused.append(line.split("paused before rename", 1)[1].strip())
                return

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    watcher.join(timeout=300)
    assert paused, f"the run never reached the table write:\n{''.join(seen[-40:])}"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    FIGURES["runs"] += 1  # killed on purpose: not a crash of ours
    assert proc.returncode == -signal.SIGKILL

    target = lake.parent / "lake" / os.path.relpath(paused[0], lake)
    assert target in before_files and _stamp(target) == before_files[target]  # previous version
    after_kill = lake_tables(lake)  # every table readable (a torn Parquet file would raise)
    assert after_kill == before  # same files, same content: the killed run changed no table
    assert [p.name.startswith(".") for p in lake.rglob("*.tmp")] == [True]  # its one leftover

    rerun = dxlake_run(home)
    out, err = rerun.communicate(timeout=400)
    FIGURES["runs"] += 1
    FIGURES["runs crashed"] += rerun.returncode != 0
    assert rerun.returncode == 0, err[-3000:]
    assert WAITING not in err  # the killed run's lock died with it
    assert lake_tables(lake) == before  # the same result as the uninterrupted runs
