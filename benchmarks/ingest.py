"""Benchmark: ingest a national half-year (one template .xlsx per commune, 3,321 files).

Each commune returns its province's template (`dxlake template`: title block, one prefilled row
per unit of the province, signature lines, instructions sheet) with its own row filled in, as
the province sends it out; so a file holds 38 to 168 unit rows, of which one carries figures.

Times the product's whole ingest into raw_reports (catalogue loaded; gazetteer built, while the
workers read, as `dxlake run` builds it; every file read; header and unit matching; lineage;
raw_reports and file_status written as Parquet) in a child process, so its peak memory is its
own, against the baseline a data engineer writes first: pandas.read_excel with openpyxl, one
file after another, every sheet, reading only. Both run on the same files in the same run, read
from the page cache (warm). The set is written once with the project's template writer and
cached under the temp dir. Run: `uv run python benchmarks/ingest.py`.
Goal: speedup >= 10. Every workbook is checked (zip members inflated and counted, sheet XML
scanned by expat) and then read by calamine; reading is about 1 % of a national run.
Last line: RESULT files=3321 wall_s=<s> baseline_wall_s=<s> speedup=<x> peak_rss_mb=<mb>
"""

from __future__ import annotations

import json
import multiprocessing
import os
import resource
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

PERIOD = "2026-H1"
SET_DIR = Path(tempfile.gettempdir()) / "dxlake-bench-ingest" / "v2"
DONE = SET_DIR / ".complete"  # a dot file: the ingest ignores it, it marks a finished set


def _figures(i: int, code: str, field_ids: list[str]) -> dict[tuple[str, str], object]:
    """Plausible, varied figures for one commune: counts, a few decimals, some blanks."""
    out: dict[tuple[str, str], object] = {}
    for k, fid in enumerate(field_ids):
        if (i + k) % 11 == 0:
            continue  # the office left this cell empty
        value = 20 + (i * 7 + k * 13) % 900
        out[(code, fid)] = value + 0.5 if fid.startswith("budget") else value
    return out


def _write_chunk(rows: list[dict]) -> int:
    from assets.ingest.template import write_template
    from geo.units import official_units
    from schemas.catalogue import load_catalogue

    catalogue = load_catalogue()
    units = official_units()
    field_ids = list(catalogue.report_fields())
    for row in rows:
        province = units.filter(units["province_code"] == row["province_code"])
        write_template(
            province,
            catalogue,
            SET_DIR / row["province_code"] / f"{row['unit_code']}.xlsx",
            province_name=row["province_name"],
            period=PERIOD,
            figures=_figures(row["i"], row["unit_code"], field_ids),
        )
    return len(rows)


def national_set() -> list[Path]:
    """The cached set, written (on both cores) when missing."""
    if not DONE.exists():
        from geo.units import official_units

        units = official_units().sort("unit_code").with_row_index("i")
        rows = units.select("i", "unit_code", "province_code", "province_name").to_dicts()
        chunks = [rows[k : k + 100] for k in range(0, len(rows), 100)]
        started = time.perf_counter()
        spawn = multiprocessing.get_context("spawn")  # fork after polars started can hang
        with ProcessPoolExecutor(os.cpu_count() or 1, mp_context=spawn) as pool:
            written = sum(pool.map(_write_chunk, chunks))
        DONE.write_text(str(written))
        print(f"wrote {written} files in {time.perf_counter() - started:.1f} s to {SET_DIR}")
    return sorted(SET_DIR.rglob("*.xlsx"))


def baseline(files: list[Path]) -> float:
    import pandas as pd

    started = time.perf_counter()
    for path in files:
        pd.read_excel(path, sheet_name=None, header=None, engine="openpyxl")
    return time.perf_counter() - started


def product_child(folder: str, out: str) -> None:
    """In the child: load what a run loads, ingest, write Parquet; print timings as JSON."""
    started = time.perf_counter()
    from assets.ingest.landing import ingest_folder
    from geo.gazetteer import Gazetteer
    from schemas.catalogue import load_catalogue

    imported = time.perf_counter()
    raw, status = ingest_folder(Path(folder), PERIOD, load_catalogue(), Gazetteer.default)
    raw.write_parquet(Path(out) / "raw_reports.parquet")
    status.write_parquet(Path(out) / "file_status.parquet")
    done = time.perf_counter()
    # The child's own peak plus its pool workers' peak: a bound on the whole ingest's memory
    # (the parent's RUSAGE_CHILDREN would also count the processes that wrote the set).
    rss_kb = (
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        + resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    )
    print(
        json.dumps(
            {
                "import_s": imported - started,
                "wall_s": done - imported,
                "observations": raw.height,
                "read": int((status["status"] == "read").sum()),
                "rss_mb": rss_kb / 1024,
            }
        )
    )


def product(files: list[Path]) -> dict:
    with tempfile.TemporaryDirectory() as out:
        proc = subprocess.run(
            [sys.executable, __file__, "--child", str(SET_DIR), out],
            capture_output=True,
            text=True,
            check=True,
            cwd=REPO,
        )
        result = json.loads(proc.stdout.strip().splitlines()[-1])
    if result["read"] != len(files):
        raise SystemExit(f"only {result['read']} of {len(files)} files read: {result}")
    return result


def warm(files: list[Path]) -> None:
    """Read every file once, untimed, so that both timed runs read them from the page cache:
    the baseline, run second, always did; the product, run first, met a cold cache after the
    set was written or the machine dropped its cache."""
    for path in files:
        path.read_bytes()


def main() -> None:
    files = national_set()
    warm(files)
    result = product(files)
    print(
        f"product: {result['observations']} observations from {result['read']} files; "
        f"imports {result['import_s']:.2f} s (not counted), ingest {result['wall_s']:.2f} s"
    )
    base = baseline(files)
    print(f"baseline: pandas.read_excel(openpyxl) one file after another {base:.2f} s")
    print(
        f"RESULT files={len(files)} wall_s={result['wall_s']:.2f} baseline_wall_s={base:.2f} "
        f"speedup={base / result['wall_s']:.1f} peak_rss_mb={result['rss_mb']:.0f}"
    )


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        product_child(sys.argv[2], sys.argv[3])
    else:
        main()
