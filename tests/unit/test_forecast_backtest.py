"""Backtest protocol: the split, the baselines, the metrics, and no look-ahead."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sdn_shadow.forecast import metrics
from sdn_shadow.forecast.backtest import (
    BacktestError,
    BacktestSetup,
    baselines,
    first_test_index,
    fit_setup,
    rolling_forecasts,
    run_backtest,
    seasonal_lag,
)


@pytest.mark.parametrize("n,start", [(10320, 8256), (4032, 3226), (15902, 12722), (10, 8)])
def test_test_set_is_the_last_20_percent_rounded_down(n, start) -> None:
    assert first_test_index(n, 0.8) == start
    assert first_test_index(n, 0.5) == n - n // 2


@pytest.mark.parametrize("horizon,period,lag", [(1, 48, 48), (12, 48, 48), (48, 48, 48),
                                                (49, 48, 96), (12, 288, 288), (3, 1, 3)])
def test_seasonal_naive_looks_back_whole_periods_covering_the_horizon(horizon, period, lag) -> None:
    assert seasonal_lag(horizon, period) == lag


def test_baselines() -> None:
    y = np.arange(100.0)
    guesses = baselines(y, np.array([60, 61]), horizon=12, period=24)
    assert guesses["naive"].tolist() == [48, 49]
    assert guesses["seasonal_naive"].tolist() == [36, 37]


def test_metrics() -> None:
    actual = np.array([0.0, 2.0, 4.0, 10.0])
    forecast = np.array([5.0, 1.0, 5.0, 10.0])
    assert metrics.mape(actual, forecast) == pytest.approx(100 * (0.5 + 0.25 + 0) / 3)
    assert math.isnan(metrics.mape(np.zeros(3), np.ones(3)))
    assert metrics.mae(actual, forecast) == pytest.approx(7 / 4)
    assert metrics.rmse(actual, forecast) == pytest.approx(math.sqrt(27 / 4))
    assert metrics.coverage(actual, forecast - 1, forecast + 1) == 0.75
    assert metrics.mean_width(forecast - 1, forecast + 2) == 3.0


def _series(n: int = 1200, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    return np.exp(4 + np.sin(2 * np.pi * t / 24) + 0.3 * rng.normal(size=n))


def test_a_forecast_never_reads_past_its_origin() -> None:
    """Garbage after y[t-H] leaves the forecast of y[t] unchanged; a change at y[t-H] does not."""
    y = _series()
    setup = fit_setup(y.size, BacktestSetup(horizon=5, period=24, refit_every=7, window=6,
                                            n_periods=2))
    reference = rolling_forecasts(y, setup)
    start = int(reference.targets[0])
    for t in (start, start + 1, start + 6, start + 7, start + 100, y.size - 1):
        spoiled = y.copy()
        spoiled[t - setup.horizon + 1:] = 1e6
        again = rolling_forecasts(spoiled, setup)
        i = t - start
        assert again.point[i] == reference.point[i]
        assert (again.lower[i], again.upper[i]) == (reference.lower[i], reference.upper[i])
        nudged = y.copy()
        nudged[t - setup.horizon] *= 3
        assert rolling_forecasts(nudged, setup).point[i] != reference.point[i]


def test_refits_roll_with_the_origin() -> None:
    y = _series()
    setup = fit_setup(y.size, BacktestSetup(horizon=1, period=24, refit_every=10))
    found = rolling_forecasts(y, setup)
    assert found.refits == math.ceil(found.targets.size / 10)
    seen = []
    rolling_forecasts(y, setup, progress=lambda done, total: seen.append((done, total)))
    assert seen[-1] == (found.refits, found.refits) and len(seen) == found.refits


def test_report_has_every_score() -> None:
    report = run_backtest(_series(), BacktestSetup(horizon=3, period=24))
    data = report.to_dict()
    assert set(data["models"]) == {"sliding_window", "naive", "seasonal_naive"}
    assert set(data["models"]["sliding_window"]) == {"mape", "rmse", "mae", "coverage",
                                                     "interval_width"}
    assert set(data["models"]["naive"]) == {"mape", "rmse", "mae"}
    ours, naive = data["models"]["sliding_window"], data["models"]["naive"]
    assert ours["mape"] < naive["mape"] and ours["rmse"] < naive["rmse"]


def test_short_series_gets_fewer_seasons_then_an_error() -> None:
    setup = BacktestSetup(horizon=1, period=24, n_periods=7)
    assert fit_setup(1200, setup).n_periods == 7
    assert 0 < fit_setup(600, setup).n_periods < 7
    with pytest.raises(BacktestError, match="too short"):
        fit_setup(100, setup)
    with pytest.raises(BacktestError, match="before the test set"):
        fit_setup(100, BacktestSetup(horizon=1, period=90))


@pytest.mark.parametrize("change,message", [
    ({"horizon": 0}, "horizon"), ({"period": 0}, "period"), ({"level": 1.0}, "level"),
    ({"train_fraction": 1.0}, "train fraction"), ({"refit_every": 0}, "refit"),
])
def test_bad_setup(change, message) -> None:
    values = {"horizon": 1, "period": 24, **change}
    with pytest.raises(BacktestError, match=message):
        fit_setup(1000, BacktestSetup(**values))


@pytest.mark.parametrize("change,message", [
    ({"daily_terms": 2, "period": 4}, "2 daily calendar terms need a cycle of more than 4"),
    ({"weekly_terms": 14, "period": 4}, "weekly calendar terms must be 0..12"),
    ({"daily_terms": -1}, "daily calendar terms must be 0..12"),
])
def test_calendar_terms_are_bounded(change, message) -> None:
    setup = BacktestSetup(**{"horizon": 1, "period": 48, **change})
    with pytest.raises(BacktestError, match=message):
        setup.check()
    BacktestSetup(horizon=1, period=48, daily_terms=12, weekly_terms=12).check()


def test_calendar_terms_count_as_coefficients_when_seasons_are_capped() -> None:
    plain = fit_setup(1000, BacktestSetup(horizon=1, period=48, window=24, n_periods=7))
    terms = fit_setup(1000, BacktestSetup(horizon=1, period=48, window=24, n_periods=7,
                                         daily_terms=6, weekly_terms=6))
    assert terms.n_periods < plain.n_periods
