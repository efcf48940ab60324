"""Gap tables for planners: per indicator, units ranked by gap (remote first within a class),
and a combined priority list of the units furthest behind, remote units first.

Vietnamese first with English beside: headers, gap classes and yes/no as people read them; each
sheet titled with the indicator's name, unit, target and period; numbers in the indicator's
unit (1 decimal, 2 where the target is under 10; counts whole), in the .xlsx as number formats
and in the .csv rounded. Units without a figure come last: "not reported" (their province
reported, they did not), then "not in this run" (their province had nothing in the period).
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from assets.indicators.gaps import NOT_IN_RUN, NOT_REPORTED
from schemas.catalogue import Catalogue, Indicator
from schemas.display import GAP_CLASS_LABELS as CLASS_LABELS

from .outputs import Outputs, digest
from .safe import Column, Sheet, write_csv, write_workbook

GAP_LABELS = {c: f"{vi} / {en}" for c, (vi, en) in CLASS_LABELS.items() if c != "no_data"}
YES, NO = "Có", "Không"

UNIT_COLUMNS = {
    "unit_code": "Mã đơn vị / Unit code",
    "unit_name": "Tên đơn vị / Unit name",
    "unit_type": "Loại / Type",
    "province_name": "Tỉnh, thành phố / Province",
    "is_remote": "Vùng khó khăn / Remote",
    "remote_class": "Phân loại vùng / Remote class",
    "is_border": "Biên giới / Border",
    "is_island": "Hải đảo / Island",
}
FLAGS = ("is_remote", "is_border", "is_island")
FROZEN = 3  # rank, unit code and name stay in view


def indicator_columns(ind: Indicator) -> tuple[Column, ...]:
    """The columns of an indicator's gap table, its numbers in the indicator's unit."""
    fmt = _number_format(ind)
    unit = f" ({ind.unit_vi}) / Value ({ind.unit_en})"
    points = "điểm %" if ind.is_percent else ind.unit_vi
    points_en = "points" if ind.is_percent else ind.unit_en
    return (
        Column("rank", "Thứ tự / Rank", "0"),
        *(Column(c, h) for c, h in UNIT_COLUMNS.items()),
        Column("gap_class", "Mức khoảng cách / Gap class"),
        Column("value", "Giá trị" + unit, fmt),
        Column("target", f"Mục tiêu / Target ({ind.unit_en})", fmt),
        Column("gap", f"Khoảng cách đến mục tiêu ({points}) / Gap to target ({points_en})", fmt),
        Column("change", "Thay đổi so với kỳ trước / Change since last period", _signed(fmt)),
        Column("source_file", "Tệp nguồn / Source file"),
        Column("source_sheet", "Trang / Sheet"),
        Column("source_row", "Dòng / Row", "0"),
    )


PRIORITY_COLUMNS = (
    Column("rank", "Thứ tự ưu tiên / Priority", "0"),
    *(Column(c, h) for c, h in UNIT_COLUMNS.items()),
    Column("indicators_behind", "Số chỉ tiêu chưa đạt / Indicators behind target", "0"),
    Column("large_gaps", "Khoảng cách lớn / Large gaps", "0"),
    Column("medium_gaps", "Khoảng cách trung bình / Medium gaps", "0"),
    Column("small_gaps", "Khoảng cách nhỏ / Small gaps", "0"),
    Column("meets_target", "Đạt mục tiêu / Targets met", "0"),
    Column(NOT_REPORTED, "Chưa báo cáo / Not reported", "0"),
    Column(NOT_IN_RUN, "Không có trong lần tổng hợp / Not in this run", "0"),
)


def digits(ind: Indicator) -> int:
    """Decimals shown: counts whole; a percentage 1, 2 where the target is under 10 (a budget
    share of 0.57 % is not 0.6 %), as on the map."""
    if not ind.is_percent:
        return 0
    return 2 if abs(ind.target) < 10 else 1


def _number_format(ind: Indicator) -> str:
    d = digits(ind)
    return "0." + "0" * d if d else "0"


def _signed(fmt: str) -> str:
    return f"+{fmt};-{fmt};{fmt}"


def priority_list(gaps: pl.DataFrame) -> pl.DataFrame:
    """Per unit, how many indicators are behind target (large, medium and small gaps), met,
    not reported or not in the run; ranked: units behind on an indicator first, remote units
    first, then by how many indicators are behind, the large gaps, medium, small; units
    meeting every target they reported next; units without a figure last."""
    cls = pl.col("gap_class")
    per_unit = gaps.group_by("unit_code", *(c for c in UNIT_COLUMNS if c != "unit_code")).agg(
        large_gaps=(cls == "large").sum(),
        medium_gaps=(cls == "medium").sum(),
        small_gaps=(cls == "small").sum(),
        meets_target=(cls == "meets_target").sum(),
        **{c: (cls == c).sum() for c in (NOT_REPORTED, NOT_IN_RUN)},
    )
    behind = pl.col("large_gaps") + pl.col("medium_gaps") + pl.col("small_gaps")
    tier = (
        pl.when(behind > 0)
        .then(0)
        .when(pl.col("meets_target") > 0)
        .then(1)
        .when(pl.col(NOT_REPORTED) > 0)
        .then(2)
        .otherwise(3)
    )
    return (
        per_unit.with_columns(indicators_behind=behind, tier=tier)
        .sort(
            "tier",
            "is_remote",
            "indicators_behind",
            "large_gaps",
            "medium_gaps",
            "small_gaps",
            "unit_code",
            descending=[False, True, True, True, True, True, False],
        )
        .drop("tier")
        .with_columns(rank=pl.int_range(1, pl.len() + 1))
        .select([c.name for c in PRIORITY_COLUMNS])
    )


def _readable(df: pl.DataFrame) -> pl.DataFrame:
    """Codes as people read them: gap classes in words, flags as Có/Không."""
    return df.with_columns(
        *(
            pl.col(c).replace_strict({True: YES, False: NO}, default=None, return_dtype=pl.String)
            for c in FLAGS
            if c in df.columns
        ),
        *(
            [pl.col("gap_class").replace_strict(GAP_LABELS, default=pl.col("gap_class"))]
            if "gap_class" in df.columns
            else []
        ),
    )


def _rounded(df: pl.DataFrame, columns: tuple[Column, ...]) -> pl.DataFrame:
    """The numbers as the .xlsx shows them: rounded to the column's decimals, whole as
    integers (for the .csv)."""
    out = []
    for col in columns:
        if col.number_format is None or not df.schema[col.name].is_numeric():
            continue
        shown = col.number_format.split(";")[0]
        d = len(shown.split(".", 1)[1]) if "." in shown else 0
        e = pl.col(col.name).round(d)
        out.append(e if d else e.cast(pl.Int64))
    return df.with_columns(out)


def _csv_frame(sheet: Sheet) -> pl.DataFrame:
    """The sheet as a .csv table: the same columns, headers and words, numbers rounded."""
    df = _rounded(sheet.frame.select([c.name for c in sheet.columns]), sheet.columns)
    return df.rename({c.name: c.header for c in sheet.columns})


def _target_text(ind: Indicator) -> str:
    """ "≥ 95 % dân số (2026)": the direction, the target as the table shows it, the year."""
    sign = "≥" if ind.direction == "higher" else "≤"
    target = f"{ind.target:.{digits(ind)}f}"
    target = target.rstrip("0").rstrip(".") if "." in target else target
    return f"{sign} {target} {ind.unit_vi} ({ind.target_year})"


ORDER_NOTE = (
    "Xếp hạng: khoảng cách lớn trước, vùng khó khăn trước trong mỗi mức, khoảng cách lớn hơn "
    "trước; chưa báo cáo và không có trong lần tổng hợp ở cuối / Ranked: largest gap class "
    "first, remote units first within a class, larger gap first; not reported and not in this "
    "run last"
)
PRIORITY_NOTE = (
    "Xếp hạng: đơn vị còn chỉ tiêu chưa đạt trước, vùng khó khăn trước, rồi theo số chỉ tiêu "
    "chưa đạt, số khoảng cách lớn, trung bình, nhỏ; đơn vị đạt mọi mục tiêu đã báo cáo tiếp "
    "theo; đơn vị chưa có số liệu ở cuối / Ranked: units behind on an indicator first, remote "
    "units first, then by indicators behind target, large, medium and small gaps; units "
    "meeting every target they reported next; units without a figure last"
)


def indicator_sheet(ind: Indicator, rows: pl.DataFrame, period: str) -> Sheet:
    """An indicator's gap table as a sheet: its name, unit, target and period above."""
    columns = indicator_columns(ind)
    title = (
        f"{ind.name_vi} / {ind.name_en}",
        f"Đơn vị tính / Unit: {ind.unit_vi} ({ind.unit_en}) · Mục tiêu / Target: "
        f"{_target_text(ind)} · Kỳ báo cáo / Period: {period} · Nguồn / Source: {ind.source}",
        ORDER_NOTE,
    )
    frame = _readable(rows.sort("rank").select([c.name for c in columns]))
    return Sheet(ind.short_vi or ind.name_vi, frame, columns, title, FROZEN)


def priority_sheet(gaps: pl.DataFrame, catalogue: Catalogue, period: str) -> Sheet:
    title = (
        f"Danh sách ưu tiên / Priority list — {len(catalogue.ids)} chỉ tiêu / indicators",
        f"Kỳ báo cáo / Period: {period}",
        PRIORITY_NOTE,
    )
    frame = _readable(priority_list(gaps))
    return Sheet("Danh sách ưu tiên", frame, PRIORITY_COLUMNS, title, FROZEN)


def write_gap_tables(
    gaps: pl.DataFrame, catalogue: Catalogue, out_dir: Path, outputs: Outputs | None = None
) -> list[Path]:
    """A .csv and an .xlsx per indicator and for the priority list; with `outputs`, a table
    whose content is unchanged since the last publish is not written again."""
    period = ", ".join(sorted(gaps["period"].unique().drop_nulls().to_list()))
    sheets = {
        ind.id: indicator_sheet(ind, gaps.filter(pl.col("indicator_id") == ind.id), period)
        for ind in catalogue
    }
    sheets["priority"] = priority_sheet(gaps, catalogue, period)
    paths = []
    for name, sheet in sheets.items():
        key = digest(sheet.name, sheet.title, sheet.columns, sheet.frame)
        writers = (
            (out_dir / f"{name}.csv", lambda p, s=sheet: write_csv(p, _csv_frame(s))),
            (out_dir / f"{name}.xlsx", lambda p, s=sheet: write_workbook(p, [s])),
        )
        for path, write in writers:
            paths.append(write(path) if outputs is None else outputs.make(path, key, write))
    return paths


def publish_gap_tables(gaps_dir: Path, coverage_gaps: pl.DataFrame, catalogue: Catalogue) -> dict:
    """The planners' gap tables: a .csv and an .xlsx per indicator and the priority list, each
    written only when its content changed (keys in .gaps.publish.json beside the folder, which
    holds the tables alone: it is what planners pass on), a table no longer made removed. Apart
    from the maps: one commune resubmitting shifts the national ranks, so most tables are
    rewritten while few map files are, and the two go on two cores. Here, not in
    assets.reports.publish: a run writing the tables imports no map drawing (matplotlib)."""
    out = Outputs.beside(gaps_dir)
    tables = write_gap_tables(coverage_gaps, catalogue, gaps_dir, outputs=out)
    out.prune(gaps_dir, "*.csv", "*.xlsx")
    out.close()
    return {"tables": tables, "rebuilt": out.built}
