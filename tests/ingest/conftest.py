"""Ingest a landing folder the tests wrote, and judge it with the real validation suites."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from tests.ingest.forms import PERIOD

INGESTED_AT = datetime(2026, 7, 15, 8, 0, tzinfo=UTC)


@pytest.fixture(scope="session")
def validator(catalogue):
    from schemas.expectations import ObservationValidator

    return ObservationValidator(catalogue, PERIOD)


@pytest.fixture
def ingest(catalogue, gazetteer):
    """ingest(folder, **kw) → (raw_reports, file_status), read at a fixed time."""
    from assets.ingest.landing import ingest_folder

    def run(folder: Path, **kw) -> tuple[pl.DataFrame, pl.DataFrame]:
        return ingest_folder(folder, PERIOD, catalogue, gazetteer, ingested_at=INGESTED_AT, **kw)

    return run


@pytest.fixture
def judge(catalogue, validator):
    """judge(raw) → (accepted {(unit, indicator): value}, quarantined {(unit, indicator): rule},
    validated, quarantined, superseded frames)."""
    from assets.validate.checks import validate

    def run(raw: pl.DataFrame):
        validated, quarantined, superseded = validate(raw, catalogue, validator)
        accepted = {
            (r["unit_code"], r["indicator_id"]): r["value"] for r in validated.iter_rows(named=True)
        }
        rules = {
            (r["unit_code"], r["indicator_id"]): r["rule_id"]
            for r in quarantined.iter_rows(named=True)
        }
        return accepted, rules, validated, quarantined, superseded

    return run
