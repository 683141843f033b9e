"""The ridge solves: raw normal equations against scikit-learn, the centred route and LAPACK."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import Ridge

from sdn_shadow.forecast import SlidingWindowForecaster, ridge
from sdn_shadow.forecast.ridge import (
    NormalEquations,
    direct_moments,
    solve,
    solve_normal,
    spd_solve,
)


def _normal_equations(X: np.ndarray, y: np.ndarray, at: int | None = None) -> NormalEquations:
    """Upper triangle of sum v v^T, v = x with 1 put in at `at` (last by default), NaN below."""
    at = X.shape[2] if at is None else at
    v = np.concatenate([X[:, :, :at], np.ones(X.shape[:2] + (1,)), X[:, :, at:]], axis=2)
    gram = v.transpose(0, 2, 1) @ v
    below = np.tril_indices(gram.shape[-1], -1)
    gram[:, below[0], below[1]] = np.nan
    return NormalEquations(gram, np.einsum("snf,sn->sf", v, y), at)


def _problems(n_problems: int = 5, n_rows: int = 40, n_features: int = 7, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.normal(loc=0.3, size=(n_problems, n_rows, n_features))
    y = (X @ rng.normal(size=(n_problems, n_features, 1)))[..., 0] + rng.normal(
        loc=2.0, scale=0.5, size=(n_problems, n_rows))
    return X, y


@pytest.fixture(params=["ctypes", "f2py"])
def lapack_route(request, monkeypatch):
    """Run a test through LAPACK called without the GIL, then through scipy's f2py wrapper."""
    if request.param == "ctypes":
        assert ridge._DPOSV is not None  # scipy's table of LAPACK pointers is reachable
    else:
        monkeypatch.setattr(ridge, "_DPOSV", None)
    return request.param


@pytest.mark.parametrize("alpha,at", [(1e-3, None), (1.0, 0), (50.0, 3)])
def test_solve_normal_is_sklearn_ridge(alpha, at, lapack_route) -> None:
    X, y = _problems()
    coef, intercept, failed = solve_normal(_normal_equations(X, y, at), alpha)
    assert not failed.any()
    for s in range(X.shape[0]):
        reference = Ridge(alpha=alpha).fit(X[s], y[s])
        np.testing.assert_allclose(coef[s], reference.coef_, rtol=1e-9, atol=1e-11)
        assert intercept[s] == pytest.approx(reference.intercept_, rel=1e-9)


def test_solve_normal_agrees_with_the_centred_route_and_a_prior(lapack_route) -> None:
    X, y = _problems(seed=1)
    prior = np.linspace(-1.0, 1.0, X.shape[2])
    coef, intercept, _ = solve_normal(_normal_equations(X, y, 2), 3.0, prior)
    windows = np.concatenate([y[:, None, :], X.transpose(0, 2, 1)], axis=1)
    expected_coef, expected_intercept = solve(direct_moments(windows), 3.0, prior)
    np.testing.assert_allclose(coef, expected_coef, rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(intercept, expected_intercept, rtol=1e-9)


def test_spd_solve_reads_one_triangle_in_place_and_accepts_padded_rows(lapack_route) -> None:
    rng = np.random.default_rng(2)
    A = rng.normal(size=(6, 9, 30))
    spd = A @ A.transpose(0, 2, 1) + np.eye(9)
    rhs = rng.normal(size=(6, 9))
    expected = np.linalg.solve(spd, rhs[..., None])[..., 0]
    padded = np.full((6, 9, 12), np.nan)  # rows longer than the matrix, NaN outside it
    padded[:, :, :9] = np.triu(spd) + np.tril(np.full_like(spd, np.nan), -1)
    spaced = np.full((6, 2, 9), np.nan)  # right-hand sides contiguous each, not together
    spaced[:, 1] = rhs
    x, failed = spd_solve(padded[:, :, :9], spaced[:, 1])
    assert not failed.any()
    np.testing.assert_allclose(x, expected, rtol=1e-10)
    np.testing.assert_allclose(spaced[:, 1], expected, rtol=1e-10)  # in place


def test_spd_solve_reports_a_matrix_that_is_not_positive_definite(lapack_route) -> None:
    X, y = _problems(seed=3)
    equations = _normal_equations(X, y)
    equations.gram[2, 3, 3] = -1.0
    _, _, failed = solve_normal(equations, 1.0)
    assert failed.tolist() == [False, False, True, False, False]


def test_fit_series_refits_series_whose_system_fails_with_centred_moments(monkeypatch) -> None:
    rng = np.random.default_rng(4)
    Y = np.exp(3.0 + 0.3 * rng.normal(size=(9, 400)).cumsum(axis=1) / 20)
    model = SlidingWindowForecaster(window=10, period=24, n_periods=2, horizon=3, chunk_size=4)
    normal = model.fit_series(Y)
    coef, intercept, radius = normal.coef_.copy(), normal.intercept_.copy(), normal.radius_.copy()
    real = ridge.solve_normal
    refused = []

    def refuse_some(equations, alpha, prior=None):
        c, b, failed = real(equations, alpha, prior)
        failed[1::3] = True  # as if these matrices had not been positive definite
        c[failed], b[failed] = np.nan, np.nan
        refused.append(int(failed.sum()))
        return c, b, failed

    monkeypatch.setattr(ridge, "solve_normal", refuse_some)
    fallback = model.fit_series(Y)
    assert sum(refused) > 0
    np.testing.assert_allclose(fallback.coef_, coef, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(fallback.intercept_, intercept, rtol=1e-8)
    np.testing.assert_allclose(fallback.radius_, radius, rtol=1e-8)
