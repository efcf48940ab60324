"""One planted error per validation rule, in files the test writes, through the whole graph:
each is found in quarantined_rows, in the asset check results and on the quality report page.
A clean input passes every check; a rerun on the same inputs gives the same tables and page."""

from __future__ import annotations

import os
import re
from collections import Counter

import dagster as dg
import polars as pl
import pytest

from assets.ingest.template import write_template
from geo.units import official_units
from orchestration.definitions import build_definitions
from orchestration.runner import materialize_period
from schemas.lake import read_period
from schemas.rules import RULES
from schemas.settings import Settings

PERIOD = "2026-H1"
HUE = "46"


def _units() -> pl.DataFrame:
    return official_units().filter(pl.col("province_code") == HUE).sort("unit_code")


def _clean_figures(units: pl.DataFrame) -> dict[tuple[str, str], object]:
    """Plausible, distinct figures for every unit and report field (no rule broken)."""
    figures: dict[tuple[str, str], object] = {}
    for i, code in enumerate(units["unit_code"]):
        figures |= {
            (code, "officials"): 30 + i % 5,
            (code, "officials_with_computer_count"): 25 + i % 5,
            (code, "officials_with_signature_count"): 20 + i % 7,
            (code, "dossiers"): 1000 + 10 * i,
            (code, "dossiers_online"): 700 + 7 * i,
            (code, "transactions"): 5000 + 13 * i,
            (code, "transactions_cashless"): 2000 + 11 * i,
            (code, "leaders"): 10,
            (code, "leaders_stem"): 1 + i % 4,
            (code, "budget_total"): 50000.5 + i,
            (code, "budget_sti_dx"): 900.25 + i,
            (code, "computers"): 40,
            (code, "computers_protected"): 30 + i % 10,
            (code, "villages_without_signal"): i % 3,
            (code, "population"): 10000 + 100 * i,
            (code, "population_5g"): 8000 + 90 * i,
        }
    return figures


def _write_clean(landing, units):
    landing.mkdir(parents=True, exist_ok=True)
    write_template(
        units,
        _catalogue(),
        landing / "clean.xlsx",
        province_name="Thành phố Huế",
        period=PERIOD,
        figures=_clean_figures(units),
    )


def _catalogue():
    from schemas.catalogue import load_catalogue

    return load_catalogue()


def _write_planted(landing, units) -> dict[str, tuple[str, str, str]]:
    """Files with exactly one error per rule; rule → (file, unit code as written, indicator)."""
    c = units["unit_code"].to_list()
    figures = _clean_figures(units)
    planted: dict[str, tuple[str, str, str]] = {}
    main = "bao_cao_xa.xlsx"

    def plant(rule, unit, indicator, **cells):
        for field, value in cells.items():
            figures[(unit, field)] = value
        planted[rule] = (main, unit, indicator)

    plant("not_a_number", c[1], "leaders_with_stem_expertise", leaders_stem="một")
    plant("missing_figure", c[2], "online_service_usage", dossiers=None)
    plant("negative_value", c[3], "villages_without_mobile_signal", villages_without_signal=-1)
    plant("value_out_of_range", c[4], "villages_without_mobile_signal", villages_without_signal=900)
    plant("denominator_not_positive", c[5], "malware_protected_computers", computers=0,
          computers_protected=0)  # fmt: skip
    plant("numerator_exceeds_denominator", c[6], "cashless_payment", transactions_cashless=99999)
    plant("count_not_whole", c[7], "leaders_with_stem_expertise", leaders="10,5")
    plant("percent_as_share", c[8], "pop_5g_coverage", population=None, population_5g=None,
          pop_5g_coverage_pct=0.9)  # fmt: skip
    plant("stated_value_mismatch", c[9], "pop_5g_coverage", population=1000, population_5g=900,
          pop_5g_coverage_pct="50%")  # fmt: skip
    landing.mkdir(parents=True, exist_ok=True)
    units_plus = pl.concat(
        [units.select("unit_code", "unit_name"), pl.DataFrame({"unit_code": ["99999"],
                                                               "unit_name": ["Xã Không Có"]})]
    )  # fmt: skip
    figures[("99999", "computers")] = 10
    figures[("99999", "computers_protected")] = 5
    planted["unit_unresolved"] = (main, "99999", "malware_protected_computers")
    write_template(units_plus, _catalogue(), landing / main, province_name="Thành phố Huế",
                   period=PERIOD, figures=figures)  # fmt: skip
    # A long-shape CSV: an unknown indicator, and one unit given twice with different figures.
    long_file = "chi_tieu_dai.csv"
    (landing / long_file).write_text(
        "Mã xã;Chỉ tiêu;Tử số;Mẫu số\n"
        f"{c[10]};chi_tieu_khong_co;1;2\n"
        f"{c[11]};officials_with_computer;20;30\n"
        f"{c[11]};officials_with_computer;25;30\n",
        encoding="utf-8",
    )
    planted["unknown_indicator"] = (long_file, c[10], "?chi tieu khong co")
    planted["conflicting_duplicate"] = (long_file, c[11], "officials_with_computer")
    # A file that says it is for another period.
    other = "ky_khac.csv"
    (landing / other).write_text(
        f'Kỳ báo cáo: 2025-H2\nMã xã,"Số thôn, bản còn vùng lõm sóng"\n{c[12]},1\n',
        encoding="utf-8",
    )
    planted["period_mismatch"] = (other, c[12], "villages_without_mobile_signal")
    for i, name in enumerate((main, long_file, other)):  # landing order: main first
        os.utime(landing / name, (1_780_000_000 + i, 1_780_000_000 + i))
    return planted


def _run(home):
    settings = Settings(home=home)
    (home / ".dagster").mkdir(parents=True, exist_ok=True)
    with dg.instance_for_test(temp_dir=str(home / ".dagster")) as instance:
        results = materialize_period(settings, PERIOD, instance)
    assert all(r.success for r in results)
    return settings, [c for r in results for c in r.get_asset_check_evaluations()]


@pytest.fixture(scope="module")
def planted_run(tmp_path_factory):
    home = tmp_path_factory.mktemp("planted")
    planted = _write_planted(home / "landing" / PERIOD, _units())
    settings, checks = _run(home)
    return settings, checks, planted


@pytest.fixture(scope="module")
def clean_run(tmp_path_factory):
    home = tmp_path_factory.mktemp("clean")
    _write_clean(home / "landing" / PERIOD, _units())
    return _run(home)


def _table(settings, name):
    return read_period(settings.lake, name, PERIOD)


def test_the_plan_covers_every_rule(planted_run):
    _, _, planted = planted_run
    assert set(planted) == {r.id for r in RULES}


def test_each_planted_error_is_quarantined_under_its_rule(planted_run):
    settings, _, planted = planted_run
    q = _table(settings, "quarantined_rows")
    found = Counter(
        (r["rule_id"], (r["source_file"], r["unit_code"] or r["unit_code_raw"], r["indicator_id"]))
        for r in q.iter_rows(named=True)
    )
    expected = Counter(planted.items())
    expected[("conflicting_duplicate", planted["conflicting_duplicate"])] += 1  # both rows, kept
    assert found == expected  # each planted row once, the two conflicting rows twice, no other


def test_each_rule_is_in_the_asset_check_results(planted_run):
    _, checks, planted = planted_run
    by_name = {c.check_name: c for c in checks}
    finding = by_name["no_quarantined_rows"]
    assert not finding.passed and finding.severity == dg.AssetCheckSeverity.WARN
    by_rule = finding.metadata["by_rule"].value
    assert by_rule == {rule: 2 if rule == "conflicting_duplicate" else 1 for rule in planted}
    blocking = [c for c in checks if c.severity == dg.AssetCheckSeverity.ERROR]
    assert {c.check_name for c in blocking} == {
        "observations_accounted_for",
        "one_row_per_unit_indicator",
        "unit_codes_known",
    }
    assert all(c.passed for c in blocking)


def test_each_rule_is_on_the_report_page(planted_run):
    settings, _, planted = planted_run
    page = (settings.reports / PERIOD / "quality" / "index.html").read_text(encoding="utf-8")
    for rule in planted:
        row = re.search(rf"<tr id='rule-{rule}'>(.*?)</tr>", page, re.S)
        assert row, rule
        count = re.findall(r"<td>(\d+)</td>", row.group(1))
        assert count == ["2" if rule == "conflicting_duplicate" else "1"], rule
    assert "Khớp / balanced" in page


def test_returned_workbooks_list_each_file_s_rows(planted_run):
    settings, _, planted = planted_run
    import openpyxl

    returns = settings.reports / PERIOD / "quality" / "returns"
    files = {f for f, _, _ in planted.values()}
    assert {p.name.split(".quarantined")[0] for p in returns.glob("*.xlsx")} == files
    ws = openpyxl.load_workbook(returns / "bao_cao_xa.xlsx.quarantined.xlsx").active
    rows = list(ws.iter_rows(values_only=True))
    header = next(i for i, r in enumerate(rows) if "Lỗi cần sửa / What to fix" in r)
    column = rows[header].index("Lỗi cần sửa / What to fix")
    problems = {r[column] for r in rows[header + 1 :] if r[column]}
    said = {r.id: r.vi for r in RULES}  # what a commune official reads, not the rule's id
    assert problems == {said[r] for r, (f, _, _) in planted.items() if f == "bao_cao_xa.xlsx"}


def test_a_clean_input_passes_every_check(clean_run):
    settings, checks = clean_run
    defined = build_definitions(settings).resolve_asset_graph().asset_check_keys
    assert sorted(c.check_name for c in checks) == sorted(k.name for k in defined)  # each once
    assert len(checks) == 8  # 7 on the observations, 1 on computed 5G coverage
    assert all(c.passed for c in checks), [c.check_name for c in checks if not c.passed]
    assert _table(settings, "quarantined_rows").is_empty()
    assert _table(settings, "validated_observations").height == 40 * 9


def test_a_rerun_gives_the_same_tables_and_page(clean_run):
    settings, _ = clean_run
    tables = ("raw_reports", "validated_observations", "indicator_values", "coverage_gaps")
    before = {t: _table(settings, t).drop("ingested_at", strict=False) for t in tables}
    page = (settings.reports / PERIOD / "quality" / "index.html").read_bytes()
    _run(settings.home)
    for t in tables:
        assert _table(settings, t).drop("ingested_at", strict=False).equals(before[t]), t
    assert (settings.reports / PERIOD / "quality" / "index.html").read_bytes() == page
