"""Reporting periods (2026-H1, 2026-H2): a partition exists once files for it land."""

import dagster as dg

periods = dg.DynamicPartitionsDefinition(name="period")
