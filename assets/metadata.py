"""Metadata shown on materializations in the Dagster UI: a preview table as markdown."""

from __future__ import annotations

import dagster as dg
import polars as pl


def preview(df: pl.DataFrame, columns: list[str] | None = None, rows: int = 10) -> dg.MetadataValue:
    """The first rows of a table as a markdown table (pipes and newlines in cells escaped)."""
    df = df.select(columns) if columns else df
    head = df.head(rows)

    def cell(v: object) -> str:
        text = "" if v is None else f"{v:.4g}" if isinstance(v, float) else str(v)
        return text.replace("|", "\\|").replace("\n", " ")[:60]

    lines = ["| " + " | ".join(head.columns) + " |", "|" + "---|" * len(head.columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in head.iter_rows()]
    return dg.MetadataValue.md("\n".join(lines) + f"\n\n{df.height} rows")
