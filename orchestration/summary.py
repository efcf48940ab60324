"""The short summary `dxlake run` prints, read back from the lake (not from memory)."""

from __future__ import annotations

import polars as pl

from schemas.display import visible
from schemas.lake import read_period
from schemas.settings import Settings


def summarise(
    settings: Settings, period: str, seconds: float, run_id: str, changed: bool = True
) -> str:
    """`changed`: whether this run ran anything (else the lake is as the last run left it)."""

    def read(table: str, columns: list[str] = ["obs_id"]) -> pl.DataFrame:  # noqa: B006
        return read_period(settings.tables, table, period, columns)

    status = read("file_status", ["source_file", "status", "reason_vi", "reason_en"]).unique(
        "source_file", maintain_order=True
    )  # once per file
    counts = dict(status.group_by("status").len().iter_rows())
    reports = settings.reports / period
    lines = [
        f"dxlake {period}: xong / done in {seconds:.1f} s (Dagster run {run_id})"
        if changed
        else f"dxlake {period}: không có gì thay đổi / nothing changed since Dagster run {run_id}"
        f" ({seconds:.1f} s)",
        f"  tệp / files:            {len(status)} (đọc/read {counts.get('read', 0)}, "
        f"từ chối/rejected {counts.get('rejected', 0)}, trùng/duplicate {counts.get('duplicate', 0)}, "
        f"đang ghi/skipped {counts.get('skipped', 0)}, bỏ qua/ignored {counts.get('ignored', 0)}, "
        f"trạm/cell sites {counts.get('cell_sites', 0)})",
        f"  số liệu đọc / read:     {len(read('raw_reports'))}",
        f"  chấp nhận / accepted:   {len(read('validated_observations'))}",
        f"  cách ly / quarantined:  {len(read('quarantined_rows'))}",
        f"  thay thế / superseded:  {len(read('superseded_observations'))}",
        f"  bản đồ / maps:          {reports / 'maps' / 'index.html'}",
        f"  bảng khoảng cách / gaps: {reports / 'gaps'}",
        f"  chất lượng / quality:   {reports / 'quality' / 'index.html'}",
    ]
    lines += _coverage_lines(settings, period)
    for row in status.filter(pl.col("status") == "rejected").iter_rows(named=True):
        lines.append(f"  ! {row['source_file']}: {row['reason_vi']} / {row['reason_en']}")
    return "\n".join(visible(line) for line in lines)  # file names and reasons came from files


def _coverage_lines(settings: Settings, period: str) -> list[str]:
    """Population coverage computed from the cell sites, per technology, with its dead zones;
    nothing when the period had no cell-site list."""
    coverage = _read_if_written(settings, "computed_coverage", period)
    if coverage is None:
        return []
    zones = _read_if_written(settings, "dead_zones", period, ["technology", "population"])
    if zones is None:
        zones = pl.DataFrame(schema={"technology": pl.String, "population": pl.Float64})
    lines = []
    for tech, people, covered in (
        coverage.filter(pl.col("population") > 0)
        .group_by("technology")
        .agg(pl.col("population").sum(), pl.col("population_covered").sum())
        .sort("technology", descending=True)
        .iter_rows()
    ):
        dead = zones.filter(pl.col("technology") == tech)
        lines.append(
            f"  phủ sóng {tech} / {tech} coverage: {covered / people * 100:.1f} % dân số / of "
            f"people (tính từ trạm / computed), {len(dead)} vùng lõm / dead zones "
            f"({dead['population'].sum():.0f} người / people)"
        )
    return lines


def _read_if_written(
    settings: Settings, table: str, period: str, columns: list[str] | None = None
) -> pl.DataFrame | None:
    try:
        return read_period(settings.tables, table, period, columns)
    except FileNotFoundError:  # read_period's answer when the period has no part of it
        return None
