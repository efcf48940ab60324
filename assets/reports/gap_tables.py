"""Gap tables for planners: per indicator, units ranked by gap (remote first within a class),
and a combined priority list of the units furthest behind on most indicators."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from schemas.catalogue import Catalogue

from .outputs import Outputs, digest
from .safe import write_csv, write_xlsx

COLUMNS = {
    "rank": "Thứ tự / rank",
    "unit_code": "Mã đơn vị / unit code",
    "unit_name": "Tên đơn vị / unit",
    "unit_type": "Loại / type",
    "province_name": "Tỉnh / province",
    "is_remote": "Vùng khó khăn / remote",
    "is_border": "Biên giới / border",
    "is_island": "Hải đảo / island",
    "remote_class": "Phân loại / class",
    "status": "Trạng thái / status",
    "value": "Giá trị / value",
    "target": "Mục tiêu / target",
    "gap": "Khoảng cách / gap",
    "gap_class": "Mức / class",
    "change": "Thay đổi / change",
    "source_file": "Tệp nguồn / source file",
}


def priority_list(gaps: pl.DataFrame) -> pl.DataFrame:
    """Units ordered by how many indicators they miss (large gap or not reported), remote first."""
    behind = pl.col("gap_class").is_in(["large", "not_reported"])
    return (
        gaps.group_by("unit_code", "unit_name", "unit_type", "province_name", "is_remote")
        .agg(
            indicators_behind=behind.sum(),
            not_reported=(pl.col("gap_class") == "not_reported").sum(),
            large_gaps=(pl.col("gap_class") == "large").sum(),
            medium_gaps=(pl.col("gap_class") == "medium").sum(),
        )
        .sort(
            "indicators_behind",
            "is_remote",
            "medium_gaps",
            "unit_code",
            descending=[True, True, True, False],
        )
        .with_columns(rank=pl.int_range(1, pl.len() + 1))
    )


def write_gap_tables(
    gaps: pl.DataFrame, catalogue: Catalogue, out_dir: Path, outputs: Outputs | None = None
) -> list[Path]:
    """A .csv and an .xlsx per indicator and for the priority list; with `outputs`, a table
    whose rows are unchanged since the last publish is not written again."""
    tables = {
        ind.id: (ind.id, gaps.filter(pl.col("indicator_id") == ind.id).select(list(COLUMNS)))
        for ind in catalogue
    }
    tables["priority"] = ("priority", priority_list(gaps))
    paths = []
    for name, (sheet, table) in tables.items():
        writers = (
            (out_dir / f"{name}.csv", lambda p, t=table: write_csv(p, t)),
            (out_dir / f"{name}.xlsx", lambda p, s=sheet, t=table: write_xlsx(p, {s: t}, COLUMNS)),
        )
        for path, write in writers:
            paths.append(
                write(path) if outputs is None else outputs.make(path, digest(sheet, table), write)
            )
    return paths
