"""Summaries of sampled gauges (RSS, utilisation, power): running sums, O(1) memory.

A gauge keeps min, max, last, count and the trapezoid integral over time; the time-weighted mean is
that integral divided by the time covered, so a value held for long weighs more than a short spike.
Samples are expected in time order (as a sampler takes them).
"""

from __future__ import annotations

import math


class Gauge:
    """Samples of one quantity (floats) with their times, summarised as they arrive."""

    def __init__(self, unit: str) -> None:
        self.unit = unit
        self._count = 0
        self._min = math.inf
        self._max = -math.inf
        self._sum = 0.0  # plain sum: the mean when every sample has the same time
        self._area = 0.0  # trapezoid integral over time
        self._first_t = 0.0
        self._last_t = 0.0
        self._last = 0.0

    def add(self, t: float, value: float | None) -> None:
        """One sample taken at time `t` (seconds); a None value is ignored."""
        if value is None:
            return
        if self._count:
            self._area += (t - self._last_t) * (self._last + value) / 2
        else:
            self._first_t = t
        self._count += 1
        self._min, self._max = min(self._min, value), max(self._max, value)
        self._sum += value
        self._last_t, self._last = t, value

    @property
    def count(self) -> int:
        return self._count

    def integral(self) -> float | None:
        """The trapezoid integral over time (power in W -> energy in J); None with < 2 samples."""
        return self._area if self._count >= 2 else None

    def summary(self) -> dict[str, float | int | None]:
        """min, time-weighted mean, max, last, count, interval_s; `{"count": 0}` when empty."""
        if not self._count:
            return {"count": 0}
        return {
            "min": self._min,
            "mean": self._mean(),
            "max": self._max,
            "last": self._last,
            "count": self._count,
            "interval_s": self._interval(),
        }

    def _mean(self) -> float:
        span = self._last_t - self._first_t
        return self._area / span if span > 0 else self._sum / self._count

    def _interval(self) -> float | None:
        """The mean time between samples."""
        if self._count < 2:
            return None
        return (self._last_t - self._first_t) / (self._count - 1)
