"""Benchmarks: cold start, per-notification cost, memory, as ratios to baselines of the same run."""
