"""Calendar terms: the Fourier columns and the model's use of them."""

from __future__ import annotations

import numpy as np
import pytest

from sdn_shadow.forecast import SlidingWindowForecaster, lag_matrix
from sdn_shadow.forecast.calendar import calendar_terms


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
