"""point="mape": the forecast that minimises the absolute percentage error, not the median."""

from __future__ import annotations

import numpy as np
import pytest

from sdn_shadow.forecast import SlidingWindowForecaster
from sdn_shadow.forecast.conformal import mape_shift


def _mape_of(shift: float, errors: np.ndarray) -> float:
    return float(np.mean(np.abs(np.exp(shift - errors) - 1)))


def test_the_shift_minimises_mape_on_the_errors() -> None:
    errors = np.random.default_rng(0).normal(0, 0.6, size=(1, 501))
    shift = float(mape_shift(errors)[0])
    assert shift < -0.1  # spread errors: below the median
    grid = np.linspace(-1.5, 1.0, 2501)
    best = grid[np.argmin([_mape_of(s, errors[0]) for s in grid])]
    assert _mape_of(shift, errors[0]) <= _mape_of(best, errors[0]) + 1e-9


def test_constant_errors_shift_by_the_constant_and_no_errors_by_nothing() -> None:
    assert mape_shift(np.full((2, 5), 0.3)).tolist() == pytest.approx([0.3, 0.3])
    assert mape_shift(np.empty((3, 0))).tolist() == [0.0, 0.0, 0.0]


def test_mape_point_is_below_the_median_and_intervals_do_not_move() -> None:
    rng = np.random.default_rng(1)
    t = np.arange(3000)
    Y = np.exp(3 + np.sin(2 * np.pi * t / 48) + rng.normal(0, 0.5, (2, t.size)))
    params = {"window": 8, "period": 48, "n_periods": 2, "horizon": 3}
    median = SlidingWindowForecaster(**params).fit_series(Y)
    mape = SlidingWindowForecaster(**params, point="mape").fit_series(Y)
    a, b = median.forecast(Y), mape.forecast(Y)
    assert (b.point < a.point).all()
    assert np.allclose(a.lower, b.lower) and np.allclose(a.upper, b.upper)
    assert (mape.shift_ < 0).all() and (median.shift_ == 0).all()


def test_mape_point_needs_the_log_transform() -> None:
    with pytest.raises(ValueError, match="log"):
        SlidingWindowForecaster(point="mape", log=False).fit(np.ones((20, 2)), np.ones(20))
    with pytest.raises(ValueError, match="point"):
        SlidingWindowForecaster(point="mean").fit(np.ones((20, 2)), np.ones(20))
