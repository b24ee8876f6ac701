"""Gauge: summaries of sampled values with exact numbers on hand-made samples."""

from __future__ import annotations

import pytest

from yprov_workflows.usage.gauges import Gauge


def test_time_weighted_mean_differs_from_the_arithmetic_mean() -> None:
    gauge = Gauge("bytes")
    for t, value in [(0.0, 10.0), (1.0, 10.0), (9.0, 10.0), (10.0, 110.0)]:
        gauge.add(t, value)
    # Trapezoids: 10 + 80 + 60 = 150 over 10 s; the arithmetic mean would be 35.
    assert gauge.summary() == {
        "min": 10.0,
        "mean": 15.0,
        "max": 110.0,
        "last": 110.0,
        "count": 4,
        "interval_s": pytest.approx(10 / 3),
    }
    assert gauge.integral() == 150.0
    assert gauge.unit == "bytes"


def test_integral_of_constant_power_is_energy() -> None:
    gauge = Gauge("W")
    for t in range(11):
        gauge.add(100.0 + t, 200.0)
    assert gauge.integral() == 2000.0
    assert gauge.summary()["mean"] == 200.0
    assert gauge.summary()["interval_s"] == 1.0


def test_none_values_are_ignored() -> None:
    gauge = Gauge("%")
    gauge.add(0.0, None)
    gauge.add(1.0, 50.0)
    gauge.add(2.0, None)
    gauge.add(3.0, 0.0)
    gauge.add(4.0, None)
    assert gauge.count == 2
    assert gauge.integral() == 50.0
    assert gauge.summary() == {
        "min": 0.0,
        "mean": 25.0,
        "max": 50.0,
        "last": 0.0,
        "count": 2,
        "interval_s": 2.0,
    }


def test_empty_gauge() -> None:
    gauge = Gauge("W")
    gauge.add(1.0, None)
    assert gauge.summary() == {"count": 0}
    assert gauge.count == 0
    assert gauge.integral() is None


def test_one_sample_is_its_own_mean() -> None:
    gauge = Gauge("W")
    gauge.add(5.0, -3.5)
    assert gauge.summary() == {
        "min": -3.5,
        "mean": -3.5,
        "max": -3.5,
        "last": -3.5,
        "count": 1,
        "interval_s": None,
    }
    assert gauge.integral() is None


def test_samples_at_one_instant_average_plainly() -> None:
    gauge = Gauge("W")
    gauge.add(2.0, 1.0)
    gauge.add(2.0, 4.0)
    assert gauge.summary()["mean"] == 2.5
    assert gauge.integral() == 0.0
    assert gauge.summary()["interval_s"] == 0.0


def test_no_sample_list_is_kept() -> None:
    gauge = Gauge("W")
    for t in range(1000):
        gauge.add(float(t), float(t % 7))
    assert all(not isinstance(value, list) for value in vars(gauge).values())
