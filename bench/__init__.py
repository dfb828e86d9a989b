"""Benchmarks for SMART Pre-Visit, each measured beside its floor or rival in the same run.

Run `python -m bench` from the repository root; it prints a table and writes bench/results/latest.json.
These are measurements, not timed tests: nothing here fails a build.
"""
