"""Lag features: which lags, the matrices built from them, and the Toeplitz Gram shortcut."""

from __future__ import annotations

import numpy as np
import pytest

from sdn_shadow.forecast.features import LagSpec, lag_matrix, lag_windows, origin_features
from sdn_shadow.forecast.gram import (
    WINDOW_BLOCK,
    gram_order,
    held_out_errors,
    longest_run,
    split_normal_equations,
)
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


def test_gram_order_keeps_the_target_first_and_moves_the_run_tail_last() -> None:
    lags = np.r_[0, LagSpec(window=4, horizon=12, period=48, n_periods=2).lags]
    # lags 0, 12, 13, 14, 15, 48, 60, 96, 108: the run is 12..15
    assert lags[gram_order(lags)].tolist() == [0, 12, 48, 60, 96, 108, 13, 14, 15]
    one_step = np.r_[0, LagSpec(window=3, horizon=1).lags]  # the target is not in the run
    assert one_step[gram_order(one_step)].tolist() == [0, 1, 2, 3]


@pytest.mark.parametrize("window,horizon,period,n_periods", [
    (64, 12, 48, 7), (64, 1, 48, 7), (5, 1, None, 0), (2, 3, 4, 3), (24, 12, 288, 2), (1, 4, 7, 2),
    (1, 1, None, 0),
])
def test_split_normal_equations_equal_the_direct_product(window, horizon, period,
                                                         n_periods) -> None:
    rng = np.random.default_rng(1)
    spec = LagSpec(window, horizon, period, n_periods)
    lags = np.r_[0, spec.lags]
    n_series = 2 * WINDOW_BLOCK + 3  # blocks of lag windows, the last one short
    z = 0.1 * rng.normal(size=(n_series, spec.lookback + 300)).cumsum(axis=1)
    z -= z.mean(axis=1, keepdims=True)
    first, n_rows = spec.lookback + 7, 200
    windows = lag_windows(z, lags[gram_order(lags)], first, n_rows)
    for split in (1, 137, n_rows):
        equations = split_normal_equations(z, lags, first, n_rows, split)
        at = equations.intercept
        for half, stop in enumerate((split, n_rows)):
            features = windows[:, 1:, :stop]  # in gram order; the intercept goes in at `at`
            v = np.concatenate([features[:, :at], np.ones((n_series, 1, stop)),
                                features[:, at:]], axis=1)
            plain = v @ v.transpose(0, 2, 1)
            scale = np.abs(plain).max()
            rows = slice(half * n_series, (half + 1) * n_series)
            np.testing.assert_allclose(np.triu(equations.gram[rows]), np.triu(plain), rtol=0,
                                       atol=1e-11 * scale)
            plain_cross = np.einsum("sfn,sn->sf", v, windows[:, 0, :stop])
            np.testing.assert_allclose(equations.cross[rows], plain_cross, rtol=0,
                                       atol=1e-11 * scale)


def test_held_out_errors_are_those_of_the_lag_rows() -> None:
    rng = np.random.default_rng(5)
    spec = LagSpec(6, 2, 10, 2)
    lags = np.r_[0, spec.lags]
    n_series = WINDOW_BLOCK + 2
    z = rng.normal(size=(n_series, spec.lookback + 80))
    first, n_rows, split = spec.lookback, 80, 60
    coef, intercept = rng.normal(size=(n_series, lags.size - 1)), rng.normal(size=n_series)
    errors = held_out_errors(z, lags, first, n_rows, split, coef, intercept)
    order = gram_order(lags)
    for s in range(n_series):
        targets = np.arange(first + split, first + n_rows)
        X = lag_matrix(z[s], lags[order][1:], targets)
        np.testing.assert_allclose(errors[s], np.abs(z[s, targets] - X @ coef[s] - intercept[s]),
                                   rtol=1e-12, atol=1e-12)


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
