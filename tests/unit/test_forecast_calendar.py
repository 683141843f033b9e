"""Calendar terms: the Fourier columns, the model's use of them, and the per-series choice."""

from __future__ import annotations

import numpy as np
import pytest

from sdn_shadow.forecast import SlidingWindowForecaster, lag_matrix
from sdn_shadow.forecast.backtest import (
    BacktestSetup,
    first_test_index,
    fit_setup,
    rolling_forecasts,
)
from sdn_shadow.forecast.calendar import calendar_terms
from sdn_shadow.forecast.selection import CANDIDATES, apply, choose


def test_calendar_terms_are_sin_cos_pairs_of_the_day_and_the_week() -> None:
    at = np.arange(0, 7 * 24 * 2)
    terms = calendar_terms(at, 24, daily=2, weekly=1)
    assert terms.shape == (at.size, 6)
    day = 2 * np.pi * at / 24
    assert np.allclose(terms[:, 0], np.sin(day))
    assert np.allclose(terms[:, 3], np.cos(2 * day))
    assert np.allclose(terms[:, 4], np.sin(2 * np.pi * at / (7 * 24)))
    assert np.allclose(terms[:24, :4], terms[24:48, :4])  # the daily part repeats every period
    assert not np.allclose(terms[:24, 4:], terms[24:48, 4:])  # the weekly part does not
    assert calendar_terms(at, 24, 0, 0).shape == (at.size, 0)


def _weekday_series(n: int, period: int = 24, seed: int = 0) -> np.ndarray:
    """A daily shape, and a weekly one the week-free lags cannot see."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    weekly = 0.8 * np.sin(2 * np.pi * t / (7 * period))
    return np.exp(4 + np.sin(2 * np.pi * t / period) + weekly + 0.1 * rng.normal(size=n))


def test_weekly_terms_learn_a_weekly_shape_the_lags_miss() -> None:
    y = _weekday_series(24 * 7 * 8)
    model = SlidingWindowForecaster(window=4, period=24, n_periods=1, horizon=24)
    lags = model.lag_spec().lags
    train = np.arange(int(lags[-1]), 24 * 7 * 6)
    test = np.arange(24 * 7 * 6, y.size)

    def error(**terms: int) -> float:
        fitted = model.set_params(**terms).fit(lag_matrix(y, lags, train), y[train], phase=train)
        guess = fitted.predict(lag_matrix(y, lags, test), test)
        return float(np.mean(np.abs(np.log(guess / y[test]))))

    plain, weekly = error(daily_terms=0, weekly_terms=0), error(daily_terms=1, weekly_terms=1)
    assert weekly < 0.7 * plain
    assert model.calendar_coef_.shape == (4,)


def test_calendar_terms_need_a_phase_and_a_period() -> None:
    y = _weekday_series(600)
    X, target = lag_matrix(y, np.arange(1, 5), np.arange(4, 600)), y[4:]
    with pytest.raises(ValueError, match="phase"):
        SlidingWindowForecaster(period=24, daily_terms=1).fit(X, target)
    with pytest.raises(ValueError, match="period"):
        SlidingWindowForecaster(daily_terms=1).fit(X, target, phase=np.arange(4, 600))
    with pytest.raises(ValueError, match="fit_series"):
        SlidingWindowForecaster(period=24, weekly_terms=1).fit_series(y[None, :])
    fitted = SlidingWindowForecaster(period=24, daily_terms=1).fit(X, target,
                                                                   phase=np.arange(4, 600))
    with pytest.raises(ValueError, match="phase"):
        fitted.predict(X)


def test_the_choice_reads_only_the_training_part() -> None:
    y = _weekday_series(24 * 7 * 10, seed=1)
    setup = fit_setup(y.size, BacktestSetup(horizon=6, period=24, window=8, point="mape",
                                            select=True))
    start = first_test_index(y.size, setup.train_fraction)
    changed = y.copy()
    changed[start:] = changed[start:][::-1] * 3.0
    first, second = choose(y, setup, start), choose(changed, setup, start)
    assert first == second
    assert len(first.scores) == len(CANDIDATES)
    assert first.changes.get("weekly_terms", 0) > 0  # the weekly shape is in the training part


def test_select_backtests_the_chosen_settings() -> None:
    y = _weekday_series(24 * 7 * 10, seed=2)
    setup = fit_setup(y.size, BacktestSetup(horizon=6, period=24, window=8, select=True))
    chosen = choose(y, setup, first_test_index(y.size, setup.train_fraction)).changes
    by_choice = rolling_forecasts(y, fit_setup(y.size, apply(
        BacktestSetup(horizon=6, period=24, window=8), chosen)))
    selected = rolling_forecasts(y, setup)
    assert np.array_equal(selected.point, by_choice.point)
    assert np.array_equal(selected.upper, by_choice.upper)


def test_window_factor_scales_the_window() -> None:
    setup = BacktestSetup(horizon=1, period=24, window=24)
    assert apply(setup, {"window_factor": 2, "daily_terms": 2}).window == 48
    assert apply(setup, {"window_factor": 2, "daily_terms": 2}).daily_terms == 2
    assert apply(setup, {}) == setup
