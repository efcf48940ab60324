"""Benchmark: GX validation of a national-size frame, the one-checkpoint validator against today's.

    .venv/bin/python benchmarks/validation.py [--rows 70000 600000] [--old REV] [--skip-old]

The case (synthetic, deterministic): the prepared frame `assets.validate.checks.validate` hands
the validator for a national run, `rows` observations over the 3,321 current units and the nine
catalogue indicators, ~3.5 % of them breaking one rule each (every rule planted, text cells with
Vietnamese names, controls and markup). For each size it prints, for the validator of this tree
and for the one at REV (default: the commit before the one-checkpoint validator): the seconds of
`failures(frame)` (the GX context built beforehand, as the asset does), the checkpoint runs, the
Data Docs folder's size, and whether both return the same failures. The last line:
`RESULT rows=<n> new_s=<s> new_docs_mb=<mb> old_s=<s> old_docs_mb=<mb> same=<bool>` per size.
"""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import polars as pl

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from assets.validate.checks import prepare  # noqa: E402
from geo.units import official_units  # noqa: E402
from schemas.catalogue import load_catalogue  # noqa: E402
from schemas.contracts import conform  # noqa: E402

PERIOD = "2026-H1"
OLD_REV = "ca66fa4"  # the validator with a checkpoint per indicator
SEED = 20
# rule planted → share of rows (each planted row breaks that rule only, as far as it can)
PLANTED = {
    "unit_unresolved": 0.004,
    "unknown_indicator": 0.002,
    "period_mismatch": 0.002,
    "not_a_number": 0.004,
    "missing_figure": 0.003,
    "negative_value": 0.002,
    "denominator_not_positive": 0.002,
    "numerator_exceeds_denominator": 0.004,
    "count_not_whole": 0.003,
    "value_out_of_range": 0.004,
    "stated_value_mismatch": 0.003,
    "conflicting_duplicate": 0.002,
}
HOSTILE = ("Xã ␛[31mĐỏ", "<script>alert(1)</script>", "Phường\x1b[5m Một", "Đặc khu <b>x</b>")


def raw_frame(rows: int, seed: int = SEED) -> pl.DataFrame:
    """`rows` raw observations (raw_reports' contract) of a national period."""
    rng = np.random.default_rng(seed)
    catalogue = load_catalogue()
    units = official_units()
    ids = [i.id for i in catalogue]
    ratio = {i.id: i.numerator is not None for i in catalogue}
    n = np.arange(rows)
    unit = units[n % units.height]
    indicator = np.array(ids)[(n // units.height + n) % len(ids)]
    has_ratio = np.array([ratio[i] for i in indicator])
    den = rng.integers(20, 5000, rows).astype(float)
    num = np.floor(den * rng.uniform(0.05, 1.0, rows))
    count = rng.integers(0, 40, rows).astype(float)  # villages without signal
    numerator = np.where(has_ratio, num, np.nan)
    denominator = np.where(has_ratio, den, np.nan)
    stated = np.where(has_ratio, np.nan, count)
    unit_code = unit["unit_code"].to_numpy().astype(object)
    reported = np.full(rows, PERIOD, dtype=object)
    parse_error = np.full(rows, None, dtype=object)
    numerator_raw = np.where(has_ratio, num, np.nan).astype(object)
    source_file = (unit["province_code"] + "/" + unit["unit_code"] + ".xlsx").to_numpy()
    source_file = source_file.astype(object) + np.char.mod("_%d", n // (units.height * 9))
    unit_name = unit["unit_name"].to_numpy().astype(object)
    # one rule per planted row, on rows of an indicator it applies to
    rule_of = np.full(rows, None, dtype=object)
    draw = rng.uniform(size=rows)
    edge = 0.0
    for rule, share in PLANTED.items():
        rule_of[(draw >= edge) & (draw < edge + share)] = rule
        edge += share
    ratio_rows = has_ratio
    for rule in PLANTED:
        at = rule_of == rule
        if rule in ("missing_figure", "denominator_not_positive", "numerator_exceeds_denominator",
                    "count_not_whole", "stated_value_mismatch"):  # fmt: skip
            at &= ratio_rows
        if rule == "value_out_of_range":
            at &= ~ratio_rows
        match rule:
            case "unit_unresolved":
                unit_code[at] = None
                unit_name[at] = rng.choice(HOSTILE, at.sum())
            case "unknown_indicator":
                indicator = np.where(at, "?chi tieu khong co", indicator)
            case "period_mismatch":
                reported[at] = "2025-H2"
            case "not_a_number":
                parse_error[at] = rng.choice(
                    ["một", "1␛[5m8", "<img src=x onerror=alert(1)>", "n/a"], at.sum()
                )
                stated[at] = np.nan
                numerator[at & ratio_rows] = np.nan
                denominator[at & ratio_rows] = np.nan
            case "missing_figure":
                denominator[at] = np.nan
            case "negative_value":
                numerator[at & ratio_rows] = -1
                stated[at & ~ratio_rows] = -3
            case "denominator_not_positive":
                numerator[at] = 0
                denominator[at] = 0
            case "numerator_exceeds_denominator":
                numerator[at] = denominator[at] + 7
            case "count_not_whole":
                denominator[at] = denominator[at] + 0.5
            case "value_out_of_range":
                stated[at] = 900
            case "stated_value_mismatch":
                stated[at] = 99.9
                numerator[at] = np.floor(denominator[at] / 3)
            case "conflicting_duplicate":
                pass  # below: the row is given twice in its file with another figure
    df = pl.DataFrame(
        {
            "obs_id": [f"h{i:07d}" for i in range(rows)],
            "period": PERIOD,
            "reported_period": reported.tolist(),
            "unit_code_raw": unit["unit_code"],
            "unit_name_raw": unit_name.tolist(),
            "province_raw": unit["province_name"],
            "unit_code": unit_code.tolist(),
            "match_kind": ["unknown" if u is None else "code" for u in unit_code],
            "match_candidates": None,
            "indicator_id": indicator.tolist(),
            "numerator_raw": [None if x != x else f"{x:g}" for x in numerator_raw],
            "denominator_raw": None,
            "value_raw": None,
            "numerator": numerator,
            "denominator": denominator,
            "value_stated": stated,
            "parse_error": parse_error.tolist(),
            "source_file": source_file.tolist(),
            "source_sheet": "Báo cáo",
            "source_row": n % 5000 + 8,
            "source_column": "E/F",
            "file_sha256": "0" * 64,
            "ingested_at": datetime(2026, 7, 15, tzinfo=UTC),
            "file_mtime": datetime(2026, 7, 1, tzinfo=UTC),
        },
        schema_overrides={
            c: pl.String for c in ("match_candidates", "denominator_raw", "value_raw")
        },
    ).with_columns(pl.col("numerator", "denominator", "value_stated").fill_nan(None))
    twins = df.filter(pl.Series(rule_of == "conflicting_duplicate"))
    twins = twins.with_columns(
        obs_id=pl.col("obs_id") + "b", value_stated=pl.col("value_stated") + 1
    )
    return conform(pl.concat([df, twins]).head(rows), "raw_reports")


def prepared_frame(rows: int):
    """The pandas frame the validator gets (assets.validate.checks.validate)."""
    return prepare(raw_frame(rows), load_catalogue()).to_pandas()


def _old_validator_class(rev: str, into: Path):
    """ObservationValidator as it was at `rev`, with that revision's data_docs beside it."""
    for name in ("expectations.py", "data_docs.py", "data_docs.css"):
        text = subprocess.run(
            ["git", "-C", str(REPO), "show", f"{rev}:schemas/{name}"],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        text = text.replace("from schemas.data_docs import", "from old_data_docs import")
        (into / ("old_" + name if name.endswith(".py") else name)).write_text(text)
    sys.path.insert(0, str(into))
    spec = importlib.util.spec_from_file_location("old_expectations", into / "old_expectations.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.ObservationValidator


def _size_mb(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 1e6


def measure(cls, frame, docs: Path, **kw) -> tuple[float, float, int, dict]:
    """(seconds of failures(), docs MB, checkpoint runs, failures) of one validator."""
    from great_expectations.checkpoint import Checkpoint

    validator = cls(load_catalogue(), PERIOD, docs_dir=docs, **kw)
    original, runs = Checkpoint.run, []

    def counted(self, *a, **kw):
        runs.append(self.name)
        return original(self, *a, **kw)

    Checkpoint.run = counted
    try:
        t0 = time.perf_counter()
        failures = validator.failures(frame)
        seconds = time.perf_counter() - t0
    finally:
        Checkpoint.run = original
    return seconds, _size_mb(docs), len(runs), failures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[70_000, 600_000])
    parser.add_argument("--old", default=OLD_REV, help="git revision of the old validator")
    parser.add_argument("--skip-old", action="store_true")
    args = parser.parse_args()

    from schemas.expectations import ObservationValidator

    results = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        old_cls = None if args.skip_old else _old_validator_class(args.old, tmp)
        for rows in args.rows:
            t0 = time.perf_counter()
            frame = prepared_frame(rows)
            print(f"rows={len(frame)} frame built in {time.perf_counter() - t0:.1f} s", flush=True)
            provinces = sorted(official_units()["province_code"].unique())
            new_s, new_mb, new_runs, new_f = measure(
                ObservationValidator, frame, tmp / f"new{rows}", provinces=provinces
            )
            bad = len(new_f)
            print(
                f"  new: failures() {new_s:.2f} s, {new_runs} checkpoint run(s), "
                f"docs {new_mb:.2f} MB, {bad} failing rows ({bad / len(frame):.1%})",
                flush=True,
            )
            old_s = old_mb = float("nan")
            same = None
            if old_cls is not None:
                old_s, old_mb, old_runs, old_f = measure(old_cls, frame, tmp / f"old{rows}")
                same = {k: sorted(v) for k, v in old_f.items()} == {
                    k: sorted(v) for k, v in new_f.items()
                }
                print(
                    f"  old: failures() {old_s:.2f} s, {old_runs} checkpoint run(s), "
                    f"docs {old_mb:.2f} MB; same failures: {same}",
                    flush=True,
                )
            results.append(
                f"RESULT rows={len(frame)} new_s={new_s:.2f} new_docs_mb={new_mb:.2f} "
                f"old_s={old_s:.2f} old_docs_mb={old_mb:.2f} same={same}"
            )
    for line in results:
        print(line)


if __name__ == "__main__":
    main()
