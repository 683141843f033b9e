"""Huber reweighting and adaptive recalibration of the interval on live errors."""

from __future__ import annotations

import numpy as np
import pytest

from sdn_shadow.forecast import SlidingWindowForecaster
from sdn_shadow.forecast.conformal import adaptive_scale


def test_scale_follows_errors_that_grow_and_holds_the_coverage() -> None:
    rng = np.random.default_rng(0)
    n = 6000
    spread = np.where(np.arange(n) < n // 2, 1.0, 3.0)  # errors triple halfway
    actual = rng.normal(0, spread)
    center, radius = np.zeros(n), np.full(n, 1.645)  # right for the first half only
    scale = adaptive_scale(actual, center, radius, 0.9, delay=12)
    assert scale[:100].tolist() == [1.0] * 100  # too few outcomes known yet
    assert 0.8 < np.median(scale[1000:n // 2]) < 1.2
    assert 2.5 < np.median(scale[-1000:]) < 3.5
    covered = np.abs(actual) <= radius * scale
    assert covered[n // 2:].mean() == pytest.approx(0.9, abs=0.02)
    fitted_only = (np.abs(actual) <= radius)[n // 2:].mean()
    assert fitted_only < 0.5


def test_a_forecast_uses_only_outcomes_known_at_its_origin() -> None:
    rng = np.random.default_rng(1)
    n, delay = 400, 24
    actual = rng.normal(size=n)
    base = adaptive_scale(actual, np.zeros(n), np.ones(n), 0.9, delay)
    changed = actual.copy()
    changed[300:] *= 50  # outcomes from 300 on
    after = adaptive_scale(changed, np.zeros(n), np.ones(n), 0.9, delay)
    assert np.array_equal(base[:300 + delay], after[:300 + delay])
    assert not np.array_equal(base, after)


def test_huber_resists_bursts_in_the_training_rows() -> None:
    rng = np.random.default_rng(2)
    x = rng.uniform(1, 100, size=(2000, 1))
    y = np.exp(0.8 * np.log1p(x[:, 0]) + 0.5 + rng.normal(0, 0.05, 2000))
    y[rng.integers(0, 2000, 100)] *= 1000  # bursts: 5% of the rows
    plain = SlidingWindowForecaster().fit(x, y)
    robust = SlidingWindowForecaster(huber=1.345).fit(x, y)
    grid = np.linspace(1, 100, 50)[:, None]
    truth = 0.8 * np.log1p(grid[:, 0]) + 0.5

    def error(model: SlidingWindowForecaster) -> float:
        return float(np.mean(np.abs(np.log1p(model.predict(grid)) - truth)))

    assert error(robust) < 0.1 < 0.3 < error(plain)  # measured 0.045 and 0.375


def test_huber_is_not_yet_for_many_series() -> None:
    with pytest.raises(ValueError, match="fit_series"):
        SlidingWindowForecaster(huber=1.0).fit_series(np.ones((2, 400)))
    with pytest.raises(ValueError, match="huber"):
        SlidingWindowForecaster(huber=0).fit(np.ones((20, 2)), np.ones(20))
