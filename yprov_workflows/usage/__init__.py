"""Exact per-step usage from process boundaries (rusage via wait4, /proc IO counters)."""
