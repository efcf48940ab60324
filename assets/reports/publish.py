"""What the two report assets write, as plain functions on frames (the assets, the benchmark
and the tests call these)."""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import polars as pl
import shapely

from assets.coverage.compare import coverage_disagreements
from geo.coverage import cached_dead_zone_layer
from geo.maps import GeometryCache, province_lands, province_pages, render_map_page
from geo.page_data import SHOWN
from geo.previews import layers_shown, render_layer_pngs
from schemas.catalogue import Catalogue
from schemas.data_docs import current_sites
from schemas.lake import digest, write_table, write_text

from .outputs import Outputs, Parts, cycles_paused
from .quality import rejected_cell_sites, render_quality_page, traceability
from .returns import returns_names
from .safe import write_csv


def geometry_note(sources: list[str]) -> str:
    """Which geometry the pages show (`sources`: the units' geometry_source): planners must
    know when shapes are approximate."""
    counts = Counter(sources)
    if counts.get("approximate", 0) == 0:
        return "Ranh giới: chính thức (tệp DXLAKE_BOUNDARIES) / Boundaries: official file."
    return (
        f"Ranh giới: gần đúng cho {counts.get('approximate', 0)} đơn vị (dựng từ tâm và diện tích),"
        f" chính thức cho {counts.get('official', 0)} / Boundaries: approximate for "
        f"{counts.get('approximate', 0)} units (built from centre points and areas), official "
        f"for {counts.get('official', 0)}."
    )


# The gap rows' columns a map page reads (geo.page_data.SHOWN) and the province that splits
# them: any other column changing (status, previous_value, ...) leaves the pages as they are.
PAGE_COLUMNS = ("province_code", *SHOWN)


def _page_rows(gaps: pl.DataFrame) -> pl.DataFrame:
    """What of the gap rows a map page or a PNG shows: PAGE_COLUMNS; the national ranks only
    choose between duplicate rows, so they enter in order, not as numbers (a unit elsewhere
    moving up the ranking changes no other province's page)."""
    shown = [c for c in PAGE_COLUMNS if c in gaps.columns]
    return gaps.sort("unit_code", "indicator_id", "rank", nulls_last=True).select(shown)


def _of(rows: np.ndarray, codes) -> np.ndarray:
    """Which of the unit codes `rows` are among `codes` (a mask; a set, not numpy's sorting
    isin, which is slow on strings)."""
    wanted = set(codes)
    return np.fromiter((c in wanted for c in rows), bool, len(rows))


class _RowKeys:
    """A frame's part of the pages' keys, as digest(frame) would hash it but with every row
    and shape hashed once for all the pages (not once per page that shows it)."""

    def __init__(self, frame: gpd.GeoDataFrame | None = None, *, kept: dict | None = None):
        if kept is not None:  # arrays() of the same frame, kept from an earlier run
            self.head, self.rows, self.shapes = str(kept["head"]), kept["rows"], kept["shapes"]
            return
        shape = frame.active_geometry_name  # None: a frame with no shapes (no dead zones)
        crs = frame.crs.to_wkt() if shape and frame.crs is not None else None
        self.head = repr((crs, list(frame.columns), [str(t) for t in frame.dtypes]))
        attributes = pd.DataFrame(frame.drop(columns=[shape] if shape else []))
        self.rows = pd.util.hash_pandas_object(attributes, index=False).to_numpy()
        wkb = pl.Series(shapely.to_wkb(frame[shape].values) if shape else [], dtype=pl.Binary)
        self.shapes = wkb.hash(seed=0).to_numpy() if shape else np.zeros(len(frame), np.uint64)

    def __call__(self, at: np.ndarray | slice) -> str:
        """The key of the rows at `at` (a mask)."""
        return digest(self.head, self.rows[at].tobytes(), self.shapes[at].tobytes())

    def arrays(self) -> dict[str, np.ndarray]:
        return {"head": np.array(self.head), "rows": self.rows, "shapes": self.shapes}


def _zone_keys(zones: gpd.GeoDataFrame) -> dict[str, np.ndarray]:
    """What the pages' keys need of the dead-zone layer: its rows' keys and units (kept
    beside the layer: a publish whose pages keep their overlay reads no shapes)."""
    units = zones["unit_code"].astype(str).to_numpy().astype(str)
    return {**_RowKeys(zones).arrays(), "units": units}


@cycles_paused()
def publish_maps(
    maps: Path,
    coverage_gaps: pl.DataFrame,
    admin_units: gpd.GeoDataFrame,
    dead_zones: gpd.GeoDataFrame | bytes,
    catalogue: Catalogue,
    period: str,
    coverage_comparison: pl.DataFrame | None = None,
    cell_sites: pl.DataFrame | None = None,
) -> dict:
    """The planners' maps: map page, province pages, a PNG per layer.

    Each is rebuilt only when its inputs changed (assets.reports.outputs; the keys in
    maps/.publish.json); the display geometry is kept in maps/.cache/ for the next run.
    With `coverage_comparison` and `cell_sites` the pages mark the units whose reported 5G
    coverage the cell sites contradict and say how many site rows were rejected (issue 22).
    `dead_zones`: the table, or its GeoParquet file's bytes, decoded only when the zones'
    display layer must be made (a coverage rerun changed them)."""
    codes = admin_units["unit_code"].astype(str).to_numpy()
    scope = _of(codes, coverage_gaps["unit_code"].unique())
    in_scope = admin_units[scope]
    unit_key = _RowKeys(admin_units)
    cache = GeometryCache(maps / ".cache")
    # The 5G target is about people: zones with fewer than one person are not drawn.
    layer_name, zones = cached_dead_zone_layer(
        dead_zones, admin_units, technology="5G", min_population=1, tolerance_m=25.0, cache=cache
    )
    kept = cache.arrays(f"dead zone keys {layer_name}", lambda: _zone_keys(zones()))
    zone_key, zone_units = _RowKeys(kept=kept), kept["units"]
    out = Outputs(maps.parent, maps / ".publish.json")
    common = (period, catalogue)

    flags = None if coverage_comparison is None else coverage_disagreements(coverage_comparison)
    rejected = None if cell_sites is None else len(rejected_cell_sites(cell_sites))
    quality = maps.parent / "quality" / "index.html"  # lake.report_dir(period, "quality")

    def coverage(page_dir: Path, codes) -> tuple[dict, str]:
        """render_map_page's `coverage` for a page and its part of the rebuild key."""
        rows = None if flags is None else flags.filter(pl.col("unit_code").is_in(list(codes)))
        href = Path(os.path.relpath(quality, page_dir)).as_posix()
        kw = {"disagreements": rows, "rejected_sites": rejected, "quality_href": href}
        return kw, digest(rows, rejected, href)

    title = f"Khoảng cách đến mục tiêu chuyển đổi số — {period}"
    units_key = unit_key(scope)
    check, check_key = coverage(maps, codes[scope])
    rows_shown = _page_rows(coverage_gaps)
    all_zones = zone_key(slice(None))
    page = out.make(
        maps / "index.html",
        digest(*common, title, units_key, rows_shown, all_zones, check_key),
        lambda p: render_map_page(
            in_scope,
            coverage_gaps,
            catalogue,
            p,
            title=title,
            period=period,
            dead_zones=zones if len(zone_units) else None,
            cache=cache,
            coverage=check,
            dead_zones_key=all_zones,
        ),
    )
    provinces = []
    around = unit_key(slice(None))  # a province page draws the provinces around it
    lands = province_lands(admin_units, cache)  # their land, built once if a page needs it
    shown_of = rows_shown.partition_by("province_code", as_dict=True)  # the same rows, in order
    province_of = admin_units["province_code"].astype(str).to_numpy()
    for path, units, rows, name in province_pages(in_scope, coverage_gaps, maps / "provinces"):
        prov = rows["province_code"][0]
        mine = units["unit_code"].astype(str).to_numpy()
        zoned = _of(zone_units, mine)
        own = (lambda z=zoned: zones()[z]) if zoned.any() else None  # read if drawn
        own_key = zone_key(zoned)
        checked, checked_key = coverage(path.parent, mine)
        shown, key = shown_of[(prov,)], unit_key(scope & (province_of == str(prov)))
        provinces.append(
            out.make(
                path,
                digest(*common, name, key, shown, own_key, around, checked_key),
                lambda p, u=units, r=rows, n=name, z=own, zk=own_key, c=checked: render_map_page(
                    u,
                    r,
                    catalogue,
                    p,
                    title=n,
                    period=period,
                    dead_zones=z,
                    cache=cache,
                    context=lands,
                    coverage=c,
                    dead_zones_key=zk,
                ),  # fmt: skip
            )
        )
    out.prune(maps / "provinces", "*.html")

    # A layer's PNG shows its classes over the units: redrawn when those changed.
    keys = {
        ind.id: digest(
            *common,
            units_key,
            ind.id,
            rows_shown.filter(pl.col("indicator_id") == ind.id).select("unit_code", "gap_class"),
        )
        for ind in layers_shown(coverage_gaps, catalogue)
    }
    png_dir = maps / "png"
    todo = {i for i, key in keys.items() if out.stale(png_dir / f"{i}.png", key)}
    pngs = render_layer_pngs(
        in_scope, coverage_gaps, catalogue, png_dir, period=period, only=todo, cache=cache
    )
    for path in pngs:
        out.record(path, keys[path.stem], built=path.stem in todo)
    out.prune(png_dir, "*.png")  # an indicator no longer shown

    cache.prune()
    out.close()
    return {
        "page": page,
        "provinces": provinces,
        "pngs": pngs,
        "geometry": geometry_note(in_scope["geometry_source"].to_list()),
        "zones": len(zone_units),
        "coverage_disagreements": 0 if flags is None else len(check["disagreements"]),
        "rebuilt": out.built,
    }


def publish_quality(
    out_dir: Path,
    *,
    period: str,
    catalogue: Catalogue,
    file_status: pl.DataFrame,
    raw_reports: pl.DataFrame,
    validated_observations: pl.DataFrame,
    quarantined_rows: pl.DataFrame,
    superseded_observations: pl.DataFrame,
    indicator_values: pl.DataFrame,
    admin_units: pl.DataFrame,
    boundary_problems: pl.DataFrame,
    coverage_comparison: pl.DataFrame | None = None,
    cell_sites: pl.DataFrame | None = None,
) -> dict:
    """The auditors' outputs: the quality page and traceability, each written only when its
    content changed (keys in quality/.publish.json). The page links each file's return-to-sender
    workbook (returns.publish_returns writes them) and is assembled from parts kept in
    quality/.parts/: those whose rows changed are rendered again."""
    out = Outputs(out_dir, out_dir / ".publish.json")
    parts = Parts(out_dir / ".parts")
    returns = returns_names(quarantined_rows["source_file"].unique().sort().to_list())
    html = render_quality_page(
        period=period,
        catalogue=catalogue,
        file_status=file_status.unique("source_file", maintain_order=True),  # once per file
        raw=raw_reports,
        validated=validated_observations,
        quarantined=quarantined_rows,
        superseded=superseded_observations,
        values=indicator_values,
        boundary_problems=boundary_problems,
        geometry_note=geometry_note(admin_units["geometry_source"].to_list()),
        gx_pages={  # each province's newest validation; sites newest for none are gone
            label: page.relative_to(out_dir).as_posix()
            for label, page in current_sites(out_dir / "gx").items()
        },
        returns=returns,
        coverage_comparison=coverage_comparison,
        cell_sites=cell_sites,
        parts=parts,
    )
    page = out.make(out_dir / "index.html", digest(html.encode()), lambda p: write_text(p, html))
    parts.close()
    trace = traceability(validated_observations, admin_units)
    key = digest(trace)
    out.make(out_dir / "traceability.parquet", key, lambda p: write_table(p, trace))
    out.make(out_dir / "traceability.csv", key, lambda p: write_csv(p, trace))
    out.close()
    return {
        "page": page,
        "rebuilt": out.built,
        "coverage_disagreements": 0
        if coverage_comparison is None
        else len(coverage_disagreements(coverage_comparison)),
        "cell_site_rows_rejected": 0
        if cell_sites is None
        else len(rejected_cell_sites(cell_sites)),
    }
