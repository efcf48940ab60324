"""Benchmark: GX validation of a national-size frame, the one-checkpoint validator against the old.

    .venv/bin/python benchmarks/validation.py [--rows 70000 600000] [--old REV] [--skip-old]
                                              [--by-province-max 100000]

The case (synthetic, deterministic): the prepared frame `assets.validate.checks.validate` hands
the validator for a national run, `rows` observations over the 3,321 current units and the nine
catalogue indicators, ~2.7 % of them breaking a rule (every rule planted; text cells with
Vietnamese names, controls and markup). Per size it prints, for the validator of this tree (one
site for the national run) and the one at REV (default: the last commit before it; a checkpoint
per indicator): wall and CPU seconds of `failures(frame)` alone (the GX context is built
beforehand, as the asset does, and a first call on a small frame takes the process's one-off
imports and renders out of the timing), the checkpoint runs, the Data Docs folder's size and
whether both return the same failures. Up to --by-province-max rows the old validator also runs
as the asset ran it, a validator and a site per province. Wall times depend on the machine's load
(printed first); CPU seconds less so. The last lines:
`RESULT rows=<n> new_s=<s> new_cpu_s=<s> new_docs_mb=<mb> old_s=<s> old_cpu_s=<s> old_docs_mb=<mb>
same=<bool> [old_by_province_s=<s> old_by_province_docs_mb=<mb> same_by_province=<bool>]`.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
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


class _Counted:
    """Counts GX checkpoint runs while in use."""

    def __enter__(self):
        from great_expectations.checkpoint import Checkpoint

        self.runs, self.original = [], Checkpoint.run
        runs, original = self.runs, self.original

        def counted(checkpoint, *a, **kw):
            runs.append(checkpoint.name)
            return original(checkpoint, *a, **kw)

        Checkpoint.run = counted
        return self

    def __exit__(self, *exc):
        from great_expectations.checkpoint import Checkpoint

        Checkpoint.run = self.original


def measure(cls, frames: dict, docs: Path, **kw) -> dict:
    """failures() of one validator per frame (a site each under `docs`, named by its key):
    wall and CPU seconds of the failures() calls alone, docs MB, checkpoint runs, failures."""
    failures: dict = {}
    wall = cpu = 0.0
    with _Counted() as counted:
        for key, frame in frames.items():
            validator = cls(load_catalogue(), PERIOD, docs_dir=docs / key, **kw)
            w, c = time.perf_counter(), time.process_time()
            failures |= validator.failures(frame)
            wall += time.perf_counter() - w
            cpu += time.process_time() - c
    return {
        "s": wall,
        "cpu_s": cpu,
        "docs_mb": _size_mb(docs),
        "runs": len(counted.runs),
        "failures": failures,
    }


def _by_province(frame) -> dict:
    """The national frame cut as the asset cut it before: one partition per province."""
    codes = official_units().select("unit_code", "province_code")
    province = dict(codes.iter_rows())
    key = frame["unit_code"].map(province).fillna("??")  # unresolved rows: a partition apart
    return {p: part for p, part in frame.groupby(key, sort=True)}


def _line(name: str, m: dict, rows: int) -> str:
    bad = len(m["failures"])
    return (
        f"  {name}: failures() {m['s']:.2f} s (CPU {m['cpu_s']:.2f} s), {m['runs']} checkpoint "
        f"run(s), docs {m['docs_mb']:.2f} MB, {bad} failing rows ({bad / rows:.1%})"
    )


def _same(a: dict, b: dict) -> bool:
    return {k: sorted(v) for k, v in a.items()} == {k: sorted(v) for k, v in b.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[70_000, 600_000])
    parser.add_argument("--old", default=OLD_REV, help="git revision of the old validator")
    parser.add_argument("--skip-old", action="store_true")
    parser.add_argument(
        "--by-province-max",
        type=int,
        default=100_000,
        help="also run the old validator as the asset did, a site per province, up to this size",
    )
    args = parser.parse_args()

    from schemas.expectations import ObservationValidator

    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs", flush=True)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        old_cls = None if args.skip_old else _old_validator_class(args.old, tmp)
        warm = prepared_frame(2_000)  # the imports and first renders GX makes once per process
        for name, cls in (("new", ObservationValidator), ("old", old_cls)):
            if cls is not None:
                m = measure(cls, {"national": warm}, tmp / f"warm-{name}")
                print(f"warm-up {name} (first call in the process): {m['s']:.2f} s", flush=True)
        for rows in args.rows:
            t0 = time.perf_counter()
            frame = prepared_frame(rows)
            print(f"rows={len(frame)} frame built in {time.perf_counter() - t0:.1f} s", flush=True)
            provinces = sorted(official_units()["province_code"].unique())
            new = measure(
                ObservationValidator,
                {"national": frame},
                tmp / f"new{rows}",
                provinces=provinces,
            )
            print(_line("new, one national site", new, len(frame)), flush=True)
            figures = f"RESULT rows={len(frame)} new_s={new['s']:.2f} new_cpu_s={new['cpu_s']:.2f}"
            figures += f" new_docs_mb={new['docs_mb']:.2f}"
            if old_cls is not None:
                old = measure(old_cls, {"national": frame}, tmp / f"old{rows}")
                same = _same(old["failures"], new["failures"])
                print(_line("old, one national site", old, len(frame)) + f"; same: {same}")
                figures += (
                    f" old_s={old['s']:.2f} old_cpu_s={old['cpu_s']:.2f}"
                    f" old_docs_mb={old['docs_mb']:.2f} same={same}"
                )
                if rows <= args.by_province_max:
                    parts = _by_province(frame)
                    by = measure(old_cls, parts, tmp / f"old-by-province{rows}")
                    same = _same(by["failures"], new["failures"])
                    print(_line(f"old, a site per province ({len(parts)})", by, len(frame)))
                    figures += (
                        f" old_by_province_s={by['s']:.2f} old_by_province_docs_mb="
                        f"{by['docs_mb']:.2f} same_by_province={same}"
                    )
            results.append(figures)
    for line in results:
        print(line)


if __name__ == "__main__":
    main()
