"""Reporting periods: a half-year, written YYYY-H1 or YYYY-H2 (the landing folder's name, a
partition key, part of every lake path). Checked before anything is read or written."""

from __future__ import annotations

import re

_PERIOD = re.compile(r"([0-9]{4})-H([12])", re.ASCII)  # fullmatch: no "\n", no Unicode digits


class PeriodError(ValueError):
    """A reporting period not written as YYYY-H1 or YYYY-H2."""


def check_period(period: str) -> str:
    if not isinstance(period, str) or not _PERIOD.fullmatch(period):
        raise PeriodError(
            f"kỳ báo cáo không hợp lệ / invalid period {period!r}: viết dạng / write as 2026-H1, 2026-H2"
        )
    return period


def previous_period(period: str) -> str:
    """'2026-H1' → '2025-H2'; '2026-H2' → '2026-H1'."""
    year, half = _PERIOD.fullmatch(check_period(period)).groups()
    return f"{year}-H1" if half == "2" else f"{int(year) - 1}-H2"
