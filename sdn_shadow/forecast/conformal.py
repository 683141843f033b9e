"""Split-conformal prediction intervals from out-of-sample residuals.

Why split conformal, not quantile regression: it needs only absolute
residuals of forecasts the model did not see, it holds its coverage for any
model and any residual distribution as long as the calibration errors are
representative of the next ones (for a series: the recent past), and it
costs one more ridge solve on moments already computed, not a second pass
over the data. Quantile regression would need its own fit per bound and
level, and its coverage is only asymptotic.

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

from sdn_shadow.forecast import ridge
from sdn_shadow.forecast.ridge import Moments


def calibration_rows(n_rows: int, fraction: float) -> int:
    """How many of the newest rows calibrate (0 when there are fewer than 2 rows)."""
    if n_rows < 2:
        return 0
    return min(n_rows - 1, max(1, round(fraction * n_rows)))


def conformal_quantile(abs_residuals: np.ndarray, level: float,
                       weights: np.ndarray | None = None) -> np.ndarray:
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


def fit_calibrated(windows: np.ndarray, n_cal: int, moments_of: Callable[[int, int], Moments],
                   alpha: float, level: float, prior: np.ndarray | None = None,
                   weights: np.ndarray | None = None
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Coefficients, intercepts (on all rows) and conformal radii for (S, F, N) windows.

    `moments_of(start, stop)` returns the moments of rows start..stop-1, so the
    caller chooses how (direct or lag-structured); `weights` (S, N) are row
    weights for the calibration quantile. With no calibration rows, or no
    weight on either side, the radius is inf: nothing out of sample to go by.
    """
    n_series, _, n_rows = windows.shape
    split = n_rows - n_cal
    if n_cal == 0 or (weights is not None
                      and ((weights[:, :split].sum(axis=1) == 0).any()
                           or (weights[:, split:].sum(axis=1) == 0).any())):
        coef, intercept = ridge.solve(moments_of(0, n_rows), alpha, prior)
        return coef, intercept, np.full(n_series, math.inf)
    older = moments_of(0, split)
    both = ridge.stack(older, ridge.combine(older, moments_of(split, n_rows)))
    priors = None if prior is None else np.concatenate([prior, prior])
    coef, intercept = ridge.solve(both, alpha, priors)
    cal = windows[:, :, split:]
    forecast = intercept[:n_series, None] + (coef[:n_series, None, :] @ cal[:, 1:, :])[:, 0, :]
    radius = conformal_quantile(np.abs(cal[:, 0, :] - forecast), level,
                                None if weights is None else weights[:, split:])
    return coef[n_series:], intercept[n_series:], radius
