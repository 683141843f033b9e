"""Lag features: which lags, the matrices built from them, and the Toeplitz Gram shortcut."""

from __future__ import annotations

import numpy as np
import pytest

from sdn_shadow.forecast.features import LagSpec, lag_matrix, lag_windows, origin_features
from sdn_shadow.forecast.gram import lag_moments, longest_run
from sdn_shadow.forecast.ridge import combine, direct_moments


def test_lags_are_recent_window_plus_seasonal_lags_at_target_and_origin() -> None:
    spec = LagSpec(window=4, horizon=12, period=48, n_periods=2)
    assert spec.lags.tolist() == [12, 13, 14, 15, 48, 60, 96, 108]
    assert spec.lookback == 108


def test_seasonal_lags_skip_periods_closer_than_the_horizon() -> None:
    spec = LagSpec(window=2, horizon=60, period=48, n_periods=2)
    assert spec.lags.tolist() == [60, 61, 96, 108, 144, 156]
    assert spec.lags.min() >= spec.horizon


def test_overlapping_lags_are_kept_once() -> None:
    spec = LagSpec(window=64, horizon=1, period=48, n_periods=1)
    assert spec.lags.tolist() == list(range(1, 65))


def test_no_period_means_recent_values_only() -> None:
    assert LagSpec(window=3, horizon=2).lags.tolist() == [2, 3, 4]


def test_lag_matrix_reads_only_values_at_least_the_horizon_back() -> None:
    y = np.arange(100.0)
    spec = LagSpec(window=3, horizon=5, period=10, n_periods=1)
    X = lag_matrix(y, spec.lags, np.array([40, 41]))
    assert X.tolist() == [[35, 34, 33, 30, 25], [36, 35, 34, 31, 26]]
    with pytest.raises(ValueError):
        lag_matrix(y, spec.lags, np.array([10]))


def test_windows_and_origin_features_agree_with_lag_matrix() -> None:
    rng = np.random.default_rng(3)
    Y = rng.normal(size=(3, 200))
    spec = LagSpec(window=5, horizon=3, period=24, n_periods=2)
    W = lag_windows(Y, spec.lags, 100, 50)
    for s in range(3):
        np.testing.assert_array_equal(W[s].T, lag_matrix(Y[s], spec.lags, np.arange(100, 150)))
    last = origin_features(Y, spec.lags, 3)
    np.testing.assert_array_equal(last[1], Y[1, 199 + 3 - spec.lags])


def test_longest_run() -> None:
    assert longest_run(np.array([0, 12, 13, 14, 48, 49])) == slice(1, 4)
    assert longest_run(np.array([5])) == slice(0, 1)


@pytest.mark.parametrize("window,horizon,period,n_periods", [
    (64, 12, 48, 7), (64, 1, 48, 7), (5, 1, None, 0), (2, 3, 4, 3), (24, 12, 288, 2), (1, 4, 7, 2),
])
def test_lag_moments_equal_the_direct_product(window, horizon, period, n_periods) -> None:
    rng = np.random.default_rng(1)
    spec = LagSpec(window, horizon, period, n_periods)
    lags = np.r_[0, spec.lags]
    z = 0.1 * rng.normal(size=(4, spec.lookback + 300)).cumsum(axis=1)
    z -= z.mean(axis=1, keepdims=True)
    first = spec.lookback + 7
    windows = lag_windows(z, lags, first, 200)
    fast, plain = lag_moments(z, lags, windows, first), direct_moments(windows)
    np.testing.assert_allclose(fast.scatter, plain.scatter, atol=1e-9 * np.abs(plain.scatter).max())
    np.testing.assert_allclose(fast.mean, plain.mean, atol=1e-12)


def test_combined_moments_equal_moments_of_the_union() -> None:
    rng = np.random.default_rng(2)
    W = rng.normal(loc=5.0, size=(2, 4, 30))
    w = rng.uniform(0.5, 2.0, size=(2, 30))
    merged = combine(direct_moments(W[:, :, :11], w[:, :11]),
                     direct_moments(W[:, :, 11:], w[:, 11:]))
    whole = direct_moments(W, w)
    np.testing.assert_allclose(merged.count, whole.count)
    np.testing.assert_allclose(merged.mean, whole.mean)
    np.testing.assert_allclose(merged.scatter, whole.scatter, rtol=1e-10)
