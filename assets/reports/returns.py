"""Return-to-sender workbooks: per source file, its quarantined rows as a commune official reads
them, to correct and send again.

Vietnamese first with English beside: where the row is in their file, the unit and figures as
they typed them (text cells: "-2" stays "-2", "=1+1" never runs), the indicator's Vietnamese
name, what to fix in plain words (schemas.rules) and the details. Only a file with something
to return gets a workbook.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import replace
from itertools import pairwise
from pathlib import Path

import numpy as np
import polars as pl

from schemas.catalogue import Catalogue
from schemas.display import visible, visible_frame
from schemas.rules import RULES

from .outputs import Outputs, digest
from .safe import Column, Sheet, column_widths_by, write_workbook

RETURNS_SUFFIX = ".quarantined.xlsx"
RETURNS_NAME_BYTES = 120  # far under 255 with any temporary suffix, and short for a zip or a mail
SHEET = "Số liệu cần sửa"
ORDER = ("source_sheet", "source_row", "source_column")  # top to bottom, as in their file
COLUMNS = (
    Column("source_sheet", "Trang tính / Sheet"),
    Column("source_row", "Dòng / Row", "0"),
    Column("source_column", "Cột / Column"),
    Column("unit_code_raw", "Mã đơn vị (như đã ghi) / Unit code as written"),
    Column("unit_name_raw", "Tên đơn vị (như đã ghi) / Unit name as written"),
    Column("indicator", "Chỉ tiêu / Indicator"),
    Column("numerator_raw", "Tử số (như đã ghi) / Numerator as written"),
    Column("denominator_raw", "Mẫu số (như đã ghi) / Denominator as written"),
    Column("value_raw", "Giá trị (như đã ghi) / Value as written"),
    Column("problem", "Lỗi cần sửa / What to fix", width=45),
    Column("message_vi", "Chi tiết / Details", width=50),
    Column("message_en", "Chi tiết bằng tiếng Anh / Details in English", width=50),
)
# What a workbook is made from: the quarantined rows' columns its sheet shows, as read.
KEYED = (
    "period",
    "source_sheet",
    "source_row",
    "source_column",
    "unit_code_raw",
    "unit_name_raw",
    "indicator_id",
    "numerator_raw",
    "denominator_raw",
    "value_raw",
    "rule_id",
    "message_vi",
    "message_en",
)
TITLE = "Số liệu cần sửa, gửi lại đơn vị báo cáo / Figures to correct, returned to the sender"
ADVICE = (
    "Các số liệu dưới đây chưa được chấp nhận: xin sửa theo cột “Lỗi cần sửa” và gửi lại tệp. / "
    "These figures were not accepted: please correct them as “What to fix” says and send the "
    "file again."
)


def returns_names(source_files: list[str]) -> dict[str, str]:
    """source_file → the name of its return-to-sender workbook, unique among them.

    The folders flattened ("a/x.csv" → "a__x.csv") and the extension kept ("x.csv" and "x.xlsx"
    differ); where two flattened names still meet ("a/x.csv", "a__x.csv"; or differ only in
    case, as a Windows share sees them) or a name is long, each gets a short hash of its whole
    path, so the name is stable from run to run whatever else landed."""
    flat = {f: visible(f).replace("/", "__").replace("\\", "__") for f in source_files}
    seen = Counter(n.casefold() for n in flat.values())
    names = {}
    for source, name in flat.items():
        if seen[name.casefold()] > 1 or len((name + RETURNS_SUFFIX).encode()) > RETURNS_NAME_BYTES:
            name = _shortened(name, hashlib.sha256(source.encode()).hexdigest()[:10])
        names[source] = name + RETURNS_SUFFIX
    return names


def _shortened(name: str, tag: str) -> str:
    """`name` cut to fit RETURNS_NAME_BYTES with "~tag" and its extension, at a character."""
    stem, dot, ext = name.rpartition(".")
    if not dot or len(ext.encode()) > 10:
        stem, ext = name, ""
    end = f"~{tag}" + (f".{ext}" if ext else "")
    room = RETURNS_NAME_BYTES - len((end + RETURNS_SUFFIX).encode())
    cut = stem.encode()[:room].decode("utf-8", errors="ignore")
    return cut + end


def readable_rows(quarantined: pl.DataFrame, catalogue: Catalogue) -> pl.DataFrame:
    """The quarantined rows with the indicator's Vietnamese name and the rule's plain
    explanation (an id not in the catalogue or the rules stays as written), text visible
    (source_file_shown; source_file stays as read, to name the workbook)."""
    names = {i.id: i.name_vi for i in catalogue}
    problems = {r.id: r.vi for r in RULES}
    rows = quarantined.with_columns(
        indicator=pl.col("indicator_id").replace_strict(
            names, default=pl.col("indicator_id"), return_dtype=pl.String
        ),
        problem=pl.col("rule_id").replace_strict(
            problems, default=pl.col("rule_id"), return_dtype=pl.String
        ),
    )
    shown = rows.select("period", *(c.name for c in COLUMNS), source_file_shown="source_file")
    return visible_frame(shown).with_columns(rows["source_file"])  # the key stays as read


def return_sheet(
    source_file: str, rows: pl.DataFrame, periods: list[str], widths: tuple[float, ...]
) -> Sheet:
    """One file's rows to return, titled with the file, period and how many rows; its columns
    `widths` wide (safe.column_widths_by)."""
    details = (
        f"Tệp / File: {source_file} · Kỳ báo cáo / Period: {', '.join(periods)} · "
        f"{rows.height} dòng cần sửa / rows to correct"
    )
    columns = tuple(replace(c, width=w) for c, w in zip(COLUMNS, widths, strict=True))
    return Sheet(SHEET, rows, columns, (TITLE, details, ADVICE), frozen_columns=5)


def returns_workbooks(
    quarantined: pl.DataFrame,
    out_dir: Path,
    catalogue: Catalogue,
    outputs: Outputs | None = None,
) -> dict[str, Path]:
    """One .xlsx per source file with quarantined rows (what to fix beside each), to send back:
    source_file → its workbook. A file with nothing quarantined gets none. With `outputs`, a
    workbook whose rows are unchanged since the last publish is not written again."""
    names = returns_names(quarantined["source_file"].unique().to_list())
    # Each file's key from one hash per row of what its workbook shows (the rows as read, the
    # indicators' names; the rules' words are code), each file's rows together in their order;
    # only the files whose key changed are made readable and written.
    hashes = quarantined.select("source_file", h=quarantined.select(KEYED).hash_rows(seed=0)).sort(
        "source_file", maintain_order=True
    )
    h = hashes.get_column("h").to_numpy()
    runs = hashes.get_column("source_file").rle().struct.unnest()  # len, value: a file each
    ends = np.cumsum(runs.get_column("len").to_numpy(), dtype=np.int64).tolist()
    names_vi = {i.id: i.name_vi for i in catalogue}
    layout = digest(SHEET, TITLE, ADVICE, COLUMNS, names_vi).encode()  # once, not per file
    keys = {
        source: digest(layout, h[start:end].tobytes())
        for source, (start, end) in zip(runs.get_column("value"), pairwise([0, *ends]), strict=True)
    }
    if outputs is None:
        todo = set(keys)
    else:
        stale = outputs.keep_unchanged(out_dir, {names[s]: key for s, key in keys.items()})
        todo = {s for s in keys if names[s] in stale}
    rows = readable_rows(quarantined.filter(pl.col("source_file").is_in(list(todo))), catalogue)
    # One sort and one split of the rows to write; the titles' periods and the widths from one
    # aggregation each: no polars work per workbook but its slice.
    todo_rows = rows.sort("source_file", *ORDER, nulls_last=True, maintain_order=True)
    widths = column_widths_by(todo_rows, COLUMNS, "source_file")
    periods = dict(
        todo_rows.group_by("source_file")
        .agg(pl.col("period").drop_nulls().unique().sort())
        .iter_rows()
    )
    parts = todo_rows.partition_by("source_file", maintain_order=True, as_dict=True)
    for (source_file,), part in parts.items():
        sheet = return_sheet(
            part.get_column("source_file_shown")[0],
            part,
            periods[source_file],
            widths[source_file],
        )
        write_workbook(out_dir / names[source_file], [sheet], visible=True)
    paths = {source: out_dir / names[source] for source in keys}
    if outputs is not None:
        for source in todo:
            outputs.record(paths[source], keys[source], built=True)
    return paths


def publish_returns(returns_dir: Path, quarantined: pl.DataFrame, catalogue: Catalogue) -> dict:
    """The offices' return-to-sender workbooks, one per file with quarantined rows, each
    written only when its rows changed (keys in .returns.publish.json beside the folder), those
    of files with nothing left to return removed. Apart from the quality page, which links
    them by name (returns_names): a period's first publish writes thousands of them, on the
    other core beside the maps."""
    out = Outputs.beside(returns_dir)
    returns = returns_workbooks(quarantined, returns_dir, catalogue, outputs=out)
    out.prune(returns_dir, "*")
    out.close()
    return {"returns": returns, "rebuilt": out.built}
