"""The coverage asset check: computed and reported pop_5g_coverage agree (a finding, not blocking).

Operators report their own percentages; a unit where the computed figure differs by more than
the tolerance is a unit to ask about, not a reason to hold back the period's maps.
"""

import dagster as dg
import polars as pl

from assets.partitions import periods


@dg.asset_check(
    asset="coverage_comparison",
    partitions_def=periods,
    description="Reported and computed 5G population coverage agree within the tolerance "
    "(DXLAKE_COVERAGE_TOLERANCE_PP, default 5 points); the units that differ more are listed "
    "(a warning, not blocking).",
)
def computed_matches_reported(coverage_comparison: pl.DataFrame) -> dg.AssetCheckResult:
    flagged = coverage_comparison.filter(pl.col("exceeds_tolerance")).sort(
        pl.col("difference_pp").abs(), descending=True
    )
    compared = coverage_comparison.filter(pl.col("reported_value").is_not_null())
    tolerance = float(coverage_comparison["tolerance_pp"].max() or 0.0)
    worst = [
        {
            "unit_code": r["unit_code"],
            "unit_name": r["unit_name"],
            "reported": round(r["reported_value"], 2),
            "computed": round(r["computed_value"], 2),
            "difference_pp": round(r["difference_pp"], 2),
        }
        for r in flagged.head(25).iter_rows(named=True)
    ]
    return dg.AssetCheckResult(
        passed=flagged.is_empty(),
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "units_compared": len(compared),
            "units_differing": len(flagged),
            "tolerance_pp": tolerance,
            "largest_differences": dg.MetadataValue.json(worst),
        },
    )
