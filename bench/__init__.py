"""Benchmarks for SMART Pre-Visit, measured side by side with bare baselines in the same run.

Run `python -m bench` from the repository root; it prints a table and writes bench/results/latest.json.
These are measurements, not timed tests: nothing here fails a build.
"""
