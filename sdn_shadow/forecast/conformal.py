"""Split-conformal prediction intervals from out-of-sample residuals.

Why split conformal, not quantile regression: it needs only absolute
residuals of forecasts the model did not see, it holds its coverage for any
model and any residual distribution as long as the calibration errors are
representative of the next ones (for a series: the recent past), and it
costs one more ridge solve, on products formed in the same pass over the
data (the older rows' and the calibration rows', added for the final fit).
Quantile regression would need its own fit per bound and level, and its
coverage is only asymptotic.

The procedure: fit on the older part of the training rows, forecast the
newest `n_cal` rows, take the ceil((n+1)*level)-th smallest absolute error
(weights count as repetitions), then refit on all rows for the point
forecast. The newest rows calibrate because they are the best guide to the
next error. The refit trades the exact finite-sample guarantee (which holds
for the calibrated model, not a newer one) for a model that has seen the
latest data; the backtest measures the coverage this actually gets. With a
log transform the band is symmetric in log space, hence asymmetric in the
data: a multiplicative error, as demand has.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

#: `fit_of(split)`: coefficients (2S, P) and intercepts (2S,), see `fit_calibrated`.
FitOf = Callable[[int], tuple[NDArray[np.float64], NDArray[np.float64]]]
#: `errors_of(split, coef, intercept)`: absolute errors (S, n_rows - split).
ErrorsOf = Callable[[int, NDArray[np.float64], NDArray[np.float64]], NDArray[np.float64]]


def calibration_rows(n_rows: int, fraction: float) -> int:
    """How many of the newest rows calibrate (0 when there are fewer than 2 rows)."""
    if n_rows < 2:
        return 0
    return min(n_rows - 1, max(1, round(fraction * n_rows)))


def conformal_quantile(abs_residuals: NDArray[np.float64], level: float,
                       weights: NDArray[np.float64] | None = None) -> NDArray[np.float64]:
    """Per row of (S, n) residuals, the split-conformal radius at `level` (inf if n is too small).

    The radius is the smallest residual r with weight(residuals <= r) >=
    level * (total weight + 1): the ceil((n+1)*level)-th smallest for unit
    weights. The +1 stands for the point being forecast.
    """
    n = abs_residuals.shape[-1]
    if weights is None:  # the k-th smallest, k = ceil((n+1) * level), by selection
        k = math.ceil((n + 1) * level * (1 - 1e-12))
        if k > n:
            return np.full(abs_residuals.shape[0], math.inf)
        return np.partition(abs_residuals, k - 1, axis=-1)[:, k - 1]
    order = np.argsort(abs_residuals, axis=-1)
    ranked = np.take_along_axis(abs_residuals, order, axis=-1)
    cumulative = np.cumsum(np.take_along_axis(weights, order, axis=-1), axis=-1)
    need = level * (cumulative[:, -1:] + 1.0) * (1 - 1e-12)  # tolerate rounding in the sum
    reached = cumulative >= need
    first = np.argmax(reached, axis=-1)
    radius = np.take_along_axis(ranked, first[:, None], axis=-1)[:, 0]
    return np.where(reached.any(axis=-1), radius, math.inf)


def fit_calibrated(n_rows: int, n_cal: int, fit_of: FitOf, errors_of: ErrorsOf, level: float,
                   weights: NDArray[np.float64] | None = None
                   ) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Coefficients, intercepts (on all n_rows rows) and conformal radii, per series.

    `fit_of(split)` fits every series on rows 0..split-1 and on all rows and
    returns the coefficients (2S, P) and intercepts (2S,) of the S older fits
    then the S complete ones, so the caller chooses how and can share the
    work between the two; `errors_of(split, coef, intercept)` returns the
    absolute errors (S, n_rows - split) of fits (S, P), (S,) on the rows
    from `split` on (see `held_out_errors`). `weights` (S, n_rows) are row
    weights for the calibration quantile. With no calibration rows, or no
    weight on either side, the radius is inf: nothing out of sample to go by.
    """
    split = n_rows - n_cal
    if n_cal == 0 or (weights is not None
                      and ((weights[:, :split].sum(axis=1) == 0).any()
                           or (weights[:, split:].sum(axis=1) == 0).any())):
        coef, intercept = fit_of(n_rows)
        n_series = coef.shape[0] // 2
        return coef[n_series:], intercept[n_series:], np.full(n_series, math.inf)
    coef, intercept = fit_of(split)
    n_series = coef.shape[0] // 2
    errors = errors_of(split, coef[:n_series], intercept[:n_series])
    radius = conformal_quantile(errors, level, None if weights is None else weights[:, split:])
    return coef[n_series:], intercept[n_series:], radius


def held_out_errors(windows: NDArray[np.float64], coef: NDArray[np.float64],
                    intercept: NDArray[np.float64], signed: bool = False) -> NDArray[np.float64]:
    """Absolute errors (S, N) of fits (S, P), (S,) on windows (S, 1+P, N), target row first.

    With `signed`, actual minus forecast instead.
    """
    forecast = (coef[:, None, :] @ windows[:, 1:, :])[:, 0, :]
    forecast += intercept[:, None]
    error = np.subtract(windows[:, 0, :], forecast, out=forecast)
    return error if signed else np.abs(error, out=error)


def mape_shift(log_errors: NDArray[np.float64], weights: NDArray[np.float64] | None = None
               ) -> NDArray[np.float64]:
    """Per row of (S, n) signed log errors e (actual = forecast * exp(e)), the shift s of the
    log forecast that minimises the mean absolute percentage error on them.

    APE of the forecast F*c is |c*exp(-e) - 1|, so the best c is the median of
    exp(e) weighted by exp(-e): the "beta-median" that MAPE elicits (Gneiting
    2011), below the median when errors are spread. s = log c. Rows with no
    errors get 0. `weights` (S, n) count errors as repetitions would.
    """
    if log_errors.shape[-1] == 0:
        return np.zeros(log_errors.shape[0])
    e = np.clip(log_errors, -50.0, 50.0)
    index = np.argsort(e, axis=-1)
    order = np.take_along_axis(e, index, axis=-1)
    mass = np.exp(-order)
    if weights is not None:
        mass *= np.take_along_axis(np.broadcast_to(weights, e.shape), index, axis=-1)
    cumulative = np.cumsum(mass, axis=-1)
    half = 0.5 * cumulative[:, -1:] * (1 - 1e-12)
    at = np.argmax(cumulative >= half, axis=-1)
    shift: NDArray[np.float64] = np.take_along_axis(order, at[:, None], axis=-1)[:, 0]
    return shift



#: how many of the latest realised forecasts recalibrate the radius
RECALIBRATION_WINDOW = 500
#: below this many realised forecasts, the radius stands as fitted
RECALIBRATION_MIN = 100
#: step of the adaptive level (Gibbs and Candes 2021, adaptive conformal inference)
ADAPT_RATE = 0.01
#: the adapted level stops here
MAX_ADAPTED_LEVEL = 0.98


def adaptive_scale(actual: NDArray[np.float64], center: NDArray[np.float64],
                   radius: NDArray[np.float64], level: float, delay: int,
                   rate: float = ADAPT_RATE) -> NDArray[np.float64]:
    """Per forecast i (in time order), the factor on its fitted radius that live errors call for.

    Split conformal again on scores |actual - center| / radius of the latest
    RECALIBRATION_WINDOW forecasts whose outcome is known when forecast i is
    made (those `delay` = H or more steps older), at a level that adaptive
    conformal inference steers: each known miss raises it by rate*level,
    each hit lowers it by rate*(1-level), so the long-run coverage is held
    at `level` whatever the errors do (a holiday season, a storm). The
    fitted radius comes from training rows; this follows the live ones.
    Factor 1 while fewer than RECALIBRATION_MIN outcomes are known. All
    arrays transformed, in time order.
    """
    n = actual.size
    scores = np.abs(actual - center) / np.where(radius > 0, radius, np.inf)
    scale = np.ones(n)
    target = level
    for i in range(n):
        known = i - delay + 1  # forecasts 0..known-1 have their outcome
        if known >= 1:
            j = known - 1
            missed = bool(scores[j] > scale[j])
            target += rate * (float(missed) - (1.0 - level))
        if known < RECALIBRATION_MIN:
            continue
        window = scores[max(0, known - RECALIBRATION_WINDOW):known]
        window = window[np.isfinite(window)]
        if window.size < RECALIBRATION_MIN:
            continue
        if target > 0.0:  # capped: the window's maximum would be one burst's error
            k = min(window.size, math.ceil((window.size + 1) * min(target, MAX_ADAPTED_LEVEL)))
            scale[i] = float(np.partition(window, k - 1)[k - 1])
        else:
            scale[i] = 0.0
    return scale
