"""Benchmark: a whole national half-year (2026-H1) through the real `dxlake run`, end to end.

    uv run python benchmarks/national.py [--provinces N] [--keep DIR] [--dask]

The landing (benchmarks/_landing.py, written once and cached under the temp dir): the 3,321
communes' templates of benchmarks/ingest.py, provincial compilations (.csv UTF-8 with BOM,
UTF-16 .txt, cp1258 .csv, .ods, .xls when LibreOffice is installed) with some pre-July-2025
unit names, operators' coverage files, the 60,000-site list of benchmarks/coverage.py as a CSV
with Vietnamese headers, resubmissions, and about 1 % of files that must be rejected; the
100 m national population grid of benchmarks/coverage.py goes to $DXLAKE_HOME/grids/.
The landing is copied into a fresh DXLAKE_HOME and DAGSTER_HOME (a temp dir, or --keep DIR),
DXLAKE_BOUNDARIES is the shared official boundaries (the grid was drawn from them), and:
- read_s: the reading alone (files to raw_reports and file_status), benchmarks/ingest.py's
  child on the same landing, imports not counted;
- e2e_s: `python -m orchestration.cli run --period 2026-H1` (what `dxlake run` runs), wall
  time of the process, startup and imports included;
- noop_s: the same command again, nothing changed;
- resubmit_s: again, after one commune's file is replaced by a corrected version (same name,
  other figures, later mtime).
Every run must exit 0 (else its stderr tail is printed and the benchmark exits 1). Each run's
Dagster runs are read back from the instance (each step's start to end, summed per job and
step) and printed, with the CLI's summary. peak_rss_mb: the largest, over the three runs, of
the CLI's process tree's summed PSS sampled every 0.25 s (its worker processes included) and
of the peak RSS of its largest single process (os.wait4's ru_maxrss, which also covers the
descendants it reaped); runs: the Dagster runs in the instance after the three commands.
--provinces N: the first N provinces only (their communes, sites, compilations), to develop.
--dask: instead, the first run twice on fresh homes, in process and with DXLAKE_EXECUTOR=dask
(a LocalCluster of 2 workers), and every lake table of the two compared (row order and the time
of reading aside); the last line is then
RESULT dask files=<n> in_process_s=<s> dask_s=<s> tables=<n> equal=<n> differ=<names>
in_process_peak_mb=<mb> dask_peak_mb=<mb> (with, for each run, every process's PSS at its peak)
Writing the landing takes 5-15 s here, once (plus, if missing, benchmarks/ingest.py's commune
set and benchmarks/coverage.py's grid and sites, about 30 s); the national run, minutes.
Goals (issue 20, this 2-core machine): e2e_s <= 15 x read_s, noop_s <= 5, resubmit_s <=
0.2 x e2e_s, peak memory under 3 GB, and never a non-zero exit on any landing content.
Last line: RESULT files=<n> e2e_s=<s> read_s=<s> noop_s=<s> resubmit_s=<s> peak_rss_mb=<mb>
runs=<dagster runs>
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks import _landing, ingest  # noqa: E402

PERIOD = _landing.PERIOD
CLI = [sys.executable, "-m", "orchestration.cli", "run", "--period", PERIOD]
BOUNDARIES = _landing.SHARED / "data" / "vn_communes_2025.parquet"
PASSED_ON = ("DXLAKE_EXECUTOR", "DXLAKE_DASK_ADDRESS")  # how to run, not what the lake is


@dataclass
class Run:
    seconds: float
    stdout: str
    peak_mb: float
    peak_tree_mb: float = 0.0
    at_peak: list[tuple[str, int]] = field(default_factory=list)
    peak_at: float = 0.0


# --------------------------------------------------------------------------------------------
# A fresh home
# --------------------------------------------------------------------------------------------


def _link(src: str | Path, dst: str | Path) -> None:
    """A hard link (the grid: 100 MB, stamped by size, time and inode, not ctime)."""
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def make_home(landing: _landing.Landing, home: Path) -> dict[str, str]:
    """Landing and grid into `home`; the environment of a run on it, nothing inherited that
    would point it at another lake. The landing is copied, not linked: a file's ctime is in
    the landing fingerprint, and another benchmark linking or unlinking the cached files
    (another home, another worktree) would change it mid-measure (a "no-op" then rereads)."""
    shutil.copytree(landing.folder, home / "landing" / PERIOD, copy_function=shutil.copy2)
    (home / "grids").mkdir()
    _link(landing.grid, home / "grids" / landing.grid.name)
    (home / ".dagster").mkdir()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DXLAKE_", "DAGSTER_")) or k in PASSED_ON
    }
    env.update(DXLAKE_HOME=str(home), DAGSTER_HOME=str(home / ".dagster"))
    if BOUNDARIES.is_file():
        env["DXLAKE_BOUNDARIES"] = str(BOUNDARIES)
    return env


def warm(folder: Path) -> None:
    """Every file read once, untimed: all timed steps then read from the page cache."""
    for path in folder.rglob("*"):
        if path.is_file():
            path.read_bytes()


def resubmit(landing: _landing.Landing, home: Path) -> None:
    """The corrected file over the original, as an upload lands: written beside, renamed."""
    target = home / "landing" / PERIOD / landing.corrected_rel
    beside = target.with_name(f".{target.name}.upload")
    shutil.copy2(landing.corrected, beside)  # its own, later mtime
    os.replace(beside, target)


# --------------------------------------------------------------------------------------------
# Timed steps
# --------------------------------------------------------------------------------------------


def read_alone(folder: Path, env: dict[str, str]) -> dict:
    """benchmarks/ingest.py's child: imports, then ingest_folder and Parquet, timed alone."""
    with tempfile.TemporaryDirectory() as out:
        cmd = [sys.executable, ingest.__file__, "--child", str(folder), out]
        proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        _fail("the ingest child", proc.returncode, proc.stderr)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def run_cli(env: dict[str, str], logs: Path, name: str) -> Run:
    """One `dxlake run`, timed, its memory watched; exits the benchmark if it fails."""
    out, err = logs / f"{name}.out", logs / f"{name}.err"
    with out.open("w") as stdout, err.open("w") as stderr:
        started = time.perf_counter()
        proc = subprocess.Popen(CLI, cwd=REPO, env=env, stdout=stdout, stderr=stderr)
        watch = TreeMemory(proc.pid)
        watch.start()
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - started
        watch.stop()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        _fail(f"dxlake run ({name})", proc.returncode, err.read_text(errors="replace"))
    peak = max(watch.peak / 2**20, usage.ru_maxrss / 1024)
    return Run(seconds, out.read_text(), peak, watch.peak / 2**20, watch.at_peak, watch.peak_at)


def _fail(what: str, code: int, stderr: str) -> None:
    tail = "\n".join(stderr.splitlines()[-40:])
    print(f"{what} exited {code}; the end of its stderr:\n{tail}", file=sys.stderr, flush=True)
    sys.exit(1)


class TreeMemory(threading.Thread):
    """The peak of a process tree's summed PSS (shared pages counted once), sampled; and at
    that moment, the PSS of each process by its role (`at_peak`), to tell what makes it."""

    def __init__(self, root: int, every: float = 0.25) -> None:
        super().__init__(daemon=True)
        self.root, self.every, self.peak = root, every, 0
        self.at_peak: list[tuple[str, int]] = []
        self.peak_at = 0.0  # when (epoch seconds)
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.wait(self.every):
            sizes = [(pid, _pss(pid)) for pid in _tree(self.root)]
            total = sum(size for _, size in sizes)
            if total > self.peak:
                self.peak, self.peak_at = total, time.time()
                self.at_peak = [(_role(pid), size) for pid, size in sizes if size]

    def stop(self) -> None:
        self._done.set()
        self.join()


def _tree(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat") as fh:
                    ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(name))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo += children.get(pid, [])
    return out


def _role(pid: int) -> str:
    """What a process of the run is: the CLI, a Dask nanny or worker, a pool's child..."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            argv = fh.read().decode(errors="replace").split("\0")
    except OSError:
        return f"{pid} (gone)"
    text = " ".join(argv)
    try:
        with open(f"/proc/{pid}/stat") as fh:
            pid = f"{pid}<{fh.read().rsplit(')', 1)[1].split()[1]}"  # pid<parent
    except (OSError, IndexError):
        pass
    for needle, role in (
        ("orchestration.cli", "cli"),
        ("orchestration.runner", "runner child"),
        ("spawn_main", "spawned child"),
        ("forkserver", "forkserver"),
        ("resource_tracker", "resource tracker"),
    ):
        if needle in text:
            return f"{pid} {role}"
    return f"{pid} {os.path.basename(argv[0])} {' '.join(argv[1:3])}"[:60]


def print_at_peak(run: Run, runs: list[dict]) -> None:
    """Each process's PSS when the tree peaked, largest first, and the steps running then."""
    steps = [f"{r['job']}.{key}" for r in runs for key, _, start, end in r["steps"]
             if start and start <= run.peak_at <= (end or run.peak_at)]  # fmt: skip
    print(f"  at the peak ({run.peak_tree_mb:.0f} MB summed PSS), steps running: "
          f"{', '.join(steps) or '-'}; by process:")  # fmt: skip
    for role, size in sorted(run.at_peak, key=lambda r: -r[1]):
        print(f"    {size / 2**20:>7.0f} MB  {role}")


def _pss(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as fh:
            for line in fh:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except OSError:  # gone, or a zombie
        pass
    return 0


# --------------------------------------------------------------------------------------------
# What the Dagster instance recorded
# --------------------------------------------------------------------------------------------


def probe_child() -> None:
    """In a child with DAGSTER_HOME set: the runs not in stdin's list, with step times."""
    import dagster as dg

    known = set(json.load(sys.stdin))
    instance = dg.DagsterInstance.get()
    runs = []
    for run in instance.get_runs(ascending=True):
        if run.run_id in known:
            continue
        stats = instance.get_run_stats(run.run_id)
        steps = [
            (s.step_key, (s.end_time or s.start_time or 0) - (s.start_time or 0), s.start_time,
             s.end_time)
            for s in instance.get_run_step_stats(run.run_id)
        ]  # fmt: skip
        runs.append(
            {
                "id": run.run_id,
                "job": run.job_name,
                "status": run.status.value,
                "wall": (stats.end_time or stats.start_time or 0) - (stats.start_time or 0),
                "steps": steps,
            }
        )
    print(json.dumps({"count": instance.get_runs_count(), "runs": runs}))


def probe(env: dict[str, str], known: set[str]) -> dict:
    proc = subprocess.run(
        [sys.executable, __file__, "--probe"],
        input=json.dumps(sorted(known)),
        cwd=REPO, env=env, capture_output=True, text=True,
    )  # fmt: skip
    if proc.returncode != 0:
        _fail("the instance probe", proc.returncode, proc.stderr)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def print_stages(title: str, runs: list[dict], seconds: float) -> None:
    """Per job and per step: count and seconds summed over the runs (largest first)."""
    jobs: dict[str, list[float]] = {}
    steps: dict[str, list[float]] = {}
    for run in runs:
        jobs.setdefault(run["job"], [0, 0.0])
        jobs[run["job"]][0] += 1
        jobs[run["job"]][1] += run["wall"]
        for key, secs, *_ in run["steps"]:
            steps.setdefault(key, [0, 0.0])
            steps[key][0] += 1
            steps[key][1] += secs
    in_runs = sum(run["wall"] for run in runs)
    failed = [r["id"] for r in runs if r["status"] != "SUCCESS"]
    print(f"{title}: {len(runs)} Dagster runs, {in_runs:.1f} s in runs, "
          f"{seconds - in_runs:.1f} s outside them (start, imports, planning, summary)"
          + (f"; not successful: {failed}" if failed else ""))  # fmt: skip
    width = max(map(len, [*steps, "step"])) + 2
    for label, table in (("job", jobs), ("step", steps)):
        print(f"  {label:<{width}}{'count':>6}{'total_s':>10}")
        for key, (count, secs) in sorted(table.items(), key=lambda kv: -kv[1][1]):
            print(f"  {key:<{width}}{count:>6}{secs:>10.2f}")


# --------------------------------------------------------------------------------------------


def check_rejects(summary: str, landing: _landing.Landing) -> None:
    """The planted rejects against the summary's `! file: reason` lines."""
    said = {line.strip()[2:].split(": ", 1)[0] for line in summary.splitlines()
            if line.strip().startswith("! ")}  # fmt: skip
    planted = set(landing.manifest["rejects"])
    print(f"planted rejects rejected: {len(planted & said)} of {len(planted)}"
          + (f"; NOT rejected: {sorted(planted - said)}" if planted - said else "")
          + (f"; also rejected: {sorted(said - planted)}" if said - planted else ""))  # fmt: skip


def counts_only(summary: str) -> str:
    """The summary without the rejected files, listed once (after the first run)."""
    return "\n".join(line for line in summary.rstrip().splitlines() if not line.startswith("  ! "))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--provinces", type=int, help="only the first N provinces")
    parser.add_argument("--keep", type=Path, help="run in DIR (new or empty) and keep it")
    parser.add_argument("--dask", action="store_true", help="compare a Dask run's lake with")
    args = parser.parse_args()
    if args.keep and args.keep.exists() and any(args.keep.iterdir()):
        parser.error(f"--keep {args.keep}: not empty")

    started = time.perf_counter()
    landing = _landing.ensure_landing(args.provinces)
    m = landing.manifest
    print(f"landing {landing.folder}: {m['files']} files of {len(m['provinces'])} provinces "
          f"{json.dumps(m['kinds'])}; written in {m['generation_s']} s "
          f"(this time: {time.perf_counter() - started:.1f} s)", flush=True)  # fmt: skip
    home = args.keep.resolve() if args.keep else Path(tempfile.mkdtemp(prefix="dxlake-national-"))
    home.mkdir(parents=True, exist_ok=True)
    try:
        compare_dask(landing, home) if args.dask else measure(landing, home)
    finally:
        if not args.keep:
            shutil.rmtree(home, ignore_errors=True)


def measure(landing: _landing.Landing, home: Path) -> None:
    env = make_home(landing, home)
    logs = home / "bench-logs"
    logs.mkdir()
    folder = home / "landing" / PERIOD
    warm(folder)
    read = read_alone(folder, env)
    print(f"read alone: {read['observations']} observations from {read['read']} files in "
          f"{read['wall_s']:.2f} s (imports {read['import_s']:.2f} s, not counted), "
          f"peak {read['rss_mb']:.0f} MB", flush=True)  # fmt: skip

    runs: dict[str, Run] = {}
    known: set[str] = set()
    for name in ("e2e", "noop", "resubmit"):
        if name == "resubmit":
            resubmit(landing, home)
        runs[name] = run = run_cli(env, logs, name)
        found = probe(env, known)
        known |= {r["id"] for r in found["runs"]}
        print(f"\n== {name}: {run.seconds:.1f} s, peak {run.peak_mb:.0f} MB", flush=True)
        print(run.stdout.rstrip() if name == "e2e" else counts_only(run.stdout))
        if name == "e2e":
            check_rejects(run.stdout, landing)
        print_stages(f"stages of {name}", found["runs"], run.seconds)

    e2e, noop, again = (runs[k].seconds for k in ("e2e", "noop", "resubmit"))
    peak = max(r.peak_mb for r in runs.values())
    print(f"\ngoals: e2e/read {e2e / read['wall_s']:.0f}x (<= 15), noop {noop:.1f} s (<= 5), "
          f"resubmit/e2e {again / e2e:.2f} (<= 0.2), peak {peak:.0f} MB (< 3072)")  # fmt: skip
    print(
        f"RESULT files={landing.manifest['files']} e2e_s={e2e:.1f} read_s={read['wall_s']:.2f} "
        f"noop_s={noop:.1f} resubmit_s={again:.1f} peak_rss_mb={peak:.0f} "
        f"runs={found['count']}",
        flush=True,
    )


# --------------------------------------------------------------------------------------------
# --dask: the same lake from a Dask run
# --------------------------------------------------------------------------------------------

# when a file was read, not what was read; and the landing copy's inode and ctime (each home's)
# When a file was read, and the stamps of where: its listing (inode, ctime) and the reading's
# settings, which name the home's input files (its grid): each home's own, not the data.
VOLATILE = ("ingested_at", "entry_stamp", "reading_stamp")


def lake_tables(lake: Path) -> dict[str, Path]:
    """Every Parquet file of a lake, by its path in the lake."""
    return {str(p.relative_to(lake)): p for p in sorted(lake.rglob("*.parquet"))}


def same_table(a: Path, b: Path, home_a: Path, home_b: Path) -> bool:
    """Equal content, in any row order, the volatile columns aside and each home's path read
    as "<home>" (computed_coverage names its grid); GeoParquet's geometry compared as WKB."""
    import polars as pl

    def read(path: Path, home: Path) -> pl.DataFrame:
        frame = pl.read_parquet(path).drop(VOLATILE, strict=False)
        text = [c for c, t in frame.schema.items() if t == pl.String]
        return frame.with_columns(pl.col(text).str.replace_all(str(home), "<home>", literal=True))

    x, y = read(a, home_a), read(b, home_b)
    if x.schema != y.schema or x.height != y.height:
        return False
    if x.equals(y):
        return True
    key = [c for c, t in x.schema.items() if not t.is_nested()]
    return x.sort(key, nulls_last=True).equals(y.sort(key, nulls_last=True))


def compare_dask(landing: _landing.Landing, home: Path) -> None:
    homes = {"in_process": home / "in_process", "dask": home / "dask"}
    seconds, peaks = {}, {}
    for executor, where in homes.items():
        where.mkdir()
        env = make_home(landing, where)
        env["DXLAKE_EXECUTOR"] = executor
        env.pop("DXLAKE_DASK_ADDRESS", None)  # a LocalCluster started for each run
        logs = where / "bench-logs"
        logs.mkdir()
        warm(where / "landing" / PERIOD)
        run = run_cli(env, logs, executor)
        seconds[executor], peaks[executor] = run.seconds, run.peak_mb
        found = probe(env, set())
        print(f"\n== {executor}: {run.seconds:.1f} s, peak {run.peak_mb:.0f} MB", flush=True)
        print_at_peak(run, found["runs"])
        print_stages(f"stages of {executor}", found["runs"], run.seconds)
    ours, theirs = (lake_tables(h / "lake") for h in homes.values())
    missing = sorted(set(ours) ^ set(theirs))
    both = sorted(set(ours) & set(theirs))
    differ = [k for k in both if not same_table(ours[k], theirs[k], *homes.values())]
    equal = len(both) - len(differ)
    print(f"\nlake tables: {len(ours)} in process, {len(theirs)} on Dask, {equal} equal"
          + (f"; only in one: {missing}" if missing else "")
          + (f"; differ: {differ}" if differ else ""))  # fmt: skip
    print(
        f"RESULT dask files={landing.manifest['files']} in_process_s={seconds['in_process']:.1f} "
        f"dask_s={seconds['dask']:.1f} tables={len(ours)} equal={equal} "
        f"differ={','.join(differ + missing) or '-'} in_process_peak_mb={peaks['in_process']:.0f} "
        f"dask_peak_mb={peaks['dask']:.0f}",
        flush=True,
    )


if __name__ == "__main__":
    if sys.argv[1:2] == ["--probe"]:
        probe_child()
    else:
        main()
