"""Indicators (gold): indicator_values per unit against its target, and the ranked coverage_gaps."""
