"""Benchmarks: run with ``python -m tests.benchmarks.bench_dispatch`` (docs/performance.md)."""
