"""The hostile-input suite's shared state: the figures the issue asks for, and the landing folders.

`FIGURES` is filled by the tests (cases tried, runs that crashed, rows unaccounted for) and
printed at the end of the session by `pytest_terminal_summary`; the tests also assert the goals.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from schemas.settings import Limits
from tests.hostile.cases import LOWERED_LIMITS, PERIOD

FIGURES = {"cases tried": 0, "runs": 0, "runs crashed": 0, "rows unaccounted for": 0}


def pytest_terminal_summary(terminalreporter) -> None:
    if FIGURES["cases tried"] or FIGURES["runs"]:
        terminalreporter.section("hostile input: figures")
        for name, value in FIGURES.items():
            terminalreporter.write_line(f"{name}: {value}")


@pytest.fixture(scope="session")
def lowered_limits() -> Limits:
    """The suite's lowered DXLAKE_MAX_* (LOWERED_LIMITS), as the settings read them; the
    `dxlake` processes the suite starts get the same values in their environment."""
    return Limits.from_env(LOWERED_LIMITS)


@pytest.fixture(scope="session")
def good_landing(tmp_path_factory) -> Path:
    """The demo's three good files (Huế), written once; copied with their times preserved."""
    from orchestration.demo import write_demo_landing

    folder = tmp_path_factory.mktemp("good") / PERIOD
    write_demo_landing(folder, PERIOD)
    return folder


def copy_good(good: Path, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for path in good.iterdir():
        shutil.copy2(path, folder / path.name)


REPO = Path(__file__).resolve().parents[2]
# differ between two runs of the same files by design (entry_stamp: the landing copy's inode
# and ctime, which the next snapshot compares to reuse what is unchanged)
VOLATILE = ("ingested_at", "run_id", "entry_stamp")


def dxlake_run(
    home: Path, period: str = PERIOD, pause_before_rename: str | None = None, **env: str
):
    """`dxlake run --period <period>` as its own process (python -m, so no installed script is
    needed), with the lowered limits; `pause_before_rename`: part of a table's path where the
    run stops before renaming its new version (tests/hostile/paused_run.py)."""
    import subprocess
    import sys

    full = {
        **os.environ,
        **LOWERED_LIMITS,
        "DXLAKE_HOME": str(home),
        "DAGSTER_HOME": str(home / ".dagster"),
        **env,
    }
    runner = ["orchestration.cli"]
    if pause_before_rename:
        runner = ["tests.hostile.paused_run", pause_before_rename]
    return subprocess.Popen(
        [sys.executable, "-m", *runner, "run", "--period", period],
        cwd=REPO,
        env=full,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def ingest_beside_good(
    base: Path, good: Path, write, cases: int, catalogue, gazetteer, limits: Limits
):
    """(good files alone, good files with the cases `write(folder)` puts beside them), each as
    ingest_folder's (raw, status); the cases are counted, and a run that raises as a crash."""
    from assets.ingest.landing import ingest_folder

    copy_good(good, base / "good")
    copy_good(good, base / "hostile")
    write(base / "hostile")
    alone = ingest_folder(base / "good", PERIOD, catalogue, gazetteer, limits=limits)
    try:
        mixed = ingest_folder(base / "hostile", PERIOD, catalogue, gazetteer, limits=limits)
    except BaseException:
        FIGURES["runs crashed"] += 1
        raise
    finally:
        FIGURES["cases tried"] += cases
    return alone, mixed


def lake_tables(lake: Path) -> dict[str, list[str]]:
    """Every Parquet file of the lake, read (a half-written one would fail here), as sorted row
    texts without the columns that change from run to run."""
    import polars as pl

    out = {}
    for path in sorted(lake.rglob("*.parquet")):
        if "_staging" in path.parts:  # ingest's cache of a landing folder read, not a table
            continue
        df = pl.read_parquet(path)
        df = df.drop([c for c in df.columns if c in VOLATILE or c.endswith("_at")])
        out[path.relative_to(lake).as_posix()] = sorted(map(repr, df.rows()))
    return out


@pytest.fixture(scope="session")
def hostile_lake(tmp_path_factory, good_landing):
    """Two `dxlake run` of one period started together on the good files plus every hostile
    case: (home, [(returncode, stdout, stderr), ...])."""
    from tests.hostile.cases import write_cases

    home = tmp_path_factory.mktemp("hostile_lake")
    landing = home / "landing" / PERIOD
    copy_good(good_landing, landing)
    write_cases(landing, good_landing / "so_khcn_hue_2026-H1.xlsx")
    procs = [dxlake_run(home), dxlake_run(home)]
    done = []
    for proc in procs:
        out, err = proc.communicate(timeout=400)
        done.append((proc.returncode, out, err))
    FIGURES["runs"] += len(done)
    FIGURES["runs crashed"] += sum(rc != 0 for rc, _, _ in done)
    return home, done
