"""The lake's atomic writer: files come out with the mode the umask allows (colleagues on the
machine read reports and tables as they read any other file), never mkstemp's private 0600."""

from __future__ import annotations

import os
import stat

import polars as pl
import pytest

from schemas.lake import write_table, write_text


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_written_files_follow_the_umask(tmp_path, umask, mode):
    old = os.umask(umask)
    try:
        text = write_text(tmp_path / "quality" / "index.html", "<p>ok</p>")
        table = write_table(tmp_path / "lake" / "t.parquet", pl.DataFrame({"a": [1]}))
    finally:
        os.umask(old)
    assert stat.S_IMODE(text.stat().st_mode) == mode
    assert stat.S_IMODE(table.stat().st_mode) == mode
