"""The `dxlake` command: demo, run, template, dev.

`dxlake run` executes the same Dagster jobs as the UI, in process, recording the runs in the
instance under DAGSTER_HOME as runs of workspace.yaml's code location (so `dxlake dev` lists
them and draws them on its timeline), prints each run and step as it goes, then a short summary
read back from the lake.
"""

from __future__ import annotations

import argparse
import functools
import logging
import os
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported where used: `dxlake run` starts its child before anything heavy
    from orchestration.beside import Beside
    from schemas.settings import Settings

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
WORKSPACE = Path(__file__).resolve().parents[1] / "workspace.yaml"  # what `dxlake dev` loads


@functools.cache
def workspace_job_origin(job_name: str):
    """The origin `dxlake dev` gives `job_name`: workspace.yaml's code location, read by
    Dagster's own loader, and the Definitions' repository. The UI's timeline draws a run only
    under the job of a loaded location; a run without an origin is listed, never drawn."""
    from dagster._core.definitions.repository_definition.valid_definitions import (
        SINGLETON_REPOSITORY_NAME,
    )
    from dagster._core.remote_origin import RemoteRepositoryOrigin
    from dagster._core.workspace.load import location_origins_from_yaml_paths

    (location,) = location_origins_from_yaml_paths([str(WORKSPACE)])
    return RemoteRepositoryOrigin(location, SINGLETON_REPOSITORY_NAME).get_job_origin(job_name)


def as_workspace_runs(instance, created: Callable[[str], None] = lambda run_id: None):
    """Make the runs this instance creates carry the workspace's job origin, and tell
    `created` each new run's id.

    Runs executed in process (execute_in_process, execute_job) are created without one: they
    are recorded, listed by the UI, but never drawn on its timeline. Only this CLI's instance
    object is changed; the runs are otherwise Dagster's (re-executable from the UI too)."""
    create = instance.create_run_for_job

    def create_run_for_job(*args, **kwargs):
        job = kwargs["job_def"] if "job_def" in kwargs else args[0]
        if kwargs.get("remote_job_origin") is None:
            kwargs["remote_job_origin"] = workspace_job_origin(job.name)
        run = create(*args, **kwargs)
        created(run.run_id)
        return run

    instance.create_run_for_job = create_run_for_job
    return instance


def open_instance(attempts: int = 30):
    """The Dagster instance under DAGSTER_HOME. Opening a new instance creates its SQLite files,
    and two `dxlake run` started together would both create them (one then fails stamping the
    schema version): opening is serialised by a file lock. The files may also be locked for a
    moment by the UI or the daemon: wait, do not fail the run."""
    import fcntl
    import sqlite3

    import dagster as dg
    import sqlalchemy.exc

    from schemas.settings import Settings

    home = Settings.from_env().dagster_home
    with (home / ".dxlake-open.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released on close, or by the kernel if we die
        for attempt in range(attempts):
            try:
                return dg.DagsterInstance.get()
            except (sqlite3.OperationalError, sqlalchemy.exc.OperationalError) as exc:
                if "locked" not in str(exc) or attempt == attempts - 1:
                    raise
                time.sleep(0.5)


def early_child() -> Beside:
    """A child for the ingest, started first, before this process imports anything heavy
    (polars, Dagster): should the landing have changed, it imports Dagster, the assets and GX
    on the other core while this process plans and reads the snapshot (orchestration.beside);
    stopped when no ingest is needed."""
    from orchestration.beside import Beside, warm_for

    return Beside(warm_for("ingest_job"))


def run_period(settings: Settings, period: str, early: Beside | None = None) -> int:
    """Materialize admin_units and the period's graph; print the summary. Returns an exit code.
    `early`: the ingest's child (early_child), else one is started here."""
    from orchestration.beside import beside_possible
    from schemas.periods import check_period

    possible = beside_possible(settings)
    if early and not possible:
        early.close()
        early = None
    try:
        check_period(period)
        landing = settings.landing / period
        if not landing.is_dir():
            print(f"dxlake: không có thư mục / no landing folder {landing}", file=sys.stderr)
            return EXIT_USAGE
        if possible and not early:
            early = early_child()
        return _run_period(settings, period, early)
    finally:
        if early:
            early.close()


def _run_period(settings: Settings, period: str, early) -> int:
    import dagster as dg

    from orchestration.plan import PERIOD_TAG
    from orchestration.progress import RunProgress
    from orchestration.runner import materialize_period
    from orchestration.summary import summarise
    from schemas.display import visible_terminal

    visible_terminal()  # a file name or cell may carry escape sequences: never raw on a terminal
    settings.ensure_dagster_home()
    started = time.monotonic()
    progress = logging.getLogger("dxlake.progress")  # files read of total, rate (assets.ingest)
    if not progress.handlers:
        progress.setLevel(logging.INFO)
        progress.propagate = False
        progress.addHandler(logging.StreamHandler(sys.stderr))

    def waiting() -> None:
        print(
            f"dxlake: một lượt chạy khác của {period} đang chạy, đang chờ / another run of "
            f"{period} is in progress; waiting for it to finish",
            file=sys.stderr,
        )

    instance = open_instance()
    shown = RunProgress(instance, progress.info)  # each run and step as it goes
    as_workspace_runs(instance, created=shown.watch)
    with shown:
        results = materialize_period(
            settings,
            period,
            instance,
            log_level="WARNING",
            on_wait=waiting,
            beside_created=shown.watch,
            workspace_origin=True,
            early=early,
        )
    failed = [r for r in results if not r.success]  # runs side by side: not always the last
    if failed:
        bad = failed[0]
        print(f"dxlake: {bad.job_def.name} thất bại / failed (run {bad.run_id}):", file=sys.stderr)
        for event in [e for e in bad.all_events if e.is_failure][:5]:
            print(f"  {event.message}", file=sys.stderr)
        return EXIT_FAILED
    published = instance.get_runs(
        filters=dg.RunsFilter(job_name="publish_job", tags={PERIOD_TAG: period}), limit=1
    )
    run_id = published[0].run_id if published else "-"
    print(summarise(settings, period, time.monotonic() - started, run_id, changed=bool(results)))
    return EXIT_OK


def _demo(args: argparse.Namespace) -> int:
    early = early_child()  # it gets ready while the demo files are written
    from orchestration.demo import write_demo
    from schemas.settings import Settings

    settings = Settings.from_env()
    try:
        spec = write_demo(settings.home, args.period)
    except BaseException:
        early.close()
        raise
    print(
        f"dxlake demo: {len(spec.files)} tệp mẫu / demo files in {settings.landing / args.period}"
    )
    print(
        f"dxlake demo: lưới dân số giả lập / synthetic population grid {spec.coverage.grid}, "
        f"{spec.coverage.sites} trạm / cell sites",
        flush=True,  # before the run's progress on stderr
    )
    return run_period(settings, args.period, early)


def _run(args: argparse.Namespace) -> int:
    early = early_child()
    from schemas.settings import Settings

    return run_period(Settings.from_env(), args.period, early)


def _template(args: argparse.Namespace) -> int:
    import polars as pl

    from assets.ingest.template import write_template
    from geo.units import official_units
    from schemas.catalogue import load_catalogue

    code = args.province.zfill(2)
    units = official_units().filter(pl.col("province_code") == code)
    if units.is_empty():
        print(f"dxlake: mã tỉnh không có / unknown province code {args.province}", file=sys.stderr)
        return EXIT_USAGE
    out = write_template(
        units,
        load_catalogue(),
        Path(args.output),
        province_name=units["province_name"][0],
        period=args.period,
    )
    print(f"{out} ({units.height} đơn vị / units)")
    return EXIT_OK


def _dev(args: argparse.Namespace) -> int:
    from schemas.settings import Settings

    settings = Settings.from_env()
    settings.ensure_dagster_home()
    settings.export_home()  # the code server's lake, wherever we started
    cmd = ["dagster", "dev", "-w", str(WORKSPACE), "-h", args.host, "-p", str(args.port)]
    os.execvp(cmd[0], cmd)
    return EXIT_OK


def _period(text: str) -> str:
    """argparse's check of --period: ASCII YYYY-H1 or YYYY-H2 only, before anything is written."""
    from schemas.periods import PeriodError, check_period

    try:
        return check_period(text)
    except PeriodError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


class _Parser(argparse.ArgumentParser):
    """argparse's errors, Vietnamese first: "dxlake demo: lỗi / error: --period: kỳ báo cáo
    không hợp lệ / invalid period ...", exit 2, before any command runs."""

    def error(self, message: str):
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: lỗi / error: {message.removeprefix('argument ')}\n")


def hide_dagster_notes() -> None:
    """Dagster's notes that a feature we use is in preview or beta are for us, not for the
    data engineer's terminal (the features are pinned by tests/orchestration)."""
    warnings.filterwarnings("ignore", message=r".*is currently in (preview|beta)")


def main(argv: list[str] | None = None) -> int:
    hide_dagster_notes()
    parser = _Parser(prog="dxlake", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    p = sub.add_parser("demo", help="write Huế demo files for a period and run the flow")
    p.add_argument("--period", default="2026-H1", type=_period)
    p.set_defaults(func=_demo)
    p = sub.add_parser("run", help="run the flow for $DXLAKE_HOME/landing/<period>/")
    p.add_argument("--period", required=True, type=_period)
    p.set_defaults(func=_run)
    p = sub.add_parser("template", help="write the report template for a province")
    p.add_argument("--province", required=True, help="2-digit province code, e.g. 46")
    p.add_argument("--period", required=True, type=_period)
    p.add_argument("-o", "--output", required=True)
    p.set_defaults(func=_template)
    p = sub.add_parser("dev", help="start the Dagster UI on this lake (dagster dev)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=3000)
    p.set_defaults(func=_dev)
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except ValueError as exc:  # bad period, bad settings: a message, not a traceback
        print(f"dxlake: {exc}", file=sys.stderr)
        return EXIT_USAGE


def command() -> None:
    """`dxlake` and `python -m orchestration.cli`: main(), then the process exits without the
    interpreter's teardown: everything is written and closed by then, and freeing a national
    run's objects one by one kept the data engineer waiting a second more."""
    from orchestration.beside import exit_now

    exit_now(main())


if __name__ == "__main__":
    command()
