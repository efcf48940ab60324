"""Validate (silver): raw observations → validated_observations, quarantined_rows (with the rule)
and superseded_observations (replaced by a later file)."""
