"""SlidingWindowForecaster: scikit-learn's estimator checks; the batched fit is per-series ridge."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import Ridge
from sklearn.utils.estimator_checks import parametrize_with_checks

from sdn_shadow.forecast import SlidingWindowForecaster, lag_matrix
from sdn_shadow.forecast.transform import forward, inverse


def _expected_failures(estimator: SlidingWindowForecaster) -> dict[str, str]:
    if estimator.point == "mape_calendar":
        # the point reads only the calendar terms, which need a phase: without one it is the
        # MAPE-optimal constant, and IRLS's floor smooths that weighted median (~1e-4 apart)
        return {"check_sample_weight_equivalence_on_dense_data":
                "IRLS's floor on the residuals: weights and repetitions agree to ~1e-4",
                "check_regressors_train": "without calendar terms the point is a constant",
                "check_regressors_train(readonly_memmap=True)": "as check_regressors_train",
                "check_regressors_train(readonly_memmap=True,X_dtype=float32)":
                "as check_regressors_train"}
    if estimator.point != "mape":
        return {}
    # the MAPE shift, like the interval radius, comes from the newest rows' held-out errors:
    # repeating rows moves that split, weighting them does not
    return {"check_sample_weight_equivalence_on_dense_data":
            "the point shift depends on the calibration split, which repetition moves"}


@parametrize_with_checks([SlidingWindowForecaster(), SlidingWindowForecaster(log=False),
                          SlidingWindowForecaster(point="mape", huber=1.345),
                          SlidingWindowForecaster(point="mape_calendar")],
                         expected_failed_checks=_expected_failures)
def test_sklearn_estimator_checks(estimator, check) -> None:
    check(estimator)


def _daily_series(n_series: int, n_time: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(n_time)
    level = rng.uniform(2, 8, size=(n_series, 1))
    shape = np.sin(2 * np.pi * t / 48 + rng.uniform(0, 6, size=(n_series, 1)))
    return np.exp(level + shape + 0.2 * rng.normal(size=(n_series, n_time)))


def _per_series_reference(y: np.ndarray, model: SlidingWindowForecaster):
    """What a plain loop computes for one series: two Ridge fits and the conformal radius."""
    spec = model.lag_spec()
    targets = np.arange(spec.lookback, y.size)
    X = forward(lag_matrix(y, spec.lags, targets), model.log)
    z = forward(y[targets], model.log)
    n_cal = round(model.calibration_fraction * targets.size)
    older = Ridge(alpha=model.alpha).fit(X[:-n_cal], z[:-n_cal])
    errors = np.sort(np.abs(z[-n_cal:] - older.predict(X[-n_cal:])))
    radius = errors[int(np.ceil((n_cal + 1) * model.level)) - 1]
    return Ridge(alpha=model.alpha).fit(X, z), radius


@pytest.mark.parametrize("horizon,window", [(1, 8), (5, 16), (12, 64)])
def test_fit_series_matches_a_ridge_per_series(horizon, window) -> None:
    Y = _daily_series(7, 700)
    model = SlidingWindowForecaster(window=window, period=48, n_periods=3, horizon=horizon,
                                    alpha=2.0, chunk_size=3).fit_series(Y)
    assert model.coef_.shape == (7, model.lag_spec().lags.size)
    for s in range(7):
        reference, radius = _per_series_reference(Y[s], model)
        np.testing.assert_allclose(model.coef_[s], reference.coef_, rtol=1e-7, atol=1e-9)
        assert model.intercept_[s] == pytest.approx(reference.intercept_, rel=1e-7)
        assert model.radius_[s] == pytest.approx(radius, rel=1e-7)


def test_regressor_fit_on_lag_rows_is_the_same_model_as_fit_series() -> None:
    Y = _daily_series(3, 500)
    batched = SlidingWindowForecaster(window=10, period=48, n_periods=2, horizon=3).fit_series(Y)
    spec = batched.lag_spec()
    targets = np.arange(spec.lookback, Y.shape[1])
    for s in range(3):
        single = SlidingWindowForecaster().fit(lag_matrix(Y[s], spec.lags, targets), Y[s, targets])
        np.testing.assert_allclose(single.coef_, batched.coef_[s], rtol=1e-7, atol=1e-9)
        assert single.radius_ == pytest.approx(batched.radius_[s], rel=1e-7)


def test_forecast_is_the_prediction_for_the_step_after_the_horizon() -> None:
    Y = _daily_series(4, 600)
    model = SlidingWindowForecaster(window=12, period=48, n_periods=2, horizon=6).fit_series(Y)
    result = model.forecast(Y)
    assert result.horizon == 6 and result.point.shape == (4,)
    assert np.all(result.lower < result.point) and np.all(result.point < result.upper)
    lags = model.lags_
    for s in range(4):
        row = Y[s, Y.shape[1] - 1 + 6 - lags]
        z = forward(row, True) @ model.coef_[s] + model.intercept_[s]
        assert result.point[s] == pytest.approx(float(inverse(z, True)))
    # log intervals are multiplicative: wider above the point than below
    assert np.all(result.upper - result.point > result.point - result.lower)


def test_predict_after_fit_series_has_one_column_per_series() -> None:
    Y = _daily_series(3, 400)
    model = SlidingWindowForecaster(window=5, horizon=2).fit_series(Y)
    X = lag_matrix(Y[0], model.lags_, np.arange(50, 60))
    assert model.predict(X).shape == (10, 3)
    lower, upper = model.predict_interval(X)
    assert lower.shape == upper.shape == (10, 3)


def test_horizon_in_seconds_rounds_up_to_whole_steps() -> None:
    model = SlidingWindowForecaster(horizon_seconds=3 * 3600 + 1, step_seconds=1800)
    assert model.horizon_steps() == 7
    assert SlidingWindowForecaster(horizon_seconds=3600, step_seconds=1800).horizon_steps() == 2
    with pytest.raises(ValueError, match="step_seconds"):
        SlidingWindowForecaster(horizon_seconds=3600).horizon_steps()


def test_prior_coef_pulls_a_short_history_towards_the_prior() -> None:
    Y = _daily_series(2, 80)
    spec_model = SlidingWindowForecaster(window=8, horizon=1, alpha=50.0)
    n_lags = spec_model.lag_spec().lags.size
    prior = np.zeros(n_lags)
    prior[0] = 1.0  # "tomorrow is like now"
    plain = spec_model.fit_series(Y).coef_.copy()
    pulled = SlidingWindowForecaster(window=8, horizon=1, alpha=50.0).fit_series(
        Y, prior_coef=prior).coef_
    assert np.all(np.abs(pulled - prior).sum(axis=1) < np.abs(plain - prior).sum(axis=1))


@pytest.mark.parametrize("params,message", [
    ({"alpha": 0.0}, "alpha"),
    ({"level": 1.0}, "level"),
    ({"calibration_fraction": 0.0}, "calibration_fraction"),
    ({"window": 0}, "window"),
    ({"horizon": 0}, "horizon"),
    ({"period": 0}, "period"),
    ({"n_jobs": 0}, "n_jobs"),
    ({"n_jobs": -2}, "n_jobs"),
])
def test_bad_parameters_are_reported_at_fit(params, message) -> None:
    model = SlidingWindowForecaster(**params)  # __init__ only stores
    with pytest.raises(ValueError, match=message):
        model.fit_series(_daily_series(1, 300))


@pytest.mark.parametrize("n_jobs", [2, -1])
def test_threads_fit_exactly_the_models_one_thread_fits(n_jobs) -> None:
    Y = _daily_series(37, 300)  # chunks of 4: the last one is short
    one = SlidingWindowForecaster(window=8, period=24, n_periods=2, chunk_size=4).fit_series(Y)
    many = SlidingWindowForecaster(window=8, period=24, n_periods=2, chunk_size=4,
                                   n_jobs=n_jobs).fit_series(Y)
    np.testing.assert_array_equal(many.coef_, one.coef_)
    np.testing.assert_array_equal(many.intercept_, one.intercept_)
    np.testing.assert_array_equal(many.radius_, one.radius_)


def test_too_short_series_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="too short"):
        SlidingWindowForecaster(window=64, period=48, n_periods=7).fit_series(np.ones((2, 300)))


def test_forecast_needs_the_series_it_was_fitted_on() -> None:
    model = SlidingWindowForecaster(window=4).fit_series(_daily_series(3, 100))
    with pytest.raises(ValueError, match="3"):
        model.forecast(_daily_series(2, 100))


def test_log_transform_round_trips_and_keeps_order() -> None:
    values = np.array([-1e6, -3.5, -1.0, 0.0, 0.5, 1.0, 1e3, 1e300])
    z = forward(values, True)
    assert np.all(np.diff(z) > 0)
    np.testing.assert_allclose(inverse(z, True), values, rtol=1e-12)
    assert np.isfinite(inverse(np.array([1e6]), True)).all()
