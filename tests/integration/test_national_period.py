"""A national half-year through the real runner: every commune's file, about 1 % of files that
must be rejected, resubmissions, a cell-site list. Every landing entry has one status row and
every observation read ends accepted, quarantined or superseded; a rerun with nothing changed
runs nothing. (Its speed is benchmarks/national.py's business, not this test's.)"""

from __future__ import annotations

import os

import dagster as dg
import polars as pl
import pytest

from geo.units import official_units
from orchestration.runner import materialize_period
from schemas.lake import read_period
from schemas.settings import Settings

PERIOD = "2026-H1"
HEADER = (
    "Mã xã;Tên xã;Tổng số cán bộ, công chức cấp xã;"
    "Số cán bộ, công chức có máy tính đáp ứng cấu hình tối thiểu;Số thôn, bản còn vùng lõm sóng"
)
SITES = "Nhà mạng;Mã trạm;Công nghệ;Vĩ độ;Kinh độ;Bán kính (km)\n"
BROKEN = {
    "xlsx": b"PK\x03\x04 truncated",
    "csv": b"",
    "xls": b"<html><body><table><tr><td>1</td></tr></table></body></html>",
}


@pytest.fixture(scope="module")
def national(tmp_path_factory):
    home = tmp_path_factory.mktemp("national")
    landing = home / "landing" / PERIOD
    landing.mkdir(parents=True)
    units = official_units().sort("unit_code")
    base = 1_780_000_000
    names = []
    for i, (code, name) in enumerate(units.select("unit_code", "unit_name").iter_rows()):
        officials = 15 + i % 20
        # every 97th commune types more officials with computers than officials: quarantined
        computers = officials + 1 if i % 97 == 0 else officials - i % 3
        path = landing / f"{units['province_code'][i]}_{code}.csv"
        path.write_text(
            f"{HEADER}\n{code};{name};{officials};{computers};{i % 4}\n", encoding="utf-8"
        )
        names.append(path.name)
    for i, code in enumerate(units["unit_code"][::300]):  # 12 communes correct their report
        path = landing / f"bo_sung_{code}.csv"
        path.write_text(f"{HEADER}\n{code};;30;29;0\n", encoding="utf-8")
        os.utime(path, (base + 10_000 + i, base + 10_000 + i))  # landed later: it wins
    for i in range(33):  # ~1 %: truncated workbooks, empty files, web pages saved as .xls
        kind = ("xlsx", "csv", "xls")[i % 3]
        (landing / f"hong_{i:02d}.{kind}").write_bytes(BROKEN[kind])
    sites = [
        f"Viettel;S{i:04d};5G;{16.3 + i * 0.001:.4f};{107.5 + i * 0.001:.4f};1,5"
        for i in range(200)
    ]
    (landing / "tram_viettel.csv").write_text(SITES + "\n".join(sites) + "\n", encoding="utf-8")
    for n, name in enumerate(names):
        os.utime(landing / name, (base + n, base + n))
    settings = Settings(home=home)
    (home / ".dagster").mkdir()
    with dg.instance_for_test(temp_dir=str(home / ".dagster")) as instance:
        first = materialize_period(settings, PERIOD, instance, log_level="ERROR")
        again = materialize_period(settings, PERIOD, instance, log_level="ERROR")
    return settings, landing, first, again


def test_the_national_run_succeeds_in_few_runs(national):
    _, _, first, again = national
    assert [r.success for r in first] == [True] * len(first)
    jobs = [r.job_def.name for r in first]
    # all 35 partitions in one ingest run; publishing in its two parts
    assert jobs == [
        "reference_job",
        "snapshot_job",
        "ingest_job",
        "coverage_job",
        *["publish_job"] * 2,
    ]
    assert again == []  # nothing changed: nothing runs


def test_every_landing_entry_has_one_status_row(national):
    settings, landing, _, _ = national
    status = read_period(settings.tables, "file_status", PERIOD).unique("source_file")
    assert sorted(status["source_file"]) == sorted(p.name for p in landing.iterdir())
    counts = dict(status.group_by("status").len().iter_rows())
    assert counts == {"read": 3321 + 12, "rejected": 33, "cell_sites": 1}
    rejected = status.filter(pl.col("status") == "rejected")
    assert all(r["source_file"] in r["reason_en"] for r in rejected.iter_rows(named=True))


def test_every_observation_is_accepted_quarantined_or_superseded(national):
    settings, _, _, _ = national

    def ids(table: str) -> list[str]:
        return read_period(settings.tables, table, PERIOD)["obs_id"].to_list()

    raw = ids("raw_reports")
    ended = ids("validated_observations") + ids("superseded_observations")
    quarantined = set(ids("quarantined_rows"))  # a row may break several rules
    assert len(set(raw)) == len(raw) == len(ended) + len(quarantined)
    assert set(raw) == set(ended) | quarantined
    superseded = read_period(settings.tables, "superseded_observations", PERIOD)
    assert superseded["source_file"].str.starts_with("bo_sung_").sum() == 0
    # each correction replaces its commune's two observations (computers of officials, villages)
    assert superseded.height == 12 * 2
    rules = read_period(settings.tables, "quarantined_rows", PERIOD)["rule_id"].value_counts()
    # every 97th commune of 3,321 (35), less the first, whose correction superseded its figures
    assert dict(rules.iter_rows()) == {"numerator_exceeds_denominator": 34}
