"""Benchmarks: `python -m bench` (make bench). See docs/performance.md."""
