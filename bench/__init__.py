"""Benchmarks: `make bench` runs every scenario module in this folder and prints one table.

A scenario module defines `run(bench: Bench) -> None` and measures with `bench.measure(...)`;
its first case is its baseline, and every later case is shown as a ratio of it, measured in the
same process and run, so that figures compare across machines.
"""
