"""Benchmarks: scripts that print numbers. Not part of the pass/fail test suite."""
