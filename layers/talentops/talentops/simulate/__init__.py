"""Simulating a content change on recorded triggers (scripts/simulate.py, make simulate)."""
