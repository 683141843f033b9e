"""Linear fits that minimise MAPE: weighted L1 regression by IRLS, batched over series.

MAPE is sum |y - f| / |y|: an L1 loss with weights 1/|y|. Its minimiser over
a linear f = A b is a weighted median regression, which iteratively
reweighted least squares reaches: each step solves the least squares with
weights w / |r| at the previous residuals r, which makes its loss equal the
L1 one at those residuals (Schlossmacher 1973). The loss is convex, so the
start does not matter; it is the least squares fit.

Why a separate fit, not the ridge in log space plus a shift
(`conformal.mape_shift`): that shift is one number per model, while the
value MAPE asks for, a low quantile-like point of the forecast distribution,
moves with the distribution's spread: on a bursty series whose small values
come at some times of day more than others, the MAPE-optimal value moves
with the time of day more than the median does. A profile over the
calendar terms fitted to MAPE itself follows that (`model`'s point
"mape_calendar"; per series, `selection` decides whether it is worth it).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

#: weighted residuals under this count as this, which keeps the IRLS weights finite
FLOOR = 1e-4
#: the most IRLS steps; the loss changes by under TOLERANCE (relative) long before, usually
MAX_STEPS = 100
#: relative change of the loss between steps at which IRLS stops
TOLERANCE = 1e-9
#: diagonal loading of the least squares systems, relative to their mean diagonal
_LOADING = 1e-10


def mape_weights(target: NDArray[np.float64], sample_weight: NDArray[np.float64] | None = None
                 ) -> NDArray[np.float64]:
    """Weights 1/|y| (times `sample_weight`): zero targets get 0, as MAPE leaves them out."""
    size = np.abs(np.asarray(target, dtype=np.float64))
    weights = np.divide(1.0, size, out=np.zeros_like(size), where=size > 0)
    return weights if sample_weight is None else weights * sample_weight


def weighted_l1(design: NDArray[np.float64], target: NDArray[np.float64],
                weights: NDArray[np.float64], max_steps: int = MAX_STEPS
                ) -> NDArray[np.float64]:
    """Coefficients (S, P) minimising sum_n weights |target - design @ b| for every series s.

    `design` (S, N, P) holds the regressors (an intercept is a column of
    ones), `target` and `weights` (S, N), weights >= 0. All series step
    together, each step one batched solve (a settled series' solve is
    discarded: it keeps the coefficients of its lowest loss). Rows of weight
    0 do not count.
    """
    n_series, _, n_coef = design.shape
    coef = np.zeros((n_series, n_coef))
    active = np.ones(n_series, dtype=bool)
    loss = np.full(n_series, np.inf)
    step_weights = weights
    for _ in range(max_steps):
        fresh = _weighted_least_squares(design, target, step_weights)
        residual = np.abs(target - np.einsum("snp,sp->sn", design, fresh))
        new_loss = np.einsum("sn,sn->s", weights, residual)
        settled = new_loss >= loss * (1.0 - TOLERANCE)
        better = active & (new_loss <= loss)
        coef[better] = fresh[better]
        loss = np.where(better, new_loss, loss)
        active &= ~settled
        if not active.any():
            break
        # w / |r|, as w^2 / (w |r|) so that the floor is on the weighted residual
        step_weights = weights * weights / np.maximum(weights * residual, FLOOR)
    return coef


def _weighted_least_squares(design: NDArray[np.float64], target: NDArray[np.float64],
                            weights: NDArray[np.float64]) -> NDArray[np.float64]:
    """Per series, argmin_b sum weights (target - design @ b)^2 (loaded: never singular)."""
    weighted = design * weights[:, :, None]
    gram = np.einsum("snp,snq->spq", weighted, design)
    loading = _LOADING * np.maximum(np.trace(gram, axis1=1, axis2=2) / gram.shape[-1], 1e-300)
    gram += loading[:, None, None] * np.eye(gram.shape[-1])
    rhs = np.einsum("snp,sn->sp", weighted, target)
    coef: NDArray[np.float64] = np.linalg.solve(gram, rhs[..., None])[..., 0]
    return coef
