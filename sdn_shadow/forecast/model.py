"""SlidingWindowForecaster: ridge on recent and seasonal lags, with conformal intervals."""

from __future__ import annotations

import math
import numbers
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data
from threadpoolctl import threadpool_limits

from sdn_shadow.forecast import conformal, ridge, transform
from sdn_shadow.forecast.calendar import calendar_rows
from sdn_shadow.forecast.conformal import calibration_rows, fit_calibrated
from sdn_shadow.forecast.features import LagSpec, lag_windows, origin_features
from sdn_shadow.forecast.gram import gram_order, held_out_errors, split_normal_equations
from sdn_shadow.forecast.mape_fit import mape_weights, weighted_l1
from sdn_shadow.forecast.ridge import Moments, combine, direct_moments, stack


@dataclass(frozen=True)
class SeriesForecast:
    """Point forecast and interval per series, `horizon` steps after each series' last point."""

    point: NDArray[np.float64]
    lower: NDArray[np.float64]
    upper: NDArray[np.float64]
    horizon: int


# scikit-learn ships no type information: its base classes are Any to mypy.
class SlidingWindowForecaster(RegressorMixin, BaseEstimator):  # type: ignore[misc]
    """Ridge regression of y[t] on lags of y at horizon H, one model per series.

    Two ways in, sharing the same math:

    - as a scikit-learn regressor, `fit(X, y)` / `predict(X)`: rows of X are
      lag vectors (see `features.lag_matrix`) in time order, y the targets;
    - batched over many series, `fit_series(Y)` / `forecast(Y)` with Y of
      shape (n_series, n_time): every series gets its own coefficients, all
      fitted in chunks of `chunk_size` series with a few array operations
      each (the one Python step per series is its call into LAPACK),
      spread over `n_jobs` threads (None: one, -1: one per CPU). The lags
      come from `window`,
      `period`, `n_periods` and the horizon (`features.LagSpec`). Afterwards
      `coef_` is (n_series, n_lags), as for a multi-output regressor, and
      `predict(X)` returns one column per series.

    The model works in the space of `transform.forward(., log)`: with `log`,
    a linear model of log demand, i.e. multiplicative effects, and its point
    forecast is a median rather than a mean, which suits skewed, bursty
    demand. `alpha` (> 0) is the ridge penalty on the lag coefficients (the
    intercept is free). `daily_terms`/`weekly_terms` add Fourier pairs of the
    time of day and week (`calendar`), in `fit` only. Intervals at `level` are split-conformal (see
    `conformal`) from the newest `calibration_fraction` of the rows.

    The horizon is `horizon` steps, or `horizon_seconds` rounded up to whole
    steps of `step_seconds` when that is given.

    `chunk_size` only trades speed: the results do not depend on it. The
    default, 128, is large enough that numpy's fixed cost per call (which
    holds the GIL, so threads queue for it) is shared by many series, and
    small enough that a chunk's arrays (~100 KB a series with a 64-value
    window and a week of daily lags, 10,000 series of three weeks) are
    reused by the allocator rather than handed back to the system and
    faulted in again for every chunk (measured: 64 was ~10% slower on two
    threads, 256 no faster).
    """

    # Fitted state (set by `fit` or `fit_series`; `check_is_fitted` looks for it).
    coef_: NDArray[np.float64]
    """(n_features,) after `fit`, (n_series, n_lags) after `fit_series`."""
    intercept_: float | NDArray[np.float64]
    radius_: float | NDArray[np.float64]
    """Conformal half-width of the interval, in the transformed space."""
    lags_: NDArray[np.intp] | None
    """None after `fit` (lag rows come ready-made), the lags after `fit_series`."""
    horizon_: int | None
    shift_: float | NDArray[np.float64]
    """Added to the transformed point forecast: 0 for the median, < 0 usually for "mape"."""
    calendar_coef_: NDArray[np.float64]
    """Coefficients of the calendar terms (empty when they are off)."""
    point_coef_: NDArray[np.float64]
    """With point="mape_calendar": the point's intercept, then its calendar coefficients."""

    def __init__(self, window: int = 24, period: int | None = None, n_periods: int = 7,
                 horizon: int = 1, horizon_seconds: float | None = None,
                 step_seconds: float | None = None, log: bool = True, alpha: float = 1.0,
                 level: float = 0.9, calibration_fraction: float = 0.2,
                 chunk_size: int = 128, n_jobs: int | None = None, point: str = "median",
                 huber: float | None = None, daily_terms: int = 0, weekly_terms: int = 0
                 ) -> None:
        self.window = window
        self.period = period
        self.n_periods = n_periods
        self.horizon = horizon
        self.horizon_seconds = horizon_seconds
        self.step_seconds = step_seconds
        self.log = log
        self.alpha = alpha
        self.level = level
        self.calibration_fraction = calibration_fraction
        self.chunk_size = chunk_size
        self.n_jobs = n_jobs
        self.point = point
        self.huber = huber
        self.daily_terms = daily_terms
        self.weekly_terms = weekly_terms

    # -- parameters ---------------------------------------------------------

    def horizon_steps(self) -> int:
        """The horizon in steps (from `horizon_seconds` and `step_seconds` when set)."""
        if self.horizon_seconds is None:
            _require_int("horizon", self.horizon, 1)
            return int(self.horizon)
        if self.step_seconds is None or not self.step_seconds > 0:
            raise ValueError("horizon_seconds needs step_seconds > 0")
        if not self.horizon_seconds > 0:
            raise ValueError(f"horizon_seconds must be > 0 (got {self.horizon_seconds})")
        return max(1, math.ceil(self.horizon_seconds / self.step_seconds - 1e-9))

    def lag_spec(self) -> LagSpec:
        """The lags this configuration uses."""
        _require_int("window", self.window, 1)
        _require_int("n_periods", self.n_periods, 0)
        if self.period is not None:
            _require_int("period", self.period, 1)
        return LagSpec(int(self.window), self.horizon_steps(),
                       None if self.period is None else int(self.period), int(self.n_periods))

    def _check_fit_params(self) -> None:
        _check_params(self)

    # -- scikit-learn regressor ---------------------------------------------

    def fit(self, X: ArrayLike, y: ArrayLike, sample_weight: ArrayLike | None = None,
            prior_coef: ArrayLike | None = None, phase: ArrayLike | None = None
            ) -> SlidingWindowForecaster:
        """Fit on lag rows X (n_samples, n_features) in time order and targets y.

        `sample_weight` weights rows (as repetitions would); `prior_coef`
        (n_features,) is the coefficient vector the ridge penalty shrinks
        towards instead of zero. `phase` (n_samples,): the step index of each
        target, which the calendar terms (`daily_terms`, `weekly_terms`) need.
        """
        self._check_fit_params()
        rows: NDArray[np.float64]
        targets: NDArray[np.float64]
        rows, targets = validate_data(self, X, y, y_numeric=True, dtype=np.float64)
        weights: NDArray[np.float64] | None = None
        if sample_weight is not None:
            weights = _check_sample_weight(sample_weight, rows, ensure_non_negative=True)[None, :]
        terms = calendar_rows(phase, rows.shape[0], self.period, self.daily_terms,
                              self.weekly_terms)
        windows = np.concatenate([transform.forward(targets, self.log)[None, :],
                                  transform.forward(rows, self.log).T, terms.T])[None]
        n_cal = calibration_rows(windows.shape[-1], self.calibration_fraction)
        prior = _prior(prior_coef, rows.shape[1], 1)
        if prior is not None and terms.shape[1]:
            prior = np.concatenate([prior, np.zeros((1, terms.shape[1]))], axis=1)
        shift = np.zeros(1)
        wanted = shift if self.point == "mape" else None
        coef, intercept, radius = _fit_direct(windows, n_cal, self.alpha, self.level, prior,
                                              weights, wanted)
        if self.huber is not None:  # one reweighting step; the intervals stay unweighted
            robust = _huber_weights(windows[0], coef[0], float(intercept[0]), self.huber,
                                    None if weights is None else weights[0])
            coef, intercept, radius = _fit_direct(windows, n_cal, self.alpha, self.level,
                                                  prior, weights, wanted, robust)
        n_lags = rows.shape[1]
        self.coef_, self.intercept_, self.radius_ = (coef[0, :n_lags], float(intercept[0]),
                                                     float(radius[0]))
        self.calendar_coef_ = coef[0, n_lags:]
        self.shift_ = float(shift[0])
        self.point_coef_ = (_mape_profile(targets, terms, None if weights is None else weights[0])
                            if self.point == "mape_calendar" else np.empty(0))
        self.lags_ = self.horizon_ = None
        return self

    def predict(self, X: ArrayLike, phase: ArrayLike | None = None) -> NDArray[np.float64]:
        """Point forecasts for lag rows X: (n_samples,), or (n_samples, n_series) if fit_series.

        The median of the forecast distribution, or with point="mape" the
        value that minimises the expected absolute percentage error (lower
        when the errors are spread; see `conformal.mape_shift`), or with
        point="mape_calendar" the profile over the calendar terms fitted to
        minimise the training rows' MAPE (`mape_fit`; the lags then shape
        only the interval). `phase`: the targets' step indices, as in `fit`,
        when calendar terms are on.
        """
        z = self._predict_transformed(X, phase)
        profile = getattr(self, "point_coef_", None)
        if profile is not None and profile.size:
            terms = calendar_rows(phase, z.shape[0], self.period, self.daily_terms,
                                  self.weekly_terms)
            point: NDArray[np.float64] = profile[0] + terms @ profile[1:]
            return point
        return transform.inverse(z + self.shift_, self.log)

    def predict_interval(self, X: ArrayLike, phase: ArrayLike | None = None
                         ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Lower and upper bounds of the `level` interval for lag rows X (shapes as `predict`)."""
        z = self._predict_transformed(X, phase)
        return (transform.inverse(z - self.radius_, self.log),
                transform.inverse(z + self.radius_, self.log))

    def _predict_transformed(self, X: ArrayLike, phase: ArrayLike | None) -> NDArray[np.float64]:
        check_is_fitted(self)
        rows: NDArray[np.float64] = validate_data(self, X, reset=False, dtype=np.float64)
        z = transform.forward(rows, self.log) @ np.asarray(self.coef_).T + self.intercept_
        calendar = getattr(self, "calendar_coef_", None)
        if calendar is not None and calendar.size:
            z = z + calendar_rows(phase, rows.shape[0], self.period, self.daily_terms,
                                  self.weekly_terms) @ calendar
        return z

    # -- many series at once ------------------------------------------------

    def fit_series(self, Y: ArrayLike, prior_coef: ArrayLike | None = None
                   ) -> SlidingWindowForecaster:
        """Fit one model per row of Y (n_series, n_time), vectorised across series.

        Each series gives n_time - lookback rows (targets y[lookback:]); it
        needs at least two. `prior_coef` (n_lags,) or (n_series, n_lags) is
        the shrinkage target of the penalty (the hook for profile priors).
        """
        self._check_fit_params()
        if self.huber is not None:
            raise ValueError("huber is only supported by fit (lag rows), not yet by fit_series")
        if self.daily_terms + self.weekly_terms or self.point == "mape_calendar":
            raise ValueError("calendar terms and point='mape_calendar' are only supported by "
                             "fit (lag rows), not yet by fit_series")
        spec = self.lag_spec()
        series = _series_array(Y)
        lags: NDArray[np.intp] = np.r_[0, spec.lags]
        first_target = spec.lookback
        n_rows = series.shape[1] - first_target
        if n_rows < 2:
            raise ValueError(f"series too short: {series.shape[1]} points, the lags need "
                             f"{first_target} before the first target and 2 targets")
        n_series = series.shape[0]
        order = gram_order(lags)  # the column order the Gram shortcut works in
        features = order[1:] - 1  # column k of a fit is feature features[k]
        prior = _prior(prior_coef, lags.size - 1, n_series)
        if prior is not None:
            prior = prior[:, features]
        n_cal = calibration_rows(n_rows, self.calibration_fraction)
        coef = np.empty((n_series, lags.size - 1))
        intercept = np.empty(n_series)
        radius = np.empty(n_series)
        shift = np.zeros(n_series)
        ordered = lags[order]

        def fit_chunk(lo: int) -> None:
            part = slice(lo, min(lo + int(self.chunk_size), n_series))
            z = transform.forward(series[part], self.log)
            offset = z.mean(axis=1)
            z -= offset[:, None]  # raw Gram sums want a small mean; slopes are unchanged
            part_prior = None if prior is None else prior[part]
            failed = np.zeros(z.shape[0], dtype=bool)

            def fit_of(split: int) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
                equations = split_normal_equations(z, lags, first_target, n_rows, split)
                priors = (None if part_prior is None
                          else np.concatenate([part_prior, part_prior]))
                c, b, bad = ridge.solve_normal(equations, self.alpha, priors)
                failed[...] = bad.reshape(2, -1).any(axis=0)
                c[bad], b[bad] = 0.0, 0.0  # meaningless; redone below
                return c, b

            def errors_of(split: int, c: NDArray[np.float64], b: NDArray[np.float64]
                          ) -> NDArray[np.float64]:
                if self.point == "median":
                    return held_out_errors(z, lags, first_target, n_rows, split, c, b)
                signed = held_out_errors(z, lags, first_target, n_rows, split, c, b, True)
                shift[part] = conformal.mape_shift(signed)
                return np.abs(signed, out=signed)

            c, b, r = fit_calibrated(n_rows, n_cal, fit_of, errors_of, self.level)
            if failed.any():  # centred moments and LU, which need no positive definiteness
                windows = lag_windows(z[failed], ordered, first_target, n_rows)
                part_shift = np.zeros(int(failed.sum()))
                c[failed], b[failed], r[failed] = _fit_direct(
                    windows, n_cal, self.alpha, self.level,
                    None if part_prior is None else part_prior[failed],
                    None, None if self.point == "median" else part_shift)
                shift[part][failed] = part_shift
            coef[part, features], radius[part] = c, r
            intercept[part] = b + offset * (1.0 - c.sum(axis=1))

        _run_chunks(fit_chunk, range(0, n_series, int(self.chunk_size)), self.n_jobs)
        self.coef_, self.intercept_, self.radius_ = coef, intercept, radius
        self.shift_ = shift
        self.calendar_coef_ = self.point_coef_ = np.empty(0)
        self.lags_ = spec.lags
        self.horizon_ = spec.horizon
        self.n_features_in_ = spec.lags.size
        return self

    def forecast(self, Y: ArrayLike) -> SeriesForecast:
        """Point and interval `horizon` steps after the end of each series of Y (n_series, n_time).

        Y holds the same series, in the same order, as the fit (newer data
        is the point: the model is reused between refits).
        """
        check_is_fitted(self, "lags_")
        if self.lags_ is None or self.horizon_ is None:  # (set together)
            raise ValueError("forecast needs a model fitted with fit_series")
        series = _series_array(Y)
        if series.shape[0] != self.coef_.shape[0]:
            raise ValueError(f"Y has {series.shape[0]} series, the model was fitted on "
                             f"{self.coef_.shape[0]}")
        x = transform.forward(origin_features(series, self.lags_, self.horizon_), self.log)
        z = np.einsum("sp,sp->s", x, self.coef_) + self.intercept_
        return SeriesForecast(transform.inverse(z + self.shift_, self.log),
                              transform.inverse(z - self.radius_, self.log),
                              transform.inverse(z + self.radius_, self.log), self.horizon_)


def _check_params(model: SlidingWindowForecaster) -> None:
    """Raise ValueError naming the first bad parameter of `model`."""
    if not (isinstance(model.alpha, numbers.Real) and model.alpha > 0):
        raise ValueError(f"alpha must be a number > 0 (got {model.alpha!r})")
    if not (isinstance(model.level, numbers.Real) and 0 < model.level < 1):
        raise ValueError(f"level must be in (0, 1) (got {model.level!r})")
    if not (isinstance(model.calibration_fraction, numbers.Real)
            and 0 < model.calibration_fraction < 1):
        raise ValueError(
            f"calibration_fraction must be in (0, 1) (got {model.calibration_fraction!r})")
    _require_int("chunk_size", model.chunk_size, 1)
    if model.point not in POINTS:
        raise ValueError(f"point must be one of {', '.join(map(repr, POINTS))} "
                         f"(got {model.point!r})")
    if model.point == "mape" and not model.log:
        raise ValueError("point='mape' needs log=True (its shift is multiplicative)")
    if model.huber is not None and not (isinstance(model.huber, numbers.Real)
                                       and model.huber > 0):
        raise ValueError(f"huber must be None or a number > 0 (got {model.huber!r})")
    _require_int("daily_terms", model.daily_terms, 0)
    _require_int("weekly_terms", model.weekly_terms, 0)
    if model.daily_terms + model.weekly_terms and model.period is None:
        raise ValueError("daily_terms and weekly_terms need a period")
    if model.n_jobs is not None and (isinstance(model.n_jobs, bool)
                                    or not isinstance(model.n_jobs, numbers.Integral)
                                    or model.n_jobs == 0 or model.n_jobs < -1):
        raise ValueError(f"n_jobs must be None, -1 or an integer >= 1 (got {model.n_jobs!r})")


def _fit_direct(windows: NDArray[np.float64], n_cal: int, alpha: float, level: float,
                prior: NDArray[np.float64] | None, weights: NDArray[np.float64] | None = None,
                shift: NDArray[np.float64] | None = None,
                robust: NDArray[np.float64] | None = None
                ) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """`fit_calibrated` on the centred moments of windows (S, F, N) themselves (any rows).

    If `shift` (S,) is given, it receives the MAPE shift of the calibration errors.
    `robust` (S, N) weights multiply `weights` in the fits but not in the
    calibration quantile: a downweighted burst still counts as an error.
    """
    fit_weights = weights if robust is None else (robust if weights is None
                                                  else weights * robust)
    n_rows = windows.shape[-1]
    priors = None if prior is None else np.concatenate([prior, prior])

    def fit_of(split: int) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        def rows(start: int, stop: int) -> Moments:
            part = None if fit_weights is None else fit_weights[:, start:stop]
            return direct_moments(windows[:, :, start:stop], part)

        older = rows(0, split)
        everything = older if split == n_rows else combine(older, rows(split, n_rows))
        return ridge.solve(stack(older, everything), alpha, priors)

    def errors_of(split: int, coef: NDArray[np.float64], intercept: NDArray[np.float64]
                  ) -> NDArray[np.float64]:
        if shift is None:
            return conformal.held_out_errors(windows[:, :, split:], coef, intercept)
        signed = conformal.held_out_errors(windows[:, :, split:], coef, intercept, True)
        shift[:] = conformal.mape_shift(signed, None if weights is None else weights[:, split:])
        return np.abs(signed, out=signed)

    return fit_calibrated(n_rows, n_cal, fit_of, errors_of, level, weights)


def _mape_profile(targets: NDArray[np.float64], terms: NDArray[np.float64],
                  weights: NDArray[np.float64] | None) -> NDArray[np.float64]:
    """Intercept and coefficients of the calendar `terms` (N, T) that minimise the MAPE of
    `targets` (N,) in the data's own units (weighted L1, weights 1/|y| times `weights`)."""
    design = np.column_stack([np.ones(targets.size), terms])
    values = np.asarray(targets, dtype=np.float64)
    coef: NDArray[np.float64] = weighted_l1(design[None], values[None],
                                            mape_weights(values, weights)[None])[0]
    return coef


def _huber_weights(windows: NDArray[np.float64], coef: NDArray[np.float64], intercept: float,
                   k: float, weights: NDArray[np.float64] | None = None) -> NDArray[np.float64]:
    """Huber weights min(1, k*s/|r - median r|) of the residuals r of a fit on windows (1+P, N),
    s their robust scale (1.4826 MAD), shaped (1, N); medians weighted by `weights` (N,)."""
    residual = windows[0] - (coef @ windows[1:] + intercept)
    residual -= _median(residual, weights)  # a burst-pulled fit is off-centre
    scale = 1.4826 * _median(np.abs(residual), weights)
    if scale == 0:
        return np.ones((1, residual.size))
    huber: NDArray[np.float64] = np.minimum(1.0, k * scale / np.maximum(np.abs(residual),
                                                                         1e-300))
    return huber[None, :]


def _median(values: NDArray[np.float64], weights: NDArray[np.float64] | None) -> float:
    """The (lower) weighted median; weights count as repetitions."""
    if weights is None:
        return float(np.median(values))
    order = np.argsort(values)
    cumulative = np.cumsum(weights[order])
    if cumulative[-1] <= 0:
        return float(np.median(values))
    middle = int(np.searchsorted(cumulative, 0.5 * cumulative[-1]))
    lower = float(values[order][middle])
    if np.isclose(cumulative[middle], 0.5 * cumulative[-1]) and middle + 1 < values.size:
        return 0.5 * (lower + float(values[order][middle + 1]))
    return lower


def _run_chunks(work: Callable[[int], None], starts: range, n_jobs: int | None) -> None:
    """Run `work` for every chunk start, on `n_jobs` threads (-1: one per CPU).

    Threads, not processes: numpy releases the GIL in the array operations
    that dominate a chunk, and the workers write disjoint rows of shared
    arrays. BLAS is held to one thread meanwhile so the two pools don't
    oversubscribe the cores.
    """
    workers = (os.cpu_count() or 1) if n_jobs == -1 else (n_jobs or 1)
    workers = min(workers, len(starts))
    if workers <= 1:
        for lo in starts:
            work(lo)
        return
    with threadpool_limits(1), ThreadPoolExecutor(workers) as pool:
        for _ in pool.map(work, starts):
            pass


#: the point forecasts `predict` can give (see its docstring)
POINTS = ("median", "mape", "mape_calendar")


def _require_int(name: str, value: object, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum} (got {value!r})")


def _series_array(Y: ArrayLike) -> NDArray[np.float64]:
    series = np.asarray(Y, dtype=np.float64)
    if series.ndim != 2:
        raise ValueError(f"Y must be 2-D (n_series, n_time), got shape {series.shape}")
    if not np.isfinite(series).all():
        raise ValueError("Y contains NaN or infinity")
    return series


def _prior(prior_coef: ArrayLike | None, n_features: int, n_series: int
           ) -> NDArray[np.float64] | None:
    if prior_coef is None:
        return None
    prior = np.asarray(prior_coef, dtype=float)
    if prior.shape not in {(n_features,), (n_series, n_features)}:
        raise ValueError(f"prior_coef must have shape ({n_features},) or "
                         f"({n_series}, {n_features}), got {prior.shape}")
    return np.broadcast_to(prior, (n_series, n_features))
