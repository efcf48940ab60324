"""The coverage assets on the synthetic Huế demo, through Dagster, writing the lake.

admin_units (Huế's real boundaries from ../shared) and validated_observations (three reported
5G shares) are stand-ins here, so the test exercises only this layer.
"""

import dagster as dg
import geopandas as gpd
import polars as pl
import pytest

from assets.coverage import COVERAGE_ASSETS
from assets.coverage.checks import computed_matches_reported
from assets.ingest.assets import landing_snapshot
from assets.partitions import periods
from assets.resources import LakeIOManager, LakeResource
from orchestration.demo_coverage import PERIOD, write_demo_coverage
from schemas.contracts import DEAD_ZONES
from schemas.lake import table_path


@pytest.fixture(scope="module")
def hue_units(shared_data):
    g = gpd.read_parquet(shared_data / "vn_communes_2025.parquet")
    g = g[g["ma_tinh"] == "46"]
    return gpd.GeoDataFrame(
        {
            "unit_code": g["ma_xa"].to_numpy(),
            "unit_name": g["ten_day_du"].to_numpy(),
            "province_code": g["ma_tinh"].to_numpy(),
            "population": g["dan_so"].astype("Int64").to_numpy(),
        },
        geometry=g.geometry.values,
        crs=g.crs,
    )


def _materialize(home, hue_units, reported: dict[str, float], loaded: dict | None = None):
    """Run the coverage assets for PERIOD under `home`, with stand-in upstream tables; `loaded`
    gets dead_zones as a downstream asset (the map) receives it through the IO manager."""

    @dg.asset(name="dead_zones_reader", partitions_def=periods)
    def reader(dead_zones):
        if loaded is not None:
            loaded["dead_zones"] = dead_zones

    @dg.asset(name="admin_units")
    def admin_units_stub() -> gpd.GeoDataFrame:
        return hue_units

    @dg.asset(name="validated_observations", partitions_def=periods)
    def validated_stub() -> pl.DataFrame:
        return pl.DataFrame(
            {
                "unit_code": list(reported),
                "indicator_id": "pop_5g_coverage",
                "value": list(reported.values()),
                "source_file": "operator.csv",
                "source_row": list(range(6, 6 + len(reported))),
            },
            schema_overrides={"unit_code": pl.String, "value": pl.Float64},
        )

    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(periods.name, [PERIOD])
        resources = {
            "lake": LakeResource(home=str(home)),
            "io_manager": LakeIOManager(home=str(home)),
        }
        dg.materialize([admin_units_stub], instance=instance, resources=resources)
        return dg.materialize(
            [admin_units_stub, validated_stub, landing_snapshot, *COVERAGE_ASSETS,
             computed_matches_reported, reader],
            selection=[
                "landing_snapshot", "validated_observations", "cell_sites", "computed_coverage", "dead_zones",
                "coverage_comparison", "dead_zones_reader",
            ],
            partition_key=PERIOD,
            instance=instance,
            resources=resources,
        )  # fmt: skip


@pytest.fixture(scope="module")
def demo_lake(tmp_path_factory, hue_units):
    home = tmp_path_factory.mktemp("coverage_lake")
    spec = write_demo_coverage(home, PERIOD)
    codes = hue_units["unit_code"].tolist()
    reported = {codes[0]: 100.0, codes[1]: 0.0, spec.no_signal[0]: 0.0}
    loaded: dict = {}
    return home, spec, _materialize(home, hue_units, reported, loaded), reported, loaded


def test_a_period_without_cell_sites_gives_empty_tables(tmp_path, hue_units):
    loaded: dict = {}
    result = _materialize(tmp_path, hue_units, {hue_units["unit_code"].iloc[0]: 90.0}, loaded)
    assert result.success
    lake = tmp_path / "lake"
    assert pl.read_parquet(table_path(lake, "cell_sites", PERIOD)).is_empty()
    assert pl.read_parquet(table_path(lake, "computed_coverage", PERIOD)).is_empty()
    zones = gpd.read_parquet(table_path(lake, "dead_zones", PERIOD))
    assert len(zones) == 0 and zones.crs.to_epsg() == 4326
    # Empty, yet in its contract's dtypes (not the float an empty column defaults to).
    expected = {**dict.fromkeys(DEAD_ZONES, "str"), "population": "float64", "area_km2": "float64"}
    assert {c: str(zones[c].dtype) for c in DEAD_ZONES} == expected
    assert isinstance(loaded["dead_zones"], gpd.GeoDataFrame) and len(loaded["dead_zones"]) == 0
    assert pl.read_parquet(table_path(lake, "coverage_comparison", PERIOD)).is_empty()
    assert result.get_asset_check_evaluations()[0].passed


def test_the_demo_lake_has_the_coverage_tables(demo_lake, hue_units):
    home, spec, result, _, loaded = demo_lake
    assert result.success
    lake = home / "lake"
    sites = pl.read_parquet(table_path(lake, "cell_sites", PERIOD))
    assert sites.filter(pl.col("reason_en").is_null()).height == spec.sites
    bad = sites.filter(pl.col("reason_en").is_not_null()).sort("source_row")
    assert bad["source_row"].to_list() == [row for row, _ in spec.planted]
    assert bad["source_file"].to_list() == [spec.sites_file.name] * 2

    coverage = pl.read_parquet(table_path(lake, "computed_coverage", PERIOD))
    assert set(coverage["technology"]) == {"4G", "5G"}
    assert set(coverage["unit_code"]) == set(hue_units["unit_code"])  # Huế only: where sites are
    assert coverage["population_source"].unique().to_list() == ["grid"]
    assert coverage["population_grid"].unique().to_list() == [str(spec.grid)]
    # The grid holds the synthetic people; the units' grid sums cannot exceed them.
    assert coverage.filter(pl.col("technology") == "5G")["population"].sum() <= sum(
        spec.population.values()
    )
    silent = coverage.filter(pl.col("unit_code").is_in(spec.no_signal))
    assert silent.filter(pl.col("population") > 0).height > 0
    assert (silent["share_covered"] < 50).all()  # no site of their own

    zones = gpd.read_parquet(table_path(lake, "dead_zones", PERIOD))
    assert zones.crs.to_epsg() == 4326 and len(zones) > 0
    assert set(spec.no_signal) & set(zones["unit_code"])
    assert list(zones.columns[:6]) == [
        "period", "unit_code", "province_code", "technology", "population", "area_km2",
    ]  # fmt: skip
    # A downstream asset gets the same GeoDataFrame back through the IO manager.
    back = loaded["dead_zones"]
    assert isinstance(back, gpd.GeoDataFrame) and back.crs.to_epsg() == 4326
    assert back.drop(columns="geometry").equals(zones.drop(columns="geometry"))
    assert back.geometry.geom_equals_exact(zones.geometry, 0).all()


def test_the_comparison_and_its_warning(demo_lake):
    home, spec, result, reported, _ = demo_lake
    comparison = pl.read_parquet(table_path(home / "lake", "coverage_comparison", PERIOD))
    rows = {r["unit_code"]: r for r in comparison.iter_rows(named=True)}
    for code, value in reported.items():
        r = rows[code]
        assert r["reported_value"] == value
        assert r["difference_pp"] == pytest.approx(value - r["computed_value"])
        assert r["exceeds_tolerance"] == (abs(value - r["computed_value"]) > 5)
    assert comparison["reported_value"].is_not_null().sum() == 3
    evaluations = result.get_asset_check_evaluations()
    assert len(evaluations) == 1
    check = evaluations[0]
    assert check.severity == dg.AssetCheckSeverity.WARN
    flagged = int(comparison["exceeds_tolerance"].sum())
    assert flagged >= 1
    assert check.passed is False
    assert check.metadata["units_differing"].value == flagged
