"""Mobile coverage computed from cell sites and a population grid (issue 13).

Operators' own coverage percentages cannot be audited; a department holding the cell-site list
and a population grid can compute the figure itself. The method, chosen so the national case
runs in seconds and stays exact at the edges:

1. Work on the population grid's own cells (any resolution, any CRS). Each site's disc or
   sector is built in metres in the site's own UTM zone, then projected onto the grid's CRS,
   so radii are true ground distances wherever the grid lives.
2. Coverage of a technology is the union of its sites' shapes, rasterised onto the grid
   (a cell is covered when its centre is): overlapping sites count once by construction.
3. Units get exact per-cell fractions (exactextract): a cell cut by a unit boundary counts in
   each unit by the share of its area inside it. Where unit polygons overlap (slivers left by
   simplified boundaries), a cell is never given out more than once: units take their
   fractions in ascending code order, each capped at what lower codes left of the cell
   (w'_k = min(1, W_k) - min(1, W_{k-1}) over the cumulative fractions W), so the lower code
   keeps an overlap and a person is counted in one unit only. The part of a cell outside
   every unit (sea, abroad) holds nobody: a cell's people are shared by the units in it in
   proportion to their areas there, so a coastal cell's people all count in its unit.
4. Sums by unit are `bincount`s over those (cell, unit, fraction) entries.
5. Dead zones: populated cells (population >= a threshold) outside a technology's coverage,
   each given to the unit holding the largest fraction of it (ties: lower code), polygonised
   into 4-connected zones per unit.

Without a grid, each unit's population is spread evenly over its area: the same fractions are
computed on a 100 m grid in UTM 48N and population_covered = population x covered area / area.

The work is partitioned by province: a province's window is the bounding box of its units; the
units of neighbouring provinces that reach into it take part in the overlap rule, and every site
whose shape reaches the window covers it, so sites near a border cover both sides and every
window gives its own units exactly what a national pass would. `compute_coverage` runs the
windows in process (or as one national window); `compute_coverage_distributed` runs them on a
dask.distributed cluster with equal results.

The modules, by concern: sites (each site's shape), grid (the population grid), window (one
window's allocation and dead zones), run (the windows of a computation, in process, pooled or on
Dask), layer (dead zones for the map).
"""

from geo.coverage.grid import FALLBACK_CRS, FALLBACK_RESOLUTION_M, WGS84, PopulationGrid
from geo.coverage.layer import cached_dead_zone_layer, dead_zone_layer
from geo.coverage.run import (
    DEAD_ZONE_COLUMNS,
    MAX_WINDOW_CELLS,
    RESULT_SCHEMA,
    CoverageResult,
    compute_coverage,
    compute_coverage_distributed,
)
from geo.coverage.sites import site_shapes
from geo.coverage.window import (
    DEFAULT_MIN_CELL_POPULATION,
    DEFAULT_MIN_ZONE_POPULATION,
    CoverageOptions,
    WindowResult,
    coverage_window,
    rasterize_union,
)

__all__ = [
    "DEAD_ZONE_COLUMNS",
    "DEFAULT_MIN_CELL_POPULATION",
    "DEFAULT_MIN_ZONE_POPULATION",
    "FALLBACK_CRS",
    "FALLBACK_RESOLUTION_M",
    "MAX_WINDOW_CELLS",
    "RESULT_SCHEMA",
    "WGS84",
    "CoverageOptions",
    "CoverageResult",
    "PopulationGrid",
    "WindowResult",
    "compute_coverage",
    "compute_coverage_distributed",
    "coverage_window",
    "cached_dead_zone_layer",
    "dead_zone_layer",
    "rasterize_union",
    "site_shapes",
]
