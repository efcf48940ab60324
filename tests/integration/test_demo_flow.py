"""The whole graph materialized through Dagster on the demo files; the lake checked against
what the demo wrote, figure by figure, and every planted error found under its rule; the 5G
coverage computed from the demo's synthetic cell sites and population grid."""

from __future__ import annotations

import dagster as dg
import geopandas as gpd
import polars as pl
import pytest

from geo.coverage import DEFAULT_MIN_ZONE_POPULATION
from orchestration.demo import PROVINCE
from schemas.lake import read_period, table_path

PERIOD = "2026-H1"


@pytest.fixture(scope="module")
def demo(demo_run):
    return demo_run


def _table(settings, name):
    return read_period(settings.lake, name, PERIOD)


def _expected_values(spec, catalogue) -> dict[tuple[str, str], float]:
    """Each unit's accepted value as the demo wrote it: later files replace earlier ones."""
    planted = {(u, i) for f, u, i, _ in spec.planted}
    expected: dict[tuple[str, str], float] = {}
    for file in spec.files:  # in landing order
        figures = spec.figures[file]
        units = {u for u, _ in figures}
        for unit in units:
            for ind in catalogue:
                num = figures.get((unit, ind.numerator.id)) if ind.numerator else None
                den = figures.get((unit, ind.denominator.id)) if ind.denominator else None
                stated = figures.get((unit, ind.value.id)) if ind.value else None
                if num is None and den is None and stated is None:
                    continue
                expected.pop((unit, ind.id), None)  # superseded by this file
                if (unit, ind.id) in planted:
                    continue
                if isinstance(num, str):  # "1.234,5" as an office writes it
                    num = float(num.replace(".", "").replace(",", "."))
                if num is not None and den is not None:
                    expected[(unit, ind.id)] = num / den * (100 if ind.is_percent else 1)
                else:
                    expected[(unit, ind.id)] = float(stated)
    return expected


def test_the_runs_succeed_and_are_recorded(demo):
    _, _, results, runs = demo
    assert [
        (
            r.job_def.name,
            r.dagster_run.tags.get("dagster/partition")
            or r.dagster_run.tags.get("dagster/asset_partition_range_start"),
            r.success,
        )
        for r in results
    ] == [
        ("reference_job", None, True),
        ("snapshot_job", "2026-H1", True),
        ("ingest_job", "2026-H1|46", True),  # Huế is the only province the reports touch
        # The cell-site list names no unit: its file status is in "00", province unknown.
        ("ingest_job", "2026-H1|00", True),
        ("coverage_job", "2026-H1", True),  # the synthetic site list and grid
        # publishing's parts: the gaps with their tables, and the pages that read them
        ("publish_job", "2026-H1", True),
        ("publish_job", "2026-H1", True),
    ]
    publish = results[-2:]
    assert [r.dagster_run.tags["dxlake/part"] for r in publish] == ["gaps", "pages"]
    assert [sorted(k.to_user_string() for k in r.dagster_run.asset_selection) for r in publish] == [
        ["coverage_gaps", "gap_tables", "return_workbooks"],
        ["coverage_comparison", "coverage_maps", "quality_report"],
    ]
    # a part's run checks its assets: the reported 5G coverage against the computed
    assert {c.check_name for c in publish[1].get_asset_check_evaluations()} >= {
        "computed_matches_reported"
    }
    assert {r.job_name for r in runs} == {
        "reference_job",
        "snapshot_job",
        "ingest_job",
        "coverage_job",
        "publish_job",
    }
    checks = results[2].get_asset_check_evaluations()
    assert {c.check_name for c in checks} >= {
        "observations_accounted_for",
        "one_row_per_unit_indicator",
        "unit_codes_known",
    }
    blocking = [c for c in checks if c.severity == dg.AssetCheckSeverity.ERROR]
    assert blocking and all(c.passed for c in blocking)


def test_accepted_values_equal_what_the_demo_wrote(demo, catalogue):
    settings, spec, _, _ = demo
    validated = _table(settings, "validated_observations")
    got = {(u, i): v for u, i, v in validated.select("unit_code", "indicator_id", "value").rows()}
    expected = _expected_values(spec, catalogue)
    assert got.keys() == expected.keys()
    for key, value in expected.items():
        assert got[key] == pytest.approx(value, rel=1e-12), key


def test_every_planted_error_is_quarantined_under_its_rule(demo, gazetteer):
    settings, spec, _, _ = demo
    quarantined = _table(settings, "quarantined_rows")
    found = {
        (f, u or code_raw, i, r)
        for f, u, code_raw, i, r in quarantined.select(
            "source_file", "unit_code", "unit_code_raw", "indicator_id", "rule_id"
        ).rows()
    }
    assert found == set(spec.planted)
    assert quarantined["message_vi"].null_count() == 0
    assert quarantined["message_en"].null_count() == 0


def test_every_observation_ends_in_exactly_one_state(demo):
    settings, _, _, _ = demo
    raw = _table(settings, "raw_reports")
    ends = pl.concat(
        [
            _table(settings, t).select("obs_id")
            for t in ("validated_observations", "quarantined_rows", "superseded_observations")
        ]
    )
    assert ends["obs_id"].is_unique().all()
    assert sorted(ends["obs_id"].to_list()) == sorted(raw["obs_id"].to_list())


def test_the_supplement_supersedes_the_first_figures(demo):
    settings, spec, _, _ = demo
    superseded = _table(settings, "superseded_observations")
    replaced = {u for u, _ in spec.figures["so_khcn_hue_2026-H1_bo_sung.xlsx"]}
    assert set(superseded["unit_code"]) == replaced
    assert set(superseded["source_file"]) == {"so_khcn_hue_2026-H1.xlsx"}
    validated = _table(settings, "validated_observations")
    officials = validated.filter(
        pl.col("unit_code").is_in(list(replaced))
        & (pl.col("indicator_id") == "officials_with_digital_signature")
    )
    assert officials["value"].to_list() == [90.0, 90.0]  # 27 of 30 in the supplement


def test_an_old_commune_name_resolves_through_the_merger(demo):
    settings, _, _, _ = demo
    validated = _table(settings, "validated_observations")
    old = validated.filter(pl.col("match_kind") == "old_name")
    assert old.height == 1 and old["indicator_id"][0] == "pop_5g_coverage"


def test_units_that_did_not_report_are_gaps(demo, catalogue):
    settings, spec, _, _ = demo
    values = _table(settings, "indicator_values")
    assert values.height == 40 * len(catalogue.ids)
    silent = values.filter(pl.col("unit_code").is_in(spec.not_reported))
    # The operator still covered them for 5G; everything the commune reports is missing.
    assert set(silent.filter(pl.col("status") == "not_reported")["indicator_id"]) == set(
        catalogue.ids
    ) - {"pop_5g_coverage"}
    gaps = _table(settings, "coverage_gaps")
    reported = gaps.filter(pl.col("status") == "reported")
    higher = reported.filter(pl.col("indicator_id") != "villages_without_mobile_signal")
    assert (
        higher["gap"] - (higher["target"] - higher["value"]).clip(0)
    ).abs().max() < 1e-6  # gap is rounded to 6 decimals
    assert set(gaps.filter(pl.col("status") == "not_reported")["gap_class"]) == {"not_reported"}


def test_reports_are_written(demo):
    settings, _, _, _ = demo
    reports = settings.reports / PERIOD
    quality = (reports / "quality" / "index.html").read_text(encoding="utf-8")
    assert "numerator_exceeds_denominator" in quality and "Khớp / balanced" in quality
    assert (reports / "quality" / "gx" / "46" / "index.html").exists()  # Huế's partition
    assert "href='gx/46/index.html'" in quality
    assert (reports / "maps" / "index.html").stat().st_size > 10_000
    returns = list((reports / "quality" / "returns").glob("*.xlsx"))
    assert {p.name for p in returns} == {
        "so_khcn_hue_2026-H1.xlsx.quarantined.xlsx",  # the source's extension kept
        "viettel_phu_song_5g_2026-H1.csv.quarantined.xlsx",
    }
    trace = pl.read_parquet(reports / "quality" / "traceability.parquet")
    assert trace.height == _table(settings, "validated_observations").height
    assert trace["source_row"].null_count() == 0


def test_what_the_run_writes_others_can_read(demo):
    """Under umask 022 every report, page, workbook, Data Docs file and lake table is readable by
    colleagues on the machine (mode o+r), not only by the account that ran it; folders too."""
    settings, _, _, _ = demo
    written = [p for root in (settings.reports, settings.lake) for p in root.rglob("*")]
    assert len([p for p in written if p.suffix == ".parquet"]) > 20
    assert len([p for p in written if p.suffix == ".xlsx"]) >= 3
    hidden = [
        (p.relative_to(settings.home).as_posix(), oct(p.stat().st_mode & 0o777))
        for p in written
        if p.stat().st_mode & 0o004 == 0
    ]
    assert hidden == []


def test_the_cell_site_list_is_not_a_report(demo):
    settings, spec, _, _ = demo
    status = _table(settings, "file_status").unique("source_file").sort("source_file")
    assert dict(status.select("source_file", "status").rows()) == {
        **{f: "read" for f in spec.files[:3]},
        spec.coverage.sites_file.name: "cell_sites",
    }
    sites = _table(settings, "cell_sites")
    assert sites.filter(pl.col("reason_en").is_null()).height == spec.coverage.sites
    assert sorted(sites.filter(pl.col("reason_en").is_not_null())["source_row"]) == [
        row for row, _ in spec.coverage.planted
    ]


def test_the_demo_computes_5g_coverage_and_dead_zones(demo):
    settings, spec, _, _ = demo
    units = gpd.read_parquet(table_path(settings.lake, "admin_units"))
    hue = set(units.loc[units["province_code"] == PROVINCE, "unit_code"])
    coverage = _table(settings, "computed_coverage")
    sites = _table(settings, "cell_sites").filter(pl.col("reason_en").is_null())

    five = coverage.filter(pl.col("technology") == "5G")
    assert len(hue) == 40 and five["unit_code"].sort().to_list() == sorted(hue)
    assert five["share_covered"].null_count() == 0
    assert five["share_covered"].is_between(0, 100).all()
    assert five["share_covered"].min() < 100  # the no-signal communes are not covered
    assert (five["population_covered"] <= five["population"] + 1e-6).all()
    assert five["share_covered"].to_list() == pytest.approx(
        (five["population_covered"] / five["population"] * 100).to_list()
    )
    assert set(five["sites"]) == {sites.filter(pl.col("technology") == "5G").height}
    assert set(coverage["population_grid"]) == {str(spec.coverage.grid)}
    # The grid's people, less what lies beyond Huế's units, are the people counted.
    assert five["population"].sum() <= sum(spec.coverage.population.values())

    zones = gpd.read_parquet(table_path(settings.lake, "dead_zones", PERIOD))
    assert len(zones) > 0 and zones.crs.to_epsg() == 4326
    assert set(zones["period"]) == {PERIOD} and set(zones["unit_code"]) <= hue
    assert set(zones["technology"]) <= {"4G", "5G"}
    assert (zones["population"] >= DEFAULT_MIN_ZONE_POPULATION).all()
    assert zones.geometry.is_valid.all() and not zones.geometry.is_empty.any()
    five_zones = zones[zones["technology"] == "5G"]
    assert len(five_zones) > 0
    # A unit with a 5G dead zone has people the 5G sites miss.
    short = set(five.filter(pl.col("share_covered") < 100)["unit_code"])
    assert set(five_zones["unit_code"]) <= short
    # Communes given no site at all are among them (not all: a commune whose people are spread
    # thinner than one per grid cell has no populated cell to list, however uncovered).
    assert set(spec.coverage.no_signal) & set(five_zones["unit_code"])
