"""Text that came from a file, made safe to show: control and bidi characters become visible.

A report cell or a file name may carry NUL, ESC (a terminal escape sequence), or a right-to-left
override that makes "exe.csv" read as "vsc.exe". The lake keeps the text as read; whatever we
render (pages, workbooks, the terminal, logs) shows each such character as a visible marker
instead: a Unicode Control Picture for C0 controls ("␛" for ESC, "␀" for NUL) and "<U+202E>"
for the rest. Tab and newline stay. A spreadsheet cell cannot hold C0 controls (Excel refuses the
file) and lone surrogates cannot be encoded, so after this a workbook can always be written.
"""

from __future__ import annotations

import sys
from pathlib import Path

import jinja2
import polars as pl

_KEEP = {"\t", "\n"}
_BIDI = [0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A)]


# What each gap class is called on every page, sheet and chart (Vietnamese, English).
GAP_CLASS_LABELS = {
    "meets_target": ("Đạt mục tiêu", "meets target"),
    "small": ("Khoảng cách nhỏ", "small gap"),
    "medium": ("Khoảng cách trung bình", "medium gap"),
    "large": ("Khoảng cách lớn", "large gap"),
    "not_reported": ("Chưa báo cáo", "not reported"),
    "not_in_run": ("Không có trong lần tổng hợp", "not in this run"),
    "no_data": ("Không có dữ liệu", "no data"),
}


def _marker(code: int) -> str:
    if code < 0x20:
        return chr(0x2400 + code)  # ␀ ... ␟
    if code == 0x7F:
        return "\u2421"  # ␡
    return f"<U+{code:04X}>"


_TABLE = {
    code: _marker(code)
    for code in [*range(0x20), 0x7F, *range(0x80, 0xA0), *_BIDI, *range(0xD800, 0xE000)]
    if chr(code) not in _KEEP
}
# The same characters as a regular expression (polars), to leave clean columns untouched.
PATTERN = "[" + "".join(f"\\x{{{code:X}}}" for code in _TABLE if code < 0xD800) + "]"


def visible(text: str) -> str:
    """`text` with every control, bidi-override and surrogate character shown as a marker."""
    return text.translate(_TABLE)


def visible_value(value: object) -> object:
    """visible() for text; anything else as it is."""
    return visible(value) if isinstance(value, str) else value


def visible_frame(df: pl.DataFrame) -> pl.DataFrame:
    """Every text column of `df` that needs it through visible()."""
    dirty = [
        c for c, t in df.schema.items() if t == pl.String and df[c].str.contains(PATTERN).any()
    ]
    return df.with_columns(
        pl.col(c).map_elements(visible, return_dtype=pl.String, skip_nulls=True) for c in dirty
    )


class VisibleStream:
    """A text stream that writes through visible(): what the CLI prints never carries a raw
    escape sequence, whoever prints it (our summary, Dagster's logs, a traceback). It says it
    is no terminal, so loggers do not colour their lines with escape sequences of their own."""

    def __init__(self, stream):
        self._stream = stream

    def write(self, text: str) -> int:
        self._stream.write(visible(text))
        return len(text)

    def writelines(self, lines) -> None:
        for line in lines:
            self.write(line)

    def isatty(self) -> bool:
        return False

    def __getattr__(self, name: str):
        return getattr(self._stream, name)


def visible_terminal() -> None:
    """Route sys.stdout and sys.stderr through VisibleStream (once)."""
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        if not isinstance(stream, VisibleStream):
            setattr(sys, name, VisibleStream(stream))


def page_templates(folder: Path, **filters) -> jinja2.Environment:
    """The Jinja2 environment report pages are rendered with: autoescape on (text from files
    is data), a missing variable an error, blocks trimmed; `filters` added by name."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(folder),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(filters)
    return env
