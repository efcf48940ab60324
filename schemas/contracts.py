"""Table contracts: the columns and dtypes of every lake table (DESIGN.md, "Table contracts").

Each asset conforms its output with `conform`, so a missing or mistyped column fails at the
asset that made it, not three assets later, and readers can rely on the order and types.
"""

from __future__ import annotations

import polars as pl

Str, F64, I64, Bool = pl.String, pl.Float64, pl.Int64, pl.Boolean
Time = pl.Datetime("us", "UTC")

# The lineage every observation carries, from the cell it was read from.
LINEAGE: dict[str, pl.DataType] = {
    "source_file": Str,  # path relative to the period's landing folder
    "source_sheet": Str,  # sheet name; the file name's stem for .csv
    "source_row": I64,  # 1-based row as the office sees it in Excel
    "source_column": Str,  # column letter(s) of the figure ("E" or "E/F" for numerator/denominator)
    "file_sha256": Str,
    "ingested_at": Time,
}

FILE_STATUS: dict[str, pl.DataType] = {
    "period": Str,
    "source_file": Str,
    "file_sha256": Str,
    "file_mtime": Time,
    "status": Str,  # read | rejected | duplicate | skipped | ignored | cell_sites
    "reason_vi": Str,
    "reason_en": Str,
    "sheets_read": Str,
    "sheets_hidden": Str,
    # columns a layout left unread, with why: "Báo cáo!D:F (Cùng kỳ năm 2025), Báo cáo!J (So sánh)"
    "columns_unread": Str,
    "observations": I64,
}

RAW_REPORTS: dict[str, pl.DataType] = {
    "obs_id": Str,  # stable id: file hash, sheet, row, indicator
    "period": Str,
    "reported_period": Str,  # the period the file itself states, when it states one
    "unit_code_raw": Str,
    "unit_name_raw": Str,
    "province_raw": Str,
    "unit_code": Str,  # resolved by the gazetteer; null when unresolved
    "match_kind": Str,  # code | name | old_name | ambiguous | unknown
    "match_candidates": Str,
    "indicator_id": Str,
    "numerator_raw": Str,
    "denominator_raw": Str,
    "value_raw": Str,
    "numerator": F64,
    "denominator": F64,
    "value_stated": F64,
    "parse_error": Str,  # a cell that held text where a number belongs
    **LINEAGE,
    "file_mtime": Time,
}

VALIDATED_OBSERVATIONS: dict[str, pl.DataType] = {
    "period": Str,
    "unit_code": Str,
    "indicator_id": Str,
    "numerator": F64,
    "denominator": F64,
    "value": F64,
    **LINEAGE,
    "match_kind": Str,
    "obs_id": Str,
}

QUARANTINED_ROWS: dict[str, pl.DataType] = {
    **RAW_REPORTS,
    "rule_id": Str,
    "message_vi": Str,
    "message_en": Str,
}

# Observations replaced by a later file (or a later identical row); kept for the auditors.
SUPERSEDED_OBSERVATIONS: dict[str, pl.DataType] = {
    **RAW_REPORTS,
    "superseded_by": Str,  # obs_id of the observation that replaced it
}

REMOTE_FLAGS: dict[str, pl.DataType] = {
    "is_border": Bool,
    "is_island": Bool,
    "remote_class": Str,
    "is_remote": Bool,
}

INDICATOR_VALUES: dict[str, pl.DataType] = {
    "period": Str,
    "unit_code": Str,
    "unit_name": Str,
    "unit_type": Str,
    "province_code": Str,
    "province_name": Str,
    "indicator_id": Str,
    "status": Str,  # reported | not_reported | not_in_run (its province had no figure at all)
    "value": F64,
    "target": F64,
    "gap": F64,  # distance to target in the indicator's unit, floored at 0; null if not reported
    "meets_target": Bool,
    "previous_value": F64,
    "change": F64,
    **REMOTE_FLAGS,
    "source_file": Str,
    "source_sheet": Str,
    "source_row": I64,
}

# The gap table planners read: indicator_values classed and ranked (remote units first).
GAP_CLASSES = ("meets_target", "small", "medium", "large", "not_reported")
COVERAGE_GAPS: dict[str, pl.DataType] = {
    **INDICATOR_VALUES,
    "gap_class": Str,  # one of GAP_CLASSES, or "not_in_run" (the map draws it as no data)
    "rank": I64,  # 1 = furthest behind within the indicator (remote first; no figure last)
}

# The period's landing snapshot (assets/ingest/snapshot.py): every landing entry read once,
# each province's raw_reports and file_status its share.
LANDING_SNAPSHOT_ROWS: dict[str, pl.DataType] = {**RAW_REPORTS, "province_code": Str}
LANDING_SNAPSHOT_FILES: dict[str, pl.DataType] = {
    **FILE_STATUS,
    "provinces": pl.List(Str),  # the provinces of its rows (a duplicate: of its original's)
    # mode:size:mtime_ns:inode:ctime_ns as listed; null for an entry not to be opened (a FIFO)
    "entry_stamp": Str,
    "reading_stamp": Str,  # the reading code and settings it was read with
    "reading": Str,  # read (now) | reused (from the previous snapshot) | listed (never opened)
}

CONTRACTS: dict[str, dict[str, pl.DataType]] = {
    "landing_snapshot_rows": LANDING_SNAPSHOT_ROWS,
    "landing_snapshot_files": LANDING_SNAPSHOT_FILES,
    "file_status": FILE_STATUS,
    "raw_reports": RAW_REPORTS,
    "validated_observations": VALIDATED_OBSERVATIONS,
    "quarantined_rows": QUARANTINED_ROWS,
    "superseded_observations": SUPERSEDED_OBSERVATIONS,
    "indicator_values": INDICATOR_VALUES,
    "coverage_gaps": COVERAGE_GAPS,
}


class ContractError(ValueError):
    """A table does not have the columns its contract names."""


def empty(table: str) -> pl.DataFrame:
    return pl.DataFrame(schema=CONTRACTS[table])


def conform(df: pl.DataFrame, table: str) -> pl.DataFrame:
    """Select the contract's columns in order, cast to its dtypes; a missing column is an error."""
    schema = CONTRACTS[table]
    missing = [c for c in schema if c not in df.columns]
    if missing:
        raise ContractError(f"{table}: missing column(s) {missing}")
    return df.select(pl.col(c).cast(t, strict=True) for c, t in schema.items())


# --- Coverage computed from cell sites and a population grid (issue 13) -----------------------

# Every site row read from a cell-site file: usable when reason_en is null, else the reason.
CELL_SITES: dict[str, pl.DataType] = {
    "period": Str,
    "operator": Str,
    "site_id": Str,
    "technology": Str,  # 2G | 3G | 4G | 5G (a "4G/5G" row gives one row per technology)
    "lat": F64,
    "lon": F64,
    "radius_m": F64,
    "azimuth_deg": F64,  # null: omnidirectional
    "beamwidth_deg": F64,
    "reason_vi": Str,
    "reason_en": Str,
    "source_file": Str,
    "source_sheet": Str,
    "source_row": I64,
    "source_column": Str,  # the column(s) an unusable row's reason is about ("D/E"), else null
    "file_sha256": Str,
    "ingested_at": Time,
}

# One row per unit × technology: population and area covered, computed (not reported).
COMPUTED_COVERAGE: dict[str, pl.DataType] = {
    "period": Str,
    "unit_code": Str,
    "province_code": Str,
    "technology": Str,
    "population": F64,  # null when spread evenly and the unit's population is unknown
    "population_covered": F64,
    "share_covered": F64,  # percent 0–100 (of population; of area when population is unknown)
    "area_km2": F64,
    "area_covered_km2": F64,
    "population_source": Str,  # grid | even (the unit's population spread over its area)
    "population_grid": Str,  # the GeoTIFF used; null for even
    "sites": I64,  # usable sites of the technology in the period
}

# Dead zones (vùng lõm sóng): populated cells outside a technology's coverage, one row per
# zone; GeoParquet with a geometry column (EPSG:4326) after these columns.
DEAD_ZONES: dict[str, pl.DataType] = {
    "period": Str,
    "unit_code": Str,
    "province_code": Str,
    "technology": Str,
    "population": F64,
    "area_km2": F64,
}

# pop_5g_coverage as reported and as computed, side by side, per unit in scope.
COVERAGE_COMPARISON: dict[str, pl.DataType] = {
    "period": Str,
    "unit_code": Str,
    "unit_name": Str,
    "province_code": Str,
    "indicator_id": Str,  # pop_5g_coverage
    "reported_value": F64,  # null when the unit did not report it
    "computed_value": F64,
    "difference_pp": F64,  # reported − computed, percentage points
    "exceeds_tolerance": Bool,
    "tolerance_pp": F64,
    "source_file": Str,
    "source_row": I64,
}

CONTRACTS.update(
    {
        "cell_sites": CELL_SITES,
        "computed_coverage": COMPUTED_COVERAGE,
        "dead_zones": DEAD_ZONES,
        "coverage_comparison": COVERAGE_COMPARISON,
    }
)
