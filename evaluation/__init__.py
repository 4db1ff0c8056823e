"""Scoring and load-driving code shared by the benchmarks (benchmarks/, which print figures) and the tests
that guard those figures; imports the product, never the tests or the benchmarks."""
