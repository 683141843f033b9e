"""Seasonal periods found from the data, with the user's period as a hint."""

from __future__ import annotations

import numpy as np

from sdn_shadow.forecast.period import detect_period


def _bursty_cycle(n: int, period: float, seed: int = 0) -> np.ndarray:
    """Log-normal demand on a sine of `period` steps, with 1000x bursts at random points."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    y = np.exp(3 + np.sin(2 * np.pi * t / period) + rng.normal(0, 0.3, n))
    y[rng.integers(0, n, 40)] *= 1000
    return y


def test_the_data_overrules_a_clock_that_claims_288_for_a_283_step_cycle() -> None:
    found = detect_period(_bursty_cycle(16_000, 283), hint=288)
    assert found.period == 283
    assert found.source == "data"
    assert "not the hint 288" in found.reason


def test_a_right_hint_is_confirmed() -> None:
    found = detect_period(_bursty_cycle(16_000, 288), hint=288)
    assert (found.period, found.source) == (288, "hint")
    assert "confirms" in found.reason


def test_without_a_hint_the_period_comes_from_the_data() -> None:
    found = detect_period(_bursty_cycle(8_000, 100, seed=3))
    assert (found.period, found.source) == (100, "data")


def test_a_day_and_a_week_are_both_found() -> None:
    rng = np.random.default_rng(1)
    t = np.arange(48 * 7 * 8)
    weekend = (t % 336) >= 240
    y = np.exp(3 + np.sin(2 * np.pi * t / 48) + 0.5 * weekend + rng.normal(0, 0.2, t.size))
    found = detect_period(y, hint=48)
    assert found.periods == (48, 336)
    assert found.source == "hint"


def test_noise_keeps_the_hint_and_says_it_is_unconfirmed() -> None:
    y = np.random.default_rng(2).normal(size=3000) + 10
    found = detect_period(y, hint=48)
    assert (found.period, found.source) == (48, "hint")
    assert "no clear cycle" in found.reason
    assert detect_period(y).source == "default"


def test_a_hint_longer_than_the_series_can_check_is_kept() -> None:
    found = detect_period(_bursty_cycle(500, 50), hint=400)
    assert (found.period, found.source) == (400, "hint")
    assert "too short" in found.reason


def test_a_linear_trend_makes_no_period() -> None:
    y = np.linspace(1, 1000, 5000)
    assert detect_period(y).source == "default"
