"""Ingest (bronze): landing files → raw_reports (an observation per source row × indicator) and
file_status (a row per file). Readers, header recognition and number parsing live here."""
