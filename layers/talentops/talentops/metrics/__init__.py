"""Metric definitions as versioned data (templates/metrics.yaml), the event lake's record
shape, and each metric's query, written once (DuckDB's dialect) and transpiled for Athena."""
