"""The period-level checks behind the Dagster asset checks, as plain functions on frames.

Each returns (passed, details): blocking ones guard what may reach the maps, the others are
findings for the auditors (thresholds are settings, defaults below).
"""

from __future__ import annotations

import polars as pl

COMPLETENESS_MIN_SHARE = 0.8  # share of unit × indicator figures received, per province
CHANGE_MAX_PP = 30.0  # change from the previous period, percentage points
TARGET_COPY_MAX_SHARE = 0.5  # share of reporting units whose value equals the target exactly
TARGET_COPY_MIN_UNITS = 5


def accounting(
    raw: pl.DataFrame, validated: pl.DataFrame, quarantined: pl.DataFrame, superseded: pl.DataFrame
) -> tuple[bool, dict]:
    """Every raw observation ends in exactly one state: accepted, quarantined or superseded."""
    ends = pl.concat(
        [validated.select("obs_id"), quarantined.select("obs_id"), superseded.select("obs_id")]
    )
    counts = ends.group_by("obs_id").len()
    twice = counts.filter(pl.col("len") > 1)["obs_id"].to_list()
    lost = raw.join(counts, on="obs_id", how="anti")["obs_id"].to_list()
    unknown = counts.join(raw, on="obs_id", how="anti")["obs_id"].to_list()
    ok = not (twice or lost or unknown) and len(raw) == len(ends)
    return ok, {
        "raw": len(raw),
        "ended": len(ends),
        "lost": lost[:20],
        "in_two_states": twice[:20],
        "not_in_raw": unknown[:20],
    }


def one_per_unit_indicator(validated: pl.DataFrame) -> tuple[bool, dict]:
    dup = validated.group_by("period", "unit_code", "indicator_id").len().filter(pl.col("len") > 1)
    return dup.is_empty(), {"duplicates": dup.head(20).rows()}


def codes_known(validated: pl.DataFrame, unit_codes: pl.Series) -> tuple[bool, dict]:
    unknown = validated.filter(~pl.col("unit_code").is_in(unit_codes.implode()))
    return unknown.is_empty(), {"unknown_codes": unknown["unit_code"].unique().head(20).to_list()}


def quarantine_by_rule(quarantined: pl.DataFrame) -> tuple[bool, dict]:
    counts = dict(quarantined.group_by("rule_id").len().sort("rule_id").iter_rows())
    return not counts, {"quarantined": len(quarantined), "by_rule": counts}


def completeness(values: pl.DataFrame, min_share: float = COMPLETENESS_MIN_SHARE):
    per = values.group_by("province_code", "province_name").agg(
        share=(pl.col("status") == "reported").mean()
    )
    low = per.filter(pl.col("share") < min_share).sort("share")
    return low.is_empty(), {
        "min_share": min_share,
        "below": [f"{n} ({c}): {s:.0%}" for c, n, s in low.rows()],
    }


def large_changes(values: pl.DataFrame, max_pp: float = CHANGE_MAX_PP):
    big = values.filter(pl.col("change").abs() > max_pp)
    return big.is_empty(), {
        "max_pp": max_pp,
        "changes": [
            f"{u} {i}: {c:+.1f}"
            for u, i, c in big.select("unit_code", "indicator_id", "change").head(30).rows()
        ],
    }


def copied_targets(
    values: pl.DataFrame,
    max_share: float = TARGET_COPY_MAX_SHARE,
    min_units: int = TARGET_COPY_MIN_UNITS,
):
    """A value equal to the target in most units is a sign of figures copied from the plan."""
    per = (
        values.filter(pl.col("status") == "reported")
        .group_by("indicator_id")
        .agg(n=pl.len(), at_target=(pl.col("value") == pl.col("target")).sum())
        .with_columns(share=pl.col("at_target") / pl.col("n"))
    )
    flagged = per.filter((pl.col("n") >= min_units) & (pl.col("share") > max_share))
    return flagged.is_empty(), {
        "max_share": max_share,
        "indicators": [f"{i}: {a}/{n}" for i, n, a, _ in flagged.sort("indicator_id").rows()],
    }
