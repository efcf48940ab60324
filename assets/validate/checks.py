"""Supersession and validation of raw observations: each ends accepted, quarantined or superseded.

Plain functions on polars frames. Supersession first (the latest file for a unit and indicator
replaces earlier ones, even if the latest one is then quarantined: the office's latest word
counts, and a bad resubmission is sent back rather than silently falling back to an older one);
then the remaining rows are prepared so each rule reads one column, and GX judges them.
"""

from __future__ import annotations

import polars as pl

from assets.ingest.titles import period_note
from schemas.catalogue import Catalogue
from schemas.contracts import conform, empty
from schemas.rules import PRIORITY, RULES_BY_ID, SHARE_CHECK_MIN_TARGET, STATED_TOLERANCE_PP

FIGURES = ("numerator", "denominator", "value_stated")


def supersede(raw: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(current, superseded): for each unit and indicator only the latest file's rows stay.

    Files are ordered by modification time, then name. Within the latest file, repeated rows
    with identical figures keep only the last; differing figures all stay (a conflict, for
    validation to quarantine).
    """
    if raw.is_empty():
        return raw, empty("superseded_observations")
    key = ["unit_code", "indicator_id"]
    order = (
        raw.select("source_file", "file_mtime")
        .unique()
        .sort("file_mtime", "source_file")
        .with_row_index("file_order")
    )
    df = raw.with_row_index("_pos").join(order, on=["source_file", "file_mtime"], how="left")
    resolved = pl.col("unit_code").is_not_null()
    latest_order = pl.col("file_order").max().over(key)
    df = df.with_columns(is_latest=~resolved | (pl.col("file_order") == latest_order))
    in_latest = df.filter(pl.col("is_latest") & resolved)
    figures = pl.struct(*FIGURES)
    winners = (
        in_latest.sort("source_sheet", "source_row")
        .group_by(key)
        .agg(
            winner=pl.col("obs_id").last(),
            distinct=figures.n_unique(),
        )
    )
    df = df.join(winners, on=key, how="left")
    superseded_mask = resolved & (
        ~pl.col("is_latest") | ((pl.col("distinct") == 1) & (pl.col("obs_id") != pl.col("winner")))
    )
    superseded = df.filter(superseded_mask).with_columns(superseded_by=pl.col("winner"))
    current = df.filter(~superseded_mask).sort("_pos")
    return conform(current, "raw_reports"), conform(superseded, "superseded_observations")


def _catalogue_frame(catalogue: Catalogue) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "indicator_id": [i.id for i in catalogue],
            "is_percent": [i.is_percent for i in catalogue],
            "has_ratio": [i.numerator is not None for i in catalogue],
            "target": [i.target for i in catalogue],
            "numerator_whole": [bool(i.numerator and i.numerator.whole) for i in catalogue],
            "denominator_whole": [bool(i.denominator and i.denominator.whole) for i in catalogue],
            "value_whole": [
                bool(i.value and i.value.whole and not i.is_percent) for i in catalogue
            ],
        }
    )


def _whole(column: str, required: str) -> pl.Expr:
    c = pl.col(column)
    return c.is_null() | ~pl.col(required) | ((c % 1) == 0)


def prepare(current: pl.DataFrame, catalogue: Catalogue) -> pl.DataFrame:
    """Add `row_id`, the computed `value` and one column per rule for the GX suites to read."""
    num, den, stated = pl.col("numerator"), pl.col("denominator"), pl.col("value_stated")
    df = current.with_row_index("row_id").join(
        _catalogue_frame(catalogue), on="indicator_id", how="left"
    )
    scale = pl.when(pl.col("is_percent")).then(100.0).otherwise(1.0)
    computed = (
        pl.when(pl.col("has_ratio") & num.is_not_null() & den.is_not_null() & (den > 0))
        .then(num / den * scale)
        .otherwise(None)
    )
    df = df.with_columns(computed=computed).with_columns(
        value=pl.coalesce("computed", stated),
        indicator_known=pl.col("is_percent").is_not_null(),
        figure_complete=pl.when(pl.col("has_ratio"))
        .then((num.is_null() == den.is_null()) & (num.is_not_null() | stated.is_not_null()))
        .otherwise(stated.is_not_null())
        .fill_null(True),
        min_figure=pl.min_horizontal(num, den, stated),
        whole_ok=(
            _whole("numerator", "numerator_whole")
            & _whole("denominator", "denominator_whole")
            & _whole("value_stated", "value_whole")
        ).fill_null(True),
    )
    stated_as_share = (
        pl.col("is_percent")
        & stated.is_between(0, 1, closed="right")
        & ~pl.col("value_raw").fill_null("").str.ends_with("%")
    )
    matches_share = (stated * 100 - pl.col("computed")).abs() <= STATED_TOLERANCE_PP
    share_suspect = stated_as_share & (
        (pl.col("computed").is_null() & (pl.col("target") >= SHARE_CHECK_MIN_TARGET))
        | (pl.col("computed").is_not_null() & matches_share)
    )
    figures = pl.struct(*FIGURES)
    conflict = pl.col("unit_code").is_not_null() & (
        figures.n_unique().over("source_file", "unit_code", "indicator_id") > 1
    )
    return df.with_columns(
        share_suspect=share_suspect.fill_null(False),
        stated_diff_pp=pl.when(pl.col("is_percent") & ~share_suspect.fill_null(False))
        .then((stated - pl.col("computed")).abs())
        .otherwise(None),
        conflict=conflict.fill_null(False),
    )


def _message(rule_ids: list[str], row: dict) -> tuple[str, str, str]:
    """(rule_id, message_vi, message_en) for a failed row: the first rule leads, the rest follow."""
    ordered = sorted(set(rule_ids), key=PRIORITY.__getitem__)
    parts_vi, parts_en = [], []
    for rule_id in ordered:
        rule = RULES_BY_ID[rule_id]
        detail = _detail(rule_id, row)
        parts_vi.append(rule.vi + (f" ({detail})" if detail else ""))
        parts_en.append(rule.en + (f" ({detail})" if detail else ""))
    return ordered[0], "; ".join(parts_vi), "; ".join(parts_en)


def _fmt(x: object) -> str:
    return "trống/empty" if x is None else f"{x:g}" if isinstance(x, float) else str(x)


def _detail(rule_id: str, row: dict) -> str:
    match rule_id:
        case "unit_unresolved":
            what = row["unit_code_raw"] or row["unit_name_raw"] or "—"
            cands = row["match_candidates"]
            return f"{what}; {row['match_kind']}" + (
                f"; ứng viên/candidates: {cands}" if cands else ""
            )
        case "unknown_indicator":
            return row["indicator_id"].lstrip("?")
        case "period_mismatch":
            note = period_note(row["reported_period"])
            return f"{row['reported_period']} ≠ {row['period']}" + (f"; {note}" if note else "")
        case "not_a_number":
            return row["parse_error"]
        case "value_out_of_range" | "percent_as_share":
            return f"{_fmt(row['value'])}"
        case "stated_value_mismatch":
            return f"{_fmt(row['value_stated'])} ≠ {_fmt(row['computed'])}"
        case "numerator_exceeds_denominator" | "denominator_not_positive" | "negative_value":
            if row["numerator"] is None and row["denominator"] is None:
                return _fmt(row["value_stated"])
            return f"{_fmt(row['numerator'])}/{_fmt(row['denominator'])}"
        case _:
            return ""


def split_by_failures(
    prepared: pl.DataFrame, failures: dict[int, list[str]]
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(validated_observations, quarantined_rows) from the prepared rows and GX's failures."""
    failed_ids = pl.Series("row_id", list(failures), dtype=pl.UInt32)
    bad = prepared.filter(pl.col("row_id").is_in(failed_ids))
    good = prepared.filter(~pl.col("row_id").is_in(failed_ids))
    verdicts = [_message(failures[r["row_id"]], r) for r in bad.iter_rows(named=True)]
    quarantined = bad.with_columns(
        rule_id=pl.Series([v[0] for v in verdicts], dtype=pl.String),
        message_vi=pl.Series([v[1] for v in verdicts], dtype=pl.String),
        message_en=pl.Series([v[2] for v in verdicts], dtype=pl.String),
    )
    validated = good.sort("unit_code", "indicator_id")
    return conform(validated, "validated_observations"), conform(quarantined, "quarantined_rows")


def validate(
    raw: pl.DataFrame, catalogue: Catalogue, validator
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """(validated_observations, quarantined_rows, superseded_observations) of a period's raw rows."""
    current, superseded = supersede(raw)
    if current.is_empty():
        return empty("validated_observations"), empty("quarantined_rows"), superseded
    prepared = prepare(current, catalogue)
    failures = validator.failures(prepared.to_pandas())
    validated, quarantined = split_by_failures(prepared, failures)
    return validated, quarantined, superseded
