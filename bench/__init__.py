"""Benchmarks: pytest-benchmark suites (``bench_*.py``), the ratio table (``python -m bench``)
and the CI gate (``test_gate.py``). See ``README.md``."""
