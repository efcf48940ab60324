"""Demo landing files for Huế (province 46), period 2026-H1, with a handful of planted errors.

Three files as a province really receives them: the communes' compiled template (.xlsx), a
supplement that resubmits two units (.xlsx, later), and an operator's 5G coverage by unit name
(.csv, semicolon-delimited, UTF-8 with BOM, decimal commas, one pre-2025 commune name). The
`DemoSpec` says what each file holds and which rows must be quarantined under which rule, so
tests can check the lake against what was written.

`write_demo` (what `dxlake demo` runs) adds the synthetic coverage inputs of
orchestration.demo_coverage: a cell-site list in the landing folder and a population grid under
$DXLAKE_HOME/grids, so the demo also computes 5G coverage and its dead zones.
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from assets.ingest.template import write_template
from geo.units import official_units
from orchestration.demo_coverage import DemoCoverageSpec, write_demo_coverage
from schemas.catalogue import load_catalogue
from schemas.periods import check_period

PROVINCE = "46"
PERIOD = "2026-H1"
MAIN_FILE = "so_khcn_hue_2026-H1.xlsx"
SUPPLEMENT_FILE = "so_khcn_hue_2026-H1_bo_sung.xlsx"
OPERATOR_FILE = "viettel_phu_song_5g_2026-H1.csv"
UNKNOWN_UNIT = ("99999", "Xã Ngoài Danh Mục")
OLD_NAME = ("Xã Phú Xuân", "Xã Phú Hồ")  # a pre-July-2025 commune of Huế and the unit it joined


@dataclass
class DemoSpec:
    """What the demo wrote: figures per file and unit, and the planted errors."""

    period: str
    files: list[str]
    figures: dict[str, dict[tuple[str, str], object]] = field(default_factory=dict)
    # (file, unit code or name as written, indicator id, rule id)
    planted: list[tuple[str, str, str, str]] = field(default_factory=list)
    not_reported: list[str] = field(default_factory=list)
    coverage: DemoCoverageSpec | None = None  # the synthetic grid and cell sites, if written


def _commune_figures(rng: random.Random) -> dict[str, object]:
    officials = rng.randint(18, 35)
    dossiers = rng.randint(200, 3000)
    transactions = rng.randint(1000, 20000)
    leaders = rng.randint(5, 12)
    budget = round(rng.uniform(20000, 80000), 1)
    computers = rng.randint(20, 40)
    return {
        "officials": officials,
        "officials_with_computer_count": officials - rng.randint(0, 4),
        "officials_with_signature_count": officials - rng.randint(0, 10),
        "dossiers": dossiers,
        "dossiers_online": int(dossiers * rng.uniform(0.5, 0.98)),
        "transactions": transactions,
        "transactions_cashless": int(transactions * rng.uniform(0.3, 0.9)),
        "leaders": leaders,
        "leaders_stem": rng.randint(0, 4),
        "budget_total": budget,
        "budget_sti_dx": round(budget * rng.uniform(0.005, 0.04), 1),
        "computers": computers,
        "computers_protected": computers - rng.randint(0, 5),
        "villages_without_signal": rng.choice([0, 0, 0, 1, 2, 3]),
    }


def write_demo_landing(landing: Path, period: str = PERIOD) -> DemoSpec:
    """Write the demo files into `landing` (the period's landing folder) and say what they hold.
    A period not written YYYY-H1 or YYYY-H2 raises PeriodError before anything is written."""
    check_period(period)
    catalogue = load_catalogue()
    units = official_units().filter(pl.col("province_code") == PROVINCE).sort("unit_code")
    province = units["province_name"][0]
    codes = units["unit_code"].to_list()
    names = dict(zip(codes, units["unit_name"].to_list(), strict=True))
    rng = random.Random(57)
    spec = DemoSpec(period, [MAIN_FILE, SUPPLEMENT_FILE, OPERATOR_FILE])
    landing.mkdir(parents=True, exist_ok=True)

    # 1. The compiled commune template: two units did not report at all.
    main: dict[tuple[str, str], object] = {}
    spec.not_reported = [codes[-1], codes[-2]]
    for code in codes[:-2]:
        for fid, value in _commune_figures(rng).items():
            main[(code, fid)] = value
    c = codes
    main[(c[3], "computers_protected")] = main[(c[3], "computers")] + 7
    main[(c[5], "dossiers_online")] = "chưa có"
    main[(c[7], "villages_without_signal")] = -2
    main[(c[9], "officials")] = 0
    main[(c[12], "budget_sti_dx")] = "1.234,5"  # thousands dot and decimal comma: a valid figure
    spec.planted += [
        (MAIN_FILE, c[3], "malware_protected_computers", "numerator_exceeds_denominator"),
        (MAIN_FILE, c[5], "online_service_usage", "not_a_number"),
        (MAIN_FILE, c[7], "villages_without_mobile_signal", "negative_value"),
        (MAIN_FILE, c[9], "officials_with_computer", "denominator_not_positive"),
        (MAIN_FILE, c[9], "officials_with_digital_signature", "denominator_not_positive"),
        (MAIN_FILE, UNKNOWN_UNIT[0], "leaders_with_stem_expertise", "unit_unresolved"),
    ]
    template_units = pl.concat(
        [
            units.select("unit_code", "unit_name"),
            pl.DataFrame([UNKNOWN_UNIT], orient="row", schema=["unit_code", "unit_name"]),
        ]
    )
    main[(UNKNOWN_UNIT[0], "leaders")] = 10
    main[(UNKNOWN_UNIT[0], "leaders_stem")] = 3
    spec.figures[MAIN_FILE] = main
    write_template(
        template_units,
        catalogue,
        landing / MAIN_FILE,
        province_name=province,
        period=period,
        figures=main,
    )

    # 2. A supplement, sent later, resubmitting the officials of two units.
    supplement = {}
    for code in (c[0], c[1]):
        supplement[(code, "officials")] = 30
        supplement[(code, "officials_with_computer_count")] = 30
        supplement[(code, "officials_with_signature_count")] = 27
    spec.figures[SUPPLEMENT_FILE] = supplement
    write_template(
        units.filter(pl.col("unit_code").is_in([c[0], c[1]])),
        catalogue,
        landing / SUPPLEMENT_FILE,
        province_name=province,
        period=period,
        figures=supplement,
    )

    # 3. The operator's 5G coverage, by unit name only, as a semicolon CSV with decimal commas.
    operator: dict[tuple[str, str], object] = {}
    lines = [
        "BÁO CÁO VÙNG PHỦ SÓNG 5G - VIETTEL;;;",
        f"Tỉnh/Thành phố: {province};;;",
        f"Kỳ báo cáo: {period};;;",
        ";;;",
        "Tên xã/phường;Dân số;Dân số được phủ sóng 5G;Tỷ lệ dân số được phủ sóng 5G (%)",
    ]
    for code in codes:
        population = rng.randint(4000, 40000)
        covered = int(population * rng.uniform(0.6, 1.0))
        share = round(covered / population * 100, 1)
        name = names[code]
        if name == OLD_NAME[1]:
            name = OLD_NAME[0]
        operator[(code, "population")] = population
        operator[(code, "population_5g")] = covered
        operator[(code, "pop_5g_coverage_pct")] = share
        if code == c[11]:  # the share written as 0–1 with no counts: flagged, not scaled
            operator[(code, "population")] = operator[(code, "population_5g")] = None
            operator[(code, "pop_5g_coverage_pct")] = 0.92
            lines.append(f"{name};;;0,92")
            spec.planted.append((OPERATOR_FILE, code, "pop_5g_coverage", "percent_as_share"))
            continue
        lines.append(
            f"{name};{population:,}".replace(",", ".")
            + f";{covered};"
            + f"{share}".replace(".", ",")
        )
    lines += [";;;", "Người lập biểu;;;TM. Giám đốc"]
    spec.figures[OPERATOR_FILE] = operator
    (landing / OPERATOR_FILE).write_bytes(("\ufeff" + "\r\n".join(lines) + "\r\n").encode())

    # The supplement is the latest word on its units; the operator file comes last.
    _fix_times(landing, spec.files)
    return spec


def _fix_times(landing: Path, files: list[str]) -> None:
    """Landing order is file time: fixed times, in `files` order, so reruns read identical files."""
    base = 1_780_000_000  # 2026-05-28
    for i, name in enumerate(files):
        os.utime(landing / name, (base + i * 3600, base + i * 3600))


def write_demo(home: Path, period: str = PERIOD) -> DemoSpec:
    """The whole demo under `home` ($DXLAKE_HOME): the report files, and the synthetic cell-site
    list (landing, last; it holds no report figures) and population grid (home/grids)."""
    check_period(period)  # before the first file: a bad period leaves nothing behind
    landing = Path(home) / "landing" / period
    spec = write_demo_landing(landing, period)
    spec.coverage = write_demo_coverage(home, period, PROVINCE)
    sites = spec.coverage.sites_file.name
    spec.files.append(sites)
    spec.figures[sites] = {}
    _fix_times(landing, spec.files)
    return spec
