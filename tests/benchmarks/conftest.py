"""Benchmarks are run by hand (see docs/performance.md), never collected by pytest."""

collect_ignore_glob = ["*"]
