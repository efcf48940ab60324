"""The auditors' data-quality report for a period: one self-contained page, Vietnamese first.

What was received, what was rejected and why, what each rule caught, who has not reported, and
the reconciliation raw = accepted + quarantined + superseded per file. Every string from a report
is escaped; the page loads nothing from the network.
"""

from __future__ import annotations

from html import escape
from urllib.parse import quote

import polars as pl

from schemas.catalogue import Catalogue
from schemas.display import visible
from schemas.rules import RULES

EXAMPLES_PER_RULE = 5


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


def _table(df: pl.DataFrame, headers: dict[str, str], css: str = "") -> str:
    head = "".join(f"<th>{escape(headers.get(c, c))}</th>" for c in df.columns)
    body = []
    for row in df.iter_rows():
        cells = "".join(f"<td>{_html(v)}</td>" for v in row)
        body.append(f"<tr>{cells}</tr>")
    return (
        f'<table class="{css}"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'
    )


def _html(v: object) -> str:
    """A value as page text: formatted, control and bidi characters visible, escaped."""
    return escape(visible(_fmt(v)))


def _fmt(v: object) -> str:
    if v is None:
        return "—"
    if isinstance(v, bool):
        return "✓" if v else "✗"
    if isinstance(v, float):
        return f"{v:,.2f}".rstrip("0").rstrip(".")
    return str(v)


def _completeness_svg(values: pl.DataFrame) -> str:
    """Horizontal bars: share of unit × indicator figures received, per province."""
    per = (
        values.group_by("province_name")
        .agg(share=(pl.col("status") == "reported").mean() * 100)
        .sort("province_name")
    )
    bar_h, width = 22, 420
    rows = []
    for i, (name, share) in enumerate(per.iter_rows()):
        y = i * bar_h
        w = width * (share or 0) / 100
        rows.append(
            f'<text x="0" y="{y + 15}">{_html(name)}</text>'
            f'<rect x="200" y="{y + 3}" width="{width}" height="{bar_h - 6}" fill="#eee"/>'
            f'<rect x="200" y="{y + 3}" width="{w:.1f}" height="{bar_h - 6}" fill="#2b8cbe"/>'
            f'<text x="{205 + width}" y="{y + 15}">{share:.0f}%</text>'
        )
    h = max(len(rows), 1) * bar_h
    return (
        f'<svg class="chart" width="{width + 260}" height="{h}" role="img" '
        f'aria-label="completeness">{"".join(rows)}</svg>'
    )


CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,Arial,sans-serif;margin:2em;color:#222}
h1{font-size:1.5em}h2{margin-top:1.6em;border-bottom:1px solid #ccc}
.en{color:#666;font-weight:normal}
table{border-collapse:collapse;margin:.5em 0;font-size:.9em}
th,td{border:1px solid #ccc;padding:3px 6px;text-align:left;vertical-align:top}
th{background:#f0f4f8}.ok{color:#1a7f37}.bad{color:#b42318;font-weight:bold}
.chart text{font-size:12px}.summary td:first-child{font-weight:bold}
"""


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
) -> str:
    """The auditors' page. gx_pages: label → relative link of each Great Expectations Data Docs
    site (one per province partition); returns: source_file → the name of its workbook in
    returns/ (returns_names)."""
    files = reconcile(file_status, raw, validated, quarantined, superseded)
    balanced = bool(files["balanced"].all()) if len(files) else True
    total = {
        "raw": len(raw),
        "accepted": len(validated),
        "quarantined": len(quarantined),
        "superseded": len(superseded),
    }
    status_counts = dict(file_status.group_by("status").len().iter_rows())
    s = []
    s.append(
        f"<h1>Báo cáo chất lượng dữ liệu — kỳ {escape(period)} "
        f"<span class='en'>/ Data-quality report — period {escape(period)}</span></h1>"
    )
    s.append(f"<p>{escape(geometry_note)}</p>")
    verdict = (
        "<span class='ok'>Khớp / balanced</span>"
        if balanced
        and total["raw"] == total["accepted"] + total["quarantined"] + total["superseded"]
        else "<span class='bad'>KHÔNG KHỚP / NOT BALANCED</span>"
    )
    s.append("<h2 id='summary'>Tổng hợp <span class='en'>/ Summary</span></h2>")
    s.append(
        "<table class='summary'>"
        f"<tr><td>Tệp nhận / files received</td><td>{len(file_status)}</td></tr>"
        f"<tr><td>Đã đọc / read</td><td>{status_counts.get('read', 0)}</td></tr>"
        f"<tr><td>Bị từ chối / rejected</td><td>{status_counts.get('rejected', 0)}</td></tr>"
        f"<tr><td>Trùng lặp / duplicate</td><td>{status_counts.get('duplicate', 0)}</td></tr>"
        f"<tr><td>Đang ghi, đọc lần sau / still being written</td>"
        f"<td>{status_counts.get('skipped', 0)}</td></tr>"
        f"<tr><td>Danh sách trạm phát sóng / cell-site lists</td>"
        f"<td>{status_counts.get('cell_sites', 0)}</td></tr>"
        f"<tr><td>Bỏ qua: tệp khoá, tệp ẩn / ignored: lock and hidden files</td>"
        f"<td>{status_counts.get('ignored', 0)}</td></tr>"
        f"<tr><td>Số liệu đọc được / observations read</td><td>{total['raw']}</td></tr>"
        f"<tr><td>Chấp nhận / accepted</td><td>{total['accepted']}</td></tr>"
        f"<tr><td>Cách ly / quarantined</td><td>{total['quarantined']}</td></tr>"
        f"<tr><td>Bị thay thế / superseded</td><td>{total['superseded']}</td></tr>"
        f"<tr><td>Đối chiếu / reconciliation: đọc = chấp nhận + cách ly + thay thế</td>"
        f"<td id='reconciliation'>{verdict}</td></tr></table>"
    )
    s.append("<h2 id='files'>Theo tệp <span class='en'>/ Per file</span></h2>")
    s.append(
        _table(
            files,
            {
                "source_file": "Tệp / file",
                "status": "Trạng thái / status",
                "reason_vi": "Lý do",
                "reason_en": "Reason",
                "sheets_hidden": "Trang ẩn (bỏ qua) / hidden sheets (ignored)",
                "columns_unread": "Cột không đọc / columns not read",
                "raw": "Đọc / read",
                "accepted": "Chấp nhận / accepted",
                "quarantined": "Cách ly / quarantined",
                "superseded": "Thay thế / replaced",
                "balanced": "Khớp / balanced",
            },
        )
    )
    s.append("<h2 id='rules'>Theo quy tắc <span class='en'>/ Per rule</span></h2>")
    counts = dict(quarantined.group_by("rule_id").len().iter_rows())
    rule_rows = []
    for rule in RULES:
        n = counts.get(rule.id, 0)
        examples = quarantined.filter(pl.col("rule_id") == rule.id).head(EXAMPLES_PER_RULE)
        ex = "<br>".join(
            _html(
                f"{r['source_file']} · {r['source_sheet']} · dòng/row {r['source_row']}"
                f" · {r['unit_code_raw'] or r['unit_name_raw'] or '—'}: {r['message_vi']}"
            )
            for r in examples.iter_rows(named=True)
        )
        rule_rows.append(
            f"<tr id='rule-{rule.id}'><td><code>{rule.id}</code></td><td>{escape(rule.vi)}"
            f"<br><span class='en'>{escape(rule.en)}</span></td><td>{n}</td><td>{ex}</td></tr>"
        )
    s.append(
        "<table><thead><tr><th>Quy tắc / rule</th><th>Nội dung / meaning</th>"
        "<th>Số dòng / rows</th><th>Ví dụ / examples</th></tr></thead>"
        f"<tbody>{''.join(rule_rows)}</tbody></table>"
    )
    unresolved = (
        quarantined.filter(pl.col("rule_id") == "unit_unresolved")
        .select(
            "source_file",
            "source_sheet",
            "source_row",
            "unit_code_raw",
            "unit_name_raw",
            "match_kind",
            "match_candidates",
        )
        .unique(maintain_order=True)
    )
    s.append(
        "<h2 id='unresolved'>Đơn vị không xác định <span class='en'>/ Unresolved units</span></h2>"
    )
    s.append(
        _table(
            unresolved,
            {
                "source_file": "Tệp / file",
                "source_sheet": "Trang / sheet",
                "source_row": "Dòng / row",
                "unit_code_raw": "Mã ghi / code as written",
                "unit_name_raw": "Tên ghi / name as written",
                "match_kind": "Kết quả / outcome",
                "match_candidates": "Ứng viên / candidates",
            },
        )
    )
    s.append(
        "<h2 id='superseded'>Số liệu bị thay thế <span class='en'>/ Replaced figures</span></h2>"
    )
    s.append(
        _table(
            superseded.select(
                "unit_code",
                "indicator_id",
                "source_file",
                "source_sheet",
                "source_row",
                "superseded_by",
            ),
            {"superseded_by": "Thay bằng / replaced by"},
        )
    )
    s.append(
        "<h2 id='not-reported'>Đơn vị chưa báo cáo <span class='en'>/ Units that did not "
        "report</span></h2>"
    )
    s.append(
        _table(
            not_reported(values),
            {
                "province_name": "Tỉnh / province",
                "unit_code": "Mã / code",
                "unit_name": "Tên / name",
                "missing": "Chỉ tiêu thiếu / indicators missing",
                "total": "Tổng / of",
            },
        )
    )
    s.append("<h2 id='completeness'>Mức độ đầy đủ <span class='en'>/ Completeness</span></h2>")
    s.append(_completeness_svg(values))
    if len(boundary_problems):
        s.append(
            "<h2 id='boundaries'>Vấn đề ranh giới <span class='en'>/ Boundary problems</span></h2>"
        )
        s.append(_table(boundary_problems, {}))
    s.append(
        "<h2 id='detail'>Chi tiết <span class='en'>/ Detail</span></h2><ul>"
        "<li><a href='traceability.csv'>Truy vết từng số liệu / every accepted figure → "
        "file, sheet, row (.csv)</a>, <a href='traceability.parquet'>(.parquet)</a></li>"
        "<li id='returns'><a href='returns/'>Dòng bị cách ly theo tệp, để gửi lại đơn vị / "
        "quarantined rows per file, to send back (.xlsx)</a><ul>"
        + "".join(
            f"<li><a href='returns/{quote(name, safe='')}'>{_html(name)}</a> ← {_html(source)}</li>"
            for source, name in sorted((returns or {}).items())
        )
        + "</ul></li>"
        "<li>Great Expectations Data Docs: "
        + " · ".join(
            f"<a href='{escape(link)}'>{escape(label)}</a>"
            for label, link in (gx_pages or {"gx": "gx/index.html"}).items()
        )
        + "</li></ul>"
    )
    indicator_list = "".join(
        f"<li><code>{escape(i.id)}</code> {escape(i.name_vi)} <span class='en'>/ "
        f"{escape(i.name_en)}</span></li>"
        for i in catalogue
    )
    s.append(f"<h2>Chỉ tiêu <span class='en'>/ Indicators</span></h2><ul>{indicator_list}</ul>")
    return (
        "<!DOCTYPE html><html lang='vi'><head><meta charset='utf-8'>"
        f"<title>Chất lượng dữ liệu {escape(period)}</title>"
        "<meta http-equiv='Content-Security-Policy' content=\"default-src 'none'; "
        "style-src 'unsafe-inline'; img-src data:\">"
        f"<style>{CSS}</style></head><body>{''.join(s)}</body></html>"
    )
