"""The hostile-input suite's shared state: the figures the issue asks for, and the landing folders.

`FIGURES` is filled by the tests (cases tried, runs that crashed, rows unaccounted for) and
printed at the end of the session by `pytest_terminal_summary`; the tests also assert the goals.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.hostile.cases import LOWERED_LIMITS, PERIOD

FIGURES = {"cases tried": 0, "runs": 0, "runs crashed": 0, "rows unaccounted for": 0}


def pytest_terminal_summary(terminalreporter) -> None:
    if FIGURES["cases tried"] or FIGURES["runs"]:
        terminalreporter.section("hostile input: figures")
        for name, value in FIGURES.items():
            terminalreporter.write_line(f"{name}: {value}")


@pytest.fixture(scope="session")
def lowered_limits() -> Iterator[dict[str, str]]:
    """DXLAKE_MAX_* lowered for the session (the readers read them per file)."""
    saved = {k: os.environ.get(k) for k in LOWERED_LIMITS}
    os.environ.update(LOWERED_LIMITS)
    yield LOWERED_LIMITS
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


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
