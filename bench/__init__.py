"""Benchmarks of sdn-shadow: each figure is measured beside a reference in the same run."""
