"""Conformal intervals: the radius rule, and coverage on synthetic series with known noise."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sdn_shadow.forecast import SlidingWindowForecaster
from sdn_shadow.forecast.backtest import BacktestSetup, run_backtest
from sdn_shadow.forecast.conformal import calibration_rows, conformal_quantile

PERIOD = 24
PHI, SIGMA = 0.7, 0.15  # AR(1) noise in log space


def _demand(n_series: int, n_time: int, seed: int) -> np.ndarray:
    """exp(level + daily shape + AR(1) noise): multiplicative noise of known size."""
    rng = np.random.default_rng(seed)
    t = np.arange(n_time)
    shape = 0.8 * np.sin(2 * np.pi * t / PERIOD) + 0.3 * np.cos(4 * np.pi * t / PERIOD)
    noise = np.empty((n_series, n_time))
    noise[:, 0] = rng.normal(scale=SIGMA / math.sqrt(1 - PHI**2), size=n_series)
    shocks = rng.normal(scale=SIGMA, size=(n_series, n_time))
    for i in range(1, n_time):
        noise[:, i] = PHI * noise[:, i - 1] + shocks[:, i]
    level = rng.uniform(3.0, 7.0, size=(n_series, 1))
    return np.exp(level + shape + noise)


def _true_radius(horizon: int, level: float) -> float:
    """Half-width, in log space, of the ideal interval: normal quantile x H-step error sd."""
    from statistics import NormalDist

    sd = SIGMA * math.sqrt(sum(PHI ** (2 * k) for k in range(horizon)))
    return NormalDist().inv_cdf(0.5 + level / 2) * sd


def test_radius_is_the_ceil_n_plus_1_level_th_smallest_error() -> None:
    errors = np.arange(1.0, 20.0)[None, :]  # n = 19
    assert conformal_quantile(errors, 0.9)[0] == 18.0  # ceil(20 * 0.9) = 18
    assert conformal_quantile(errors, 0.5)[0] == 10.0
    assert conformal_quantile(np.array([[1.0, 2.0, 3.0]]), 0.9)[0] == math.inf  # 4*0.9 > 3


def test_weights_count_as_repetitions() -> None:
    errors = np.array([[0.5, 2.0, 1.0, 4.0]])
    weights = np.array([[3.0, 1.0, 0.0, 6.0]])
    repeated = np.array([[0.5] * 3 + [2.0] + [4.0] * 6])
    for level in (0.2, 0.4, 0.6):
        assert conformal_quantile(errors, level, weights)[0] == conformal_quantile(repeated,
                                                                                 level)[0]


def test_calibration_rows() -> None:
    assert calibration_rows(1, 0.2) == 0
    assert calibration_rows(2, 0.2) == 1
    assert calibration_rows(1000, 0.2) == 200


@pytest.mark.parametrize("horizon", [1, 6])
@pytest.mark.parametrize("level", [0.8, 0.9])
def test_coverage_across_many_series_is_within_5_points_of_the_level(horizon, level) -> None:
    n_series, n_time = 2000, 24 * 30
    Y = _demand(n_series, n_time + horizon, seed=horizon)
    model = SlidingWindowForecaster(window=24, period=PERIOD, n_periods=3, horizon=horizon,
                                    level=level).fit_series(Y[:, :n_time])
    result = model.forecast(Y[:, :n_time])
    actual = Y[:, n_time - 1 + horizon]
    covered = np.mean((actual >= result.lower) & (actual <= result.upper))
    assert abs(covered - level) <= 0.05, covered
    # the learned radius is close to the ideal one for this known noise
    ratio = np.median(model.radius_) / _true_radius(horizon, level)
    assert 0.9 <= ratio <= 1.25, ratio


@pytest.mark.parametrize("horizon", [1, 12])
def test_backtest_coverage_on_a_long_series_is_within_5_points(horizon) -> None:
    y = _demand(1, 24 * 200, seed=10 + horizon)[0]
    report = run_backtest(y, BacktestSetup(horizon=horizon, period=PERIOD, refit_every=24))
    assert abs(report.scores["sliding_window"].coverage - 0.9) <= 0.05
