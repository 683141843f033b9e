"""MAPE fitted directly: weighted L1 by IRLS, point="mape_calendar", and its choice per series."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import linprog

from sdn_shadow.forecast import SlidingWindowForecaster, lag_matrix, metrics
from sdn_shadow.forecast.backtest import BacktestSetup, first_test_index, fit_setup
from sdn_shadow.forecast.calendar import calendar_terms
from sdn_shadow.forecast.mape_fit import FLOOR, mape_weights, weighted_l1
from sdn_shadow.forecast.selection import CANDIDATES, choose

PERIOD = 24


def _bursty(n: int, seed: int = 0) -> np.ndarray:
    """Bursts between ~4 and ~130, small values far more often at night than by day."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    night = np.cos(2 * np.pi * t / PERIOD) > 0
    low = rng.uniform(size=n) < np.where(night, 0.3, 0.03)
    return np.where(low, rng.uniform(2, 8, n), rng.lognormal(4.0, 0.6, n)).round() + 1


def _lp_l1(design: np.ndarray, target: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Exact minimiser of sum w |target - design b| as a linear programme (the reference)."""
    n, p = design.shape
    cost = np.r_[np.zeros(p), weights, weights]
    equality = np.hstack([design, np.eye(n), -np.eye(n)])
    bounds = [(None, None)] * p + [(0, None)] * (2 * n)
    return linprog(cost, A_eq=equality, b_eq=target, bounds=bounds, method="highs").x[:p]


def _loss(design: np.ndarray, target: np.ndarray, weights: np.ndarray, coef: np.ndarray) -> float:
    return float(np.sum(weights * np.abs(target - design @ coef)))


def test_weighted_l1_reaches_the_linear_programme_optimum_for_every_series() -> None:
    t = np.arange(300)
    design = np.column_stack([np.ones(t.size), calendar_terms(t, PERIOD, 2, 0)])
    targets = np.stack([_bursty(t.size, seed) for seed in range(3)])
    weights = mape_weights(targets)
    batched = weighted_l1(np.broadcast_to(design, (3, *design.shape)), targets, weights)
    for s in range(3):
        best = _loss(design, targets[s], weights[s], _lp_l1(design, targets[s], weights[s]))
        # the floor on the weighted residuals costs at most n * FLOOR / 2 of loss
        assert _loss(design, targets[s], weights[s], batched[s]) <= best + t.size * FLOOR / 2
        alone = weighted_l1(design[None], targets[s][None], weights[s][None])[0]
        assert np.allclose(alone, batched[s])  # series do not affect each other


def test_an_intercept_alone_is_the_weighted_median() -> None:
    target = np.array([1.0, 2.0, 4.0, 50.0, 100.0])
    coef = weighted_l1(np.ones((1, 5, 1)), target[None], mape_weights(target)[None])[0]
    # weights 1/y: 1, 1/2, ... half the total weight (1.78) is reached at y = 1
    assert coef[0] == pytest.approx(1.0, abs=1e-3)


def test_zero_targets_get_no_weight() -> None:
    assert mape_weights(np.array([0.0, 2.0, -4.0])).tolist() == [0.0, 0.5, 0.25]
    assert mape_weights(np.array([2.0]), np.array([3.0])).tolist() == [1.5]


def _fitted(y: np.ndarray, point: str, train: np.ndarray) -> SlidingWindowForecaster:
    model = SlidingWindowForecaster(window=4, period=PERIOD, n_periods=1, horizon=6,
                                    daily_terms=2, point=point)
    return model.fit(lag_matrix(y, model.lag_spec().lags, train), y[train], phase=train)


def test_the_mape_fit_beats_the_median_and_the_mape_shift_on_a_bursty_series() -> None:
    y = _bursty(PERIOD * 60, seed=4)
    lags = SlidingWindowForecaster(window=4, period=PERIOD, n_periods=1, horizon=6).lag_spec().lags
    train, test = np.arange(int(lags[-1]), PERIOD * 45), np.arange(PERIOD * 45, y.size)
    rows = lag_matrix(y, lags, test)
    error = {point: metrics.mape(y[test], _fitted(y, point, train).predict(rows, test))
             for point in ("median", "mape", "mape_calendar")}
    assert error["mape_calendar"] < 0.95 * error["mape"] < 0.95 * error["median"]
    # and beats least squares on the same terms (the L2 fit of the same profile)
    design = np.column_stack([np.ones(train.size), calendar_terms(train, PERIOD, 2, 0)])
    l2 = np.linalg.lstsq(design, y[train], rcond=None)[0]
    guess = np.column_stack([np.ones(test.size), calendar_terms(test, PERIOD, 2, 0)]) @ l2
    assert error["mape_calendar"] < 0.8 * metrics.mape(y[test], guess)


def test_the_mape_calendar_point_leaves_the_interval_of_the_median_fit() -> None:
    y = _bursty(PERIOD * 30, seed=5)
    train = np.arange(PERIOD + 6, y.size - PERIOD)
    test = np.arange(y.size - PERIOD, y.size)
    median, profile = _fitted(y, "median", train), _fitted(y, "mape_calendar", train)
    rows = lag_matrix(y, median.lag_spec().lags, test)
    for a, b in zip(median.predict_interval(rows, test), profile.predict_interval(rows, test),
                    strict=True):
        assert np.array_equal(a, b)
    assert profile.point_coef_.shape == (5,) and median.point_coef_.size == 0
    terms = calendar_terms(test, PERIOD, 2, 0)
    assert np.allclose(profile.predict(rows, test),
                       profile.point_coef_[0] + terms @ profile.point_coef_[1:])
    with pytest.raises(ValueError, match="mape_calendar"):
        SlidingWindowForecaster(point="mape_calendar").fit_series(y[None, :])


def test_selection_picks_the_mape_fit_where_it_helps_and_reads_no_test_point() -> None:
    y = _bursty(PERIOD * 70, seed=6)
    setup = fit_setup(y.size, BacktestSetup(horizon=6, period=PERIOD, window=8, point="mape",
                                            huber=1.345, select=True))
    start = first_test_index(y.size, setup.train_fraction)
    changed = y.copy()
    changed[start:] = changed[start:][::-1] * 3.0
    first, second = choose(y, setup, start), choose(changed, setup, start)
    assert first == second
    assert first.changes.get("point") == "mape_calendar"
    assert len(first.scores) == len(CANDIDATES)


def test_a_median_point_is_never_swapped_for_a_mape_one() -> None:
    y = _bursty(PERIOD * 70, seed=6)
    setup = fit_setup(y.size, BacktestSetup(horizon=6, period=PERIOD, window=8, select=True))
    choice = choose(y, setup, first_test_index(y.size, setup.train_fraction))
    assert all("point" not in change for change, _ in choice.scores)
    assert len(choice.scores) == sum("point" not in change for change in CANDIDATES)
