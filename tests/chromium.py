"""Real headless Chromium (Debian's /usr/bin/chromium) for every browser test (map and quality
pages, injection), as one session-wide browser: Playwright's sync API allows one at a time.

The browser is found, or installed with apt when the tests run as root; otherwise the tests fail
with a message saying how to install it. They are never skipped: a map page nobody opened in a
browser is not tested.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1280, "height": 900}


def _install_chromium() -> None:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    run = {"env": env, "capture_output": True, "text": True, "timeout": 900, "check": False}
    done = subprocess.run(["apt-get", "install", "-y", "chromium"], **run)
    if done.returncode != 0:  # stale package lists: refresh once and retry
        subprocess.run(["apt-get", "update"], **run)
        done = subprocess.run(["apt-get", "install", "-y", "chromium"], **run)
    if done.returncode != 0:
        pytest.fail(
            f"apt-get install -y chromium failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}"
        )


@pytest.fixture(scope="session")
def chromium_path() -> Path:
    """Debian's chromium; installed with apt-get when missing and running as root."""
    if not CHROMIUM.exists():
        if os.geteuid() != 0 or shutil.which("apt-get") is None:
            pytest.fail(
                f"{CHROMIUM} not found and not root: install it with `sudo apt-get install -y "
                "chromium` (the map page tests need a real browser)"
            )
        _install_chromium()
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} still missing after apt-get install chromium")
    return CHROMIUM


@pytest.fixture(scope="session")
def browser(chromium_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    """A Playwright browser context on a new, empty user data dir (no cache, no profile)."""
    from playwright.sync_api import sync_playwright

    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(profile),
            executable_path=str(chromium_path),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport=VIEWPORT,
            locale="vi-VN",
        )
        try:
            yield context
        finally:
            context.close()
