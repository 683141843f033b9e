"""Live recalibration of the controller's intervals: a round at a time it gives the
backtest's `adaptive_scale` factors, and driven through the forecast round it brings the
live coverage back to the level when the errors outgrow those the model was fitted on."""

from __future__ import annotations

import re

import numpy as np
import pytest

from sdn_shadow.forecast import live_calibration
from sdn_shadow.forecast.conformal import RECALIBRATION_MIN, adaptive_scale
from sdn_shadow.forecast.live_calibration import Calibration, resolve, widen
from sdn_shadow.forecast.model import SlidingWindowForecaster
from sdn_shadow.forecast.round import ForecastJob

LEVEL = 0.9


def errors(n: int, seed: int = 3) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Actuals, centers and radii whose errors triple halfway (the radius stays)."""
    rng = np.random.default_rng(seed)
    center = rng.normal(10.0, 1.0, n)
    radius = np.full(n, 1.0)
    spread = np.where(np.arange(n) < n // 2, 0.6, 1.8)
    return center + spread * rng.standard_normal(n), center, radius


@pytest.mark.parametrize("delay", [1, 3])
def test_a_round_at_a_time_gives_the_backtests_factors(delay: int) -> None:
    actual, center, radius = errors(700)
    cal = Calibration(LEVEL)
    factors = []
    for i in range(actual.size):
        # forecast j is of actual[j], known `delay` steps after it is made
        cal = resolve(cal, float(i), lambda due, rows: actual[[int(due) - delay]][rows * 0])
        cal, widened = widen(cal, ["s"], center[i:i + 1], radius[i:i + 1], float(i),
                             float(i + delay))
        factors.append(widened[0] / radius[i])
    expected = adaptive_scale(actual, center, radius, LEVEL, delay)
    np.testing.assert_allclose(factors, expected)
    assert expected[-1] > 1.5, "the tripled errors widen the interval"


def test_outcomes_are_read_from_the_column_a_horizon_after_the_forecast() -> None:
    history = np.arange(20.0).reshape(2, 10)  # two series, newest point last, one a second
    cal, lower, upper = live_calibration.recalibrate(
        None, LEVEL, ["b", "a"], np.array([1.0, 1.0]), np.array([3.0, 5.0]), False,
        history, ["a", "b"], now=100.0, step=1.0, horizon=2)
    assert cal.pending[0].due == 102.0
    np.testing.assert_array_equal(np.c_[lower, upper], [[1.0, 3.0], [1.0, 5.0]])
    later = history + 100.0  # at 103 the outcome of 102 is the next-to-last column
    cal, _, _ = live_calibration.recalibrate(
        cal, LEVEL, [], np.zeros(0), np.zeros(0), False, later, ["a", "b"], now=103.0,
        step=1.0, horizon=2)
    b, a = cal.index["b"], cal.index["a"]
    assert cal.scores[b, 0] == pytest.approx(abs(118.0 - 2.0) / 1.0)
    assert cal.scores[a, 0] == pytest.approx(abs(108.0 - 3.0) / 2.0)
    assert cal.pushed.tolist() == [1, 1] and not cal.pending


def test_a_calibration_of_another_level_starts_again() -> None:
    cal = Calibration(0.8, keys=("a",), scores=np.ones((1, 500)), pushed=np.array([500]),
                      target=np.array([0.8]))
    again, _, _ = live_calibration.recalibrate(
        cal, LEVEL, ["a"], np.ones(1), np.full(1, 2.0), False, np.ones((1, 4)), ["a"],
        now=0.0, step=1.0, horizon=1)
    assert again.level == LEVEL and again.pushed.tolist() == [0]
    full = Calibration(LEVEL, keys=("a",), scores=np.full((1, 500), 2.0),
                       pushed=np.array([500]), target=np.array([LEVEL]))
    full, widened = widen(full, ["a"], np.zeros(1), np.ones(1), 0.0, 1.0)
    assert widened.tolist() == [2.0] and full.of("a") == {
        "interval_factor": 2.0, "live_scores": 500, "adapted_level": LEVEL}


def demand(n_series: int, n_time: int, calm: int, seed: int = 5) -> np.ndarray:
    """A daily cycle of 24 steps with noise that grows fourfold after `calm` steps."""
    rng = np.random.default_rng(seed)
    t = np.arange(n_time)
    noise = np.where(t < calm, 0.05, 0.2)
    level = rng.uniform(1e4, 1e5, (n_series, 1))
    return level * (2 + np.sin(2 * np.pi * t / 24)) * np.exp(
        noise * rng.standard_normal((n_series, n_time)))


def coverage(rounds: int, keep: bool) -> float:
    """Live coverage of the last rounds of a controller whose model was fitted on calm
    data, its calibration kept round to round (or not)."""
    calm, depth = 200, 120
    Y = demand(8, calm + rounds + 1, calm)
    keys = [f"client:n:h{i}:tx" for i in range(8)]
    forecaster = SlidingWindowForecaster(window=4, period=24, n_periods=2, horizon=1,
                                         level=LEVEL)
    fitted = ForecastJob(forecaster, 80, 4.0, None, depth=depth).run(
        keys, Y[:, calm - depth:calm], float(calm - 1))
    hits = []
    for t in range(calm, calm + rounds):
        job = ForecastJob(forecaster, 80, 4.0, fitted.prior, fitted.models, refit=1e9,
                          periods=fitted.periods, depth=depth,
                          calibration=fitted.calibration if keep else None)
        fitted = job.run(keys, Y[:, t - depth + 1:t + 1], float(t))
        if t >= calm + rounds - 300:
            hits += [f.lower <= Y[i, t + 1] <= f.upper
                     for i, f in enumerate(fitted.forecasts[k] for k in keys)]
    return float(np.mean(hits))


def test_recalibration_brings_live_coverage_back_to_the_level() -> None:
    rounds = RECALIBRATION_MIN + 500
    fixed, live = coverage(rounds, keep=False), coverage(rounds, keep=True)
    assert fixed < 0.7, "the fitted intervals are too narrow for the new errors"
    assert live > 0.85, f"recalibrated coverage {live:.3f}, fixed {fixed:.3f}"


def _calibrated(n_rounds: int = 250) -> Calibration:
    """Two series, one young: a calibration with full rows, partial rows and pending."""
    actual, center, radius = errors(n_rounds)
    cal = Calibration(LEVEL)
    for i in range(n_rounds):
        cal = resolve(cal, float(i), lambda due, rows: actual[[int(due) - 1]][rows * 0])
        keys = ["old", "young"] if i >= n_rounds - 30 else ["old"]
        cal, _ = widen(cal, keys, np.repeat(center[i], len(keys)),
                       np.repeat(radius[i], len(keys)), float(i), float(i + 1))
    return cal


def test_a_kept_state_gives_back_the_same_factors() -> None:
    from sdn_shadow.forecast.live_calibration import from_state, state_arrays

    cal = _calibrated()
    arrays = state_arrays(cal)
    assert arrays["scores"].shape == (2, 249)  # the columns no series has filled are left
    back = from_state(cal.level, cal.keys, arrays)
    rows = np.arange(2)
    assert back.pending == () and cal.pending
    np.testing.assert_array_equal(back.factors(rows), cal.factors(rows))
    assert back.factors(rows)[0] > 1.5 and back.factors(rows)[1] == 1.0
    assert back.of("old") == cal.of("old") and back.of("young") == cal.of("young")
    empty = from_state(LEVEL, (), state_arrays(Calibration(LEVEL)))
    assert empty.keys == () and empty.factors(np.zeros(0, np.intp)).size == 0


@pytest.mark.parametrize("change,message", [
    ({"level": 1.0}, "level"),
    ({"keys": ("old", "old")}, "keys repeat"),
    ({"drop": "applied"}, "arrays"),
    ({"pushed": np.array([1.5, 2.0])}, "pushed: dtype float64 is not whole numbers"),
    ({"pushed": np.array([-1, 0])}, "a count is negative"),
    ({"target": np.array([np.nan, 0.9])}, "not finite"),
    ({"target": np.zeros(3)}, "target: shape (3,), expected (2,)"),
    ({"scores": np.zeros((2, 501))}, "scores: shape (2, 501)"),
    ({"scores": np.zeros((2, 10))}, "does not hold 249 scores"),
    ({"scores": np.full((2, 249), -1.0)}, "not as many finite scores"),
    ({"scores": np.full((2, 249), np.inf)}, "not as many finite scores"),
    ({"scores": np.full((2, 249), np.nan)}, "not as many finite scores"),
])
def test_a_kept_state_that_does_not_fit_is_refused(change, message) -> None:
    from sdn_shadow.forecast.live_calibration import from_state, state_arrays

    cal = _calibrated()
    arrays = dict(state_arrays(cal))
    arrays.pop(change.pop("drop", ""), None)
    level, keys = change.pop("level", cal.level), change.pop("keys", cal.keys)
    arrays.update(change)
    with pytest.raises(ValueError, match=re.escape(message)):
        from_state(level, keys, arrays)


def test_switches_between_idle_and_busy_do_not_pin_an_on_off_series_wide() -> None:
    # a client that sends ~1 MB/s for 60 s, then nothing for 20 s, again and again; the
    # forecast is the mean of the last 8 points in log space, radius 0.3, a round a second
    rng = np.random.default_rng(5)
    on = (np.arange(1200) % 80) < 60
    rate = np.where(on, 1e6 * np.exp(0.1 * rng.standard_normal(on.size)), 0.0)
    logged = np.log1p(rate)
    center = np.array([logged[max(0, t - 8):t].mean() for t in range(1, rate.size)])
    cal, factors = None, []
    for t in range(1, rate.size):
        c = center[t - 1]
        cal, low, high = live_calibration.recalibrate(
            cal, LEVEL, ["c"], np.expm1([c - 0.3]), np.expm1([c + 0.3]), True, rate[None, :t],
            ["c"], now=float(t), step=1.0, horizon=1, recent=8)
        if on[t - 8:t].all() and t > 600:
            factors.append((np.log1p(high[0]) - np.log1p(low[0])) / 0.6)
    # busy, the errors are a third of the radius: the interval never widens
    assert factors and max(factors) <= 1.0
    # scored as the backtest scores everything, the switches set the factor
    scale = adaptive_scale(logged[1:], center, np.full(center.size, 0.3), LEVEL, 1)
    assert np.median(scale[600:]) > 10.0
