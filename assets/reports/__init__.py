"""Reports: the planners' maps and gap tables, the auditors' quality report."""
