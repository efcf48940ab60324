"""The auditors' data-quality report for a period: one self-contained page, Vietnamese first.

What was received, what was rejected and why, what each rule caught, who has not reported, the
reconciliation raw = accepted + quarantined + superseded per file, where reported 5G coverage
disagrees with the coverage computed from cell sites, and the cell-site rows not used. The page
is rendered from templates/quality.html.j2 with autoescape (every string from a file is shown as
text) and its stylesheet inlined: it loads nothing, so it opens offline. Its tables' rows and
the list of return workbooks are assembled from parts kept between publishes (outputs.Parts), a
landing folder's rows each: after one commune resubmits, only its province's parts are rendered.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import groupby, pairwise
from pathlib import Path
from urllib.parse import quote

import numpy as np
import polars as pl
from markupsafe import Markup

from assets.coverage.compare import coverage_disagreements
from schemas.catalogue import Catalogue
from schemas.display import page_templates, visible
from schemas.rules import RULES

from .outputs import Parts

EXAMPLES_PER_RULE = 5
MAX_SITE_ROWS = 1000  # rejected cell-site rows listed on the page (a national list may hold more)
TEMPLATES = Path(__file__).with_name("templates")


def reconcile(
    file_status: pl.DataFrame,
    raw: pl.DataFrame,
    validated: pl.DataFrame,
    quarantined: pl.DataFrame,
    superseded: pl.DataFrame,
) -> pl.DataFrame:
    """Per file: observations read, accepted, quarantined, superseded, and whether they add up."""

    def count(df: pl.DataFrame, name: str) -> pl.DataFrame:
        return df.group_by("source_file").agg(pl.len().cast(pl.Int64).alias(name))

    out = file_status.select(
        "source_file", "status", "reason_vi", "reason_en", "sheets_hidden", "columns_unread"
    )
    for df, name in (
        (raw, "raw"),
        (validated, "accepted"),
        (quarantined, "quarantined"),
        (superseded, "superseded"),
    ):
        out = out.join(count(df, name), on="source_file", how="left")
    counts = ["raw", "accepted", "quarantined", "superseded"]
    out = out.with_columns(pl.col(counts).fill_null(0))
    return out.with_columns(
        balanced=pl.col("raw") == pl.col("accepted") + pl.col("quarantined") + pl.col("superseded")
    ).sort("source_file")


def traceability(validated: pl.DataFrame, units: pl.DataFrame) -> pl.DataFrame:
    """Each accepted figure with the file, sheet, row and column it came from."""
    names = units.select("unit_code", "unit_name", "province_name")
    return (
        validated.join(names, on="unit_code", how="left")
        .select(
            "period",
            "province_name",
            "unit_code",
            "unit_name",
            "indicator_id",
            "value",
            "numerator",
            "denominator",
            "source_file",
            "source_sheet",
            "source_row",
            "source_column",
            "file_sha256",
            "match_kind",
        )
        .sort("unit_code", "indicator_id")
    )


def not_reported(values: pl.DataFrame) -> pl.DataFrame:
    """Per province, units with no accepted figure at all, and how many indicators each misses."""
    per_unit = values.group_by("province_name", "unit_code", "unit_name").agg(
        missing=(pl.col("status") == "not_reported").sum(), total=pl.len()
    )
    return per_unit.filter(pl.col("missing") > 0).sort("province_name", "unit_code")


def replaced_figures(superseded: pl.DataFrame, raw: pl.DataFrame) -> pl.DataFrame:
    """Each superseded observation beside the one that replaced it: that file's name, sheet,
    row and when it arrived (its modification time in the landing folder). superseded_by is
    an obs_id, which says nothing to an auditor."""
    winners = raw.select(
        superseded_by="obs_id",
        replaced_by_file="source_file",
        replaced_by_sheet="source_sheet",
        replaced_by_row="source_row",
        replaced_by_arrived="file_mtime",
    ).unique("superseded_by")
    return (
        superseded.select(
            "unit_code",
            "indicator_id",
            "source_file",
            "source_sheet",
            "source_row",
            "file_mtime",
            "superseded_by",
        )
        .join(winners, on="superseded_by", how="left")
        .drop("superseded_by")
        .sort("unit_code", "indicator_id", "file_mtime")
    )


def report_provinces(values: pl.DataFrame) -> pl.DataFrame:
    """The provinces the report covers (code, name): those of its indicator values."""
    return values.select("province_code", "province_name").unique().sort("province_code")


def boundary_problems_of(problems: pl.DataFrame, values: pl.DataFrame) -> pl.DataFrame:
    """The boundary and remoteness problems of the report's provinces: a problem naming one of
    their units or the province itself, or naming no unit and no province (a problem of the
    file as a whole). Problems of other provinces belong to their own reports."""
    if problems.is_empty() or "unit_code" not in problems.columns:
        return problems
    units = values["unit_code"].unique().to_list()
    names = values["province_name"].unique().to_list()
    province = pl.col("province_name") if "province_name" in problems.columns else pl.lit(None)
    return problems.filter(
        pl.col("unit_code").is_in(units)
        | province.is_in(names)
        | (pl.col("unit_code").is_null() & province.is_null())
    )


def rejected_cell_sites(cell_sites: pl.DataFrame) -> pl.DataFrame:
    """The cell-site rows not used for the coverage, once per source row (a "4G/5G" row is two
    site rows with one reason), in file and row order."""
    column = (
        pl.col("source_column")
        if "source_column" in cell_sites.columns
        else pl.lit(None, pl.String)
    )
    return (
        cell_sites.filter(pl.col("reason_en").is_not_null())
        .with_columns(source_column=column)
        .group_by("source_file", "source_sheet", "source_row", maintain_order=True)
        .agg(
            pl.col("source_column").first(),
            pl.col("operator").first(),
            pl.col("site_id").first(),
            pl.col("technology").drop_nulls().unique(maintain_order=True).str.join("/"),
            pl.col("reason_vi").first(),
            pl.col("reason_en").first(),
        )
        .sort("source_file", "source_sheet", "source_row")
    )


# --- the page ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    key: str
    vi: str
    en: str
    number: bool = False  # right-aligned


@dataclass
class Table:
    """A table as the page shows it: its columns, its body (the rows' HTML, assembled from
    parts) and how many rows it has."""

    columns: list[Column]
    body: Markup = field(default_factory=Markup)
    count: int = 0
    css: str = ""


# The landing folder of a row's file (a province's, as offices drop them; "" at the top): the
# parts of the tables in file order, so a resubmitted file changes its province's part alone.
FOLDER = pl.col("source_file").str.replace(r"[^/]*$", "")


def _table(
    df: pl.DataFrame,
    columns: list[Column],
    limit: int | None = None,
    *,
    parts: Parts,
    by: pl.Expr | None = None,
) -> Table:
    """The frame's rows as a table whose body is assembled from parts: the runs of rows with
    the same value of `by` (the whole frame when None), each rendered once and kept in `parts`
    under a key of its rows (their hashes, taken for the whole frame at once)."""
    rows = df.head(limit) if limit is not None else df
    shown = [k for c in columns for k in c.key.split("|") if k in rows.columns]
    # Floats as text too: -0.0 and 0.0 hash alike but are shown apart.
    floats = [
        pl.col(k).cast(pl.String).alias(f"{k}:text") for k in shown if rows[k].dtype.is_float()
    ]
    keyed = rows.select(shown, *floats)
    hashes = keyed.hash_rows(seed=0, seed_1=1, seed_2=2, seed_3=3).to_numpy()
    head = repr((columns, keyed.schema))
    runs = [rows.height] if by is None else rows.select(by.rle().struct.field("len")).to_series()
    ends = np.cumsum(runs, dtype=np.int64).tolist() if rows.height else []
    body = "".join(
        parts.get(
            lambda a=a, b=b: _PARTS.rows(_cells(rows.slice(a, b - a), columns)),
            head,
            hashes[a:b].tobytes(),
        )
        for a, b in pairwise([0, *ends])
    )
    return Table(columns, Markup(body), rows.height)


def _cells(rows: pl.DataFrame, columns: list[Column]) -> list[tuple]:
    """The frame's rows as page text: (text, the English beneath or None, whether a number) per
    cell, each distinct value formatted once (a national page has ~90,000 cells: formatting each
    in the template took most of its rendering); a column keyed "a|b" shows a with b beneath in
    English, one "—" where both are missing."""

    def values(key: str) -> list:
        return rows.get_column(key).to_list() if key in rows.columns else [None] * len(rows)

    picked = []
    for c in columns:
        vi, _, en = c.key.partition("|")
        if not en:
            picked.append([(text, None, c.number) for text in _texts(values(vi))])
            continue
        a, b = values(vi), values(en)
        picked.append(
            [
                ("—", None, c.number) if x is None and y is None else (tx, ty, c.number)
                for x, y, tx, ty in zip(a, b, _texts(a), _texts(b), strict=True)
            ]
        )
    return list(zip(*picked, strict=True)) if picked else []


def _texts(values: list) -> list[str]:
    """_cell() of each value, each distinct one formatted once (a float each time: -0.0 and
    0.0 are equal but shown apart)."""
    made: dict = {}
    return [
        _cell(v) if v.__class__ is float else made[v] if v in made else made.setdefault(v, _cell(v))
        for v in values
    ]


def _fmt(v: object) -> str:
    if v is None:
        return "—"
    if isinstance(v, bool):
        return "✓" if v else "✗"
    if isinstance(v, float):
        return f"{v:,.2f}".rstrip("0").rstrip(".")
    if hasattr(v, "strftime"):
        return v.strftime("%Y-%m-%d %H:%M UTC") if getattr(v, "tzinfo", None) else str(v)
    return str(v)


def _cell(v: object) -> str:
    """A value as page text: formatted, control and bidi characters visible (escaped later)."""
    return visible(_fmt(v))


_ENV = page_templates(TEMPLATES, cell=_cell, urlquote=lambda name: quote(name, safe=""))
_PARTS = _ENV.get_template("quality_parts.html.j2").module

FILES = [
    Column("source_file", "Tệp", "file"),
    Column("status", "Trạng thái", "status"),
    Column("reason_vi|reason_en", "Lý do", "reason"),
    Column("sheets_hidden", "Trang ẩn (bỏ qua)", "hidden sheets (ignored)"),
    Column("columns_unread", "Cột không đọc", "columns not read"),
    Column("raw", "Đọc", "read", True),
    Column("accepted", "Chấp nhận", "accepted", True),
    Column("quarantined", "Cách ly", "quarantined", True),
    Column("superseded", "Thay thế", "replaced", True),
    Column("balanced", "Khớp", "balanced"),
]
UNRESOLVED = [
    Column("source_file", "Tệp", "file"),
    Column("source_sheet", "Trang", "sheet"),
    Column("source_row", "Dòng", "row", True),
    Column("unit_code_raw", "Mã ghi", "code as written"),
    Column("unit_name_raw", "Tên ghi", "name as written"),
    Column("match_kind", "Kết quả", "outcome"),
    Column("match_candidates", "Ứng viên", "candidates"),
]
SUPERSEDED = [
    Column("unit_code", "Mã đơn vị", "unit code"),
    Column("indicator_id", "Chỉ tiêu", "indicator"),
    Column("source_file", "Tệp cũ", "replaced file"),
    Column("source_sheet", "Trang", "sheet"),
    Column("source_row", "Dòng", "row", True),
    Column("file_mtime", "Nhận lúc", "arrived"),
    Column("replaced_by_file", "Thay bằng tệp", "replaced by file"),
    Column("replaced_by_sheet", "Trang", "sheet"),
    Column("replaced_by_row", "Dòng", "row", True),
    Column("replaced_by_arrived", "Tệp thay thế nhận lúc", "replacing file arrived"),
]
NOT_REPORTED = [
    Column("province_name", "Tỉnh", "province"),
    Column("unit_code", "Mã", "code"),
    Column("unit_name", "Tên", "name"),
    Column("missing", "Chỉ tiêu thiếu", "indicators missing", True),
    Column("total", "Tổng", "of", True),
]
COVERAGE = [
    Column("unit_code", "Mã", "code"),
    Column("unit_name", "Tên đơn vị", "unit"),
    Column("reported_value", "Báo cáo (%)", "reported (%)", True),
    Column("computed_value", "Tính từ trạm (%)", "computed from sites (%)", True),
    Column("difference_pp", "Chênh lệch (điểm %)", "difference (points)", True),
    Column("source_file", "Tệp báo cáo", "reported in file"),
    Column("source_row", "Dòng", "row", True),
]
CELL_SITES = [
    Column("source_file", "Tệp", "file"),
    Column("source_sheet", "Trang", "sheet"),
    Column("source_row", "Dòng", "row", True),
    Column("source_column", "Cột", "column"),
    Column("operator", "Nhà mạng", "operator"),
    Column("site_id", "Mã trạm", "site"),
    Column("technology", "Công nghệ", "technology"),
    Column("reason_vi|reason_en", "Lý do", "reason"),
]
BOUNDARIES = [
    Column("kind", "Loại", "kind"),
    Column("province_name", "Tỉnh", "province"),
    Column("unit_code", "Mã", "code"),
    Column("unit_name", "Tên", "name"),
    Column("rows", "Dòng trong tệp", "rows in the file"),
    Column("message_vi|message_en", "Vấn đề", "problem"),
    Column("source", "Nguồn", "source"),
]


def _chart(values: pl.DataFrame) -> dict:
    """Horizontal bars: share of unit × indicator figures received, per province."""
    per = (
        values.group_by("province_name")
        .agg(share=(pl.col("status") == "reported").mean() * 100)
        .sort("province_name")
    )
    bar_h, width = 22, 420
    bars = [
        {"name": name, "share": share or 0, "y": i * bar_h, "width": width * (share or 0) / 100}
        for i, (name, share) in enumerate(per.iter_rows())
    ]
    return {
        "bars": bars,
        "bar_height": bar_h,
        "bar_width": width,
        "width": width + 260,
        "height": max(len(bars), 1) * bar_h,
    }


def _coverage(comparison: pl.DataFrame | None, parts: Parts) -> dict | None:
    if comparison is None or comparison.is_empty():  # no cell-site list: nothing computed
        return None
    # Largest difference first: no province's rows together, one part.
    table = _table(coverage_disagreements(comparison), COVERAGE, parts=parts)
    tolerance = comparison["tolerance_pp"].max() if len(comparison) else None
    return {
        **vars(table),
        "css": "coverage",
        "tolerance": tolerance,
        "compared": int(comparison["reported_value"].is_not_null().sum()),
    }


def _rejected_sites(cell_sites: pl.DataFrame | None, parts: Parts) -> dict | None:
    if cell_sites is None or cell_sites.is_empty():  # no cell-site list this period
        return None
    rejected = rejected_cell_sites(cell_sites)
    table = _table(rejected, CELL_SITES, MAX_SITE_ROWS, parts=parts, by=FOLDER)
    return {**vars(table), "total": len(rejected)}


def _returns(returns: dict[str, str], parts: Parts) -> Markup:
    """The list of return workbooks (source_file → name), in file order, from parts: the files
    of a landing folder each."""
    items = sorted(returns.items())
    folders = groupby(items, key=lambda item: item[0].rpartition("/")[0])
    return Markup(
        "".join(
            parts.get(lambda r=run: _PARTS.returns(r), run) for run in (list(r) for _, r in folders)
        )
    )


def render_quality_page(
    *,
    period: str,
    catalogue: Catalogue,
    file_status: pl.DataFrame,
    raw: pl.DataFrame,
    validated: pl.DataFrame,
    quarantined: pl.DataFrame,
    superseded: pl.DataFrame,
    values: pl.DataFrame,
    boundary_problems: pl.DataFrame,
    geometry_note: str,
    gx_pages: dict[str, str] | None = None,
    returns: dict[str, str] | None = None,
    coverage_comparison: pl.DataFrame | None = None,
    cell_sites: pl.DataFrame | None = None,
    parts: Parts | None = None,
) -> str:
    """The auditors' page. gx_pages: label → relative link of each Great Expectations Data Docs
    site (one per province partition); returns: source_file → the name of its workbook in
    returns/ (returns_names); coverage_comparison and cell_sites: the period's tables (None
    when the period computed no coverage); parts: the tables' parts kept from the last publish
    (none: every part rendered)."""
    parts = Parts() if parts is None else parts
    files = reconcile(file_status, raw, validated, quarantined, superseded)
    total = {
        "raw": len(raw),
        "accepted": len(validated),
        "quarantined": len(quarantined),
        "superseded": len(superseded),
    }
    balanced = (bool(files["balanced"].all()) if len(files) else True) and total["raw"] == total[
        "accepted"
    ] + total["quarantined"] + total["superseded"]
    status = dict(file_status.group_by("status").len().iter_rows())
    coverage = _coverage(coverage_comparison, parts)
    rejected_sites = _rejected_sites(cell_sites, parts)
    summary = [
        ("Tệp nhận", "files received", len(file_status)),
        ("Đã đọc", "read", status.get("read", 0)),
        ("Bị từ chối", "rejected", status.get("rejected", 0)),
        ("Trùng lặp", "duplicate", status.get("duplicate", 0)),
        ("Đang ghi, đọc lần sau", "still being written", status.get("skipped", 0)),
        ("Danh sách trạm phát sóng", "cell-site lists", status.get("cell_sites", 0)),
        ("Bỏ qua: tệp khoá, tệp ẩn", "ignored: lock and hidden files", status.get("ignored", 0)),
        ("Số liệu đọc được", "observations read", total["raw"]),
        ("Chấp nhận", "accepted", total["accepted"]),
        ("Cách ly", "quarantined", total["quarantined"]),
        ("Bị thay thế", "superseded", total["superseded"]),
    ]
    if coverage is not None:
        summary.append(("Đơn vị lệch phủ sóng 5G", "units whose 5G coverage disagrees",
                        coverage["count"]))  # fmt: skip
    if rejected_sites is not None:
        summary.append(("Dòng trạm bị loại", "cell-site rows rejected", rejected_sites["total"]))
    counts = dict(quarantined.group_by("rule_id").len().iter_rows())
    rules = [
        {
            "id": rule.id,
            "vi": rule.vi,
            "en": rule.en,
            "count": counts.get(rule.id, 0),
            "examples": [
                f"{r['source_file']} · {r['source_sheet']} · dòng/row {r['source_row']}"
                f" · {r['unit_code_raw'] or r['unit_name_raw'] or '—'}: {r['message_vi']}"
                for r in quarantined.filter(pl.col("rule_id") == rule.id)
                .head(EXAMPLES_PER_RULE)
                .iter_rows(named=True)
            ],
        }
        for rule in RULES
    ]
    unresolved = (
        quarantined.filter(pl.col("rule_id") == "unit_unresolved")
        .select([c.key for c in UNRESOLVED])
        .unique(maintain_order=True)
    )
    boundaries = boundary_problems_of(boundary_problems, values)
    return _ENV.get_template("quality.html.j2").render(
        period=period,
        geometry_note=geometry_note,
        summary=summary,
        balanced=balanced,
        files=_table(files, FILES, parts=parts, by=FOLDER),
        rules=rules,
        unresolved=_table(unresolved, UNRESOLVED, parts=parts, by=FOLDER),
        superseded=_table(replaced_figures(superseded, raw), SUPERSEDED, parts=parts, by=FOLDER),
        not_reported=_table(
            not_reported(values), NOT_REPORTED, parts=parts, by=pl.col("province_name")
        ),
        chart=_chart(values),
        coverage=coverage,
        rejected_sites=rejected_sites,
        boundaries=_table(boundaries, BOUNDARIES, parts=parts),
        boundaries_elsewhere=len(boundary_problems) - len(boundaries),
        returns=_returns(returns or {}, parts),
        gx_pages=list((gx_pages or {"gx": "gx/index.html"}).items()),
        catalogue=list(catalogue),
    )
