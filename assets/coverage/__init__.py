"""Coverage computed from cell sites and a population grid (issue 13): cell_sites →
computed_coverage + dead_zones → coverage_comparison (reported vs computed pop_5g_coverage)."""

import dagster as dg

from .assets import cell_sites, computed_coverage, coverage_comparison

COVERAGE_ASSETS = [cell_sites, computed_coverage, coverage_comparison]
#: Period-level, from the snapshot's site lists and the grid alone: a job of their own, run when
#: those change (coverage_comparison, which reads the reported figures, goes with publishing).
COVERAGE_SELECTION = dg.AssetSelection.assets("cell_sites", "computed_coverage", "dead_zones")

__all__ = ["COVERAGE_ASSETS", "COVERAGE_SELECTION"]
