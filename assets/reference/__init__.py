"""Reference geography: admin_units (codes, names, geometry, remoteness), not partitioned."""
