"""Batched ridge regression from centred moments: one solve for many independent problems.

Each problem s has a target (row 0 of its windows) and features (rows 1..).
Its moments are the weight total, the column means and the centred scatter
matrix; the ridge solution and the intercept follow from them alone, so the
moments can come from anywhere — a direct product of the data
(`direct_moments`), the lag structure (`gram.lag_moments`), or two parts
merged (`combine`, for the fit on the training part plus the calibration part).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Moments:
    """Weight totals (S,), column means (S, F) and centred scatter (S, F, F); column 0 is y."""

    count: np.ndarray
    mean: np.ndarray
    scatter: np.ndarray


def direct_moments(windows: np.ndarray, weights: np.ndarray | None = None) -> Moments:
    """Moments of feature-major data `windows` (S, F, N), with optional row weights (S, N).

    The data are centred before the product, which keeps the scatter accurate
    when the means are large against the spread.
    """
    n_rows = windows.shape[-1]
    if weights is None:
        count = np.full(windows.shape[0], float(n_rows))
        mean = windows.mean(axis=-1)
        centred = windows - mean[..., None]
        scatter = centred @ centred.transpose(0, 2, 1)
    else:
        count = weights.sum(axis=-1)
        mean = np.einsum("sfn,sn->sf", windows, weights) / count[:, None]
        centred = windows - mean[..., None]
        scatter = (centred * weights[:, None, :]) @ centred.transpose(0, 2, 1)
    return Moments(count, mean, scatter)


def combine(a: Moments, b: Moments) -> Moments:
    """Moments of the union of two disjoint row sets (the parallel-axis rule)."""
    count = a.count + b.count
    delta = b.mean - a.mean
    share = (b.count / count)[:, None]
    mean = a.mean + delta * share
    cross = (a.count * b.count / count)[:, None, None] * delta[:, :, None] * delta[:, None, :]
    return Moments(count, mean, a.scatter + b.scatter + cross)


def stack(a: Moments, b: Moments) -> Moments:
    """The problems of `a` then those of `b`, to solve in one call."""
    return Moments(np.concatenate([a.count, b.count]), np.concatenate([a.mean, b.mean]),
                   np.concatenate([a.scatter, b.scatter]))


def solve(moments: Moments, alpha: float, prior: np.ndarray | None = None
          ) -> tuple[np.ndarray, np.ndarray]:
    """Ridge coefficients (S, P) and intercepts (S,) of y on the features.

    Minimises sum w (y - c - x.b)^2 + alpha * |b - prior|^2 with c free (not
    penalised); `prior` (P,) or (S, P) defaults to zero, plain ridge. A prior
    is the hook for series with little history: their coefficients stay near
    a profile's until their own data outweigh it.
    """
    sxx = moments.scatter[:, 1:, 1:]
    sxy = moments.scatter[:, 1:, 0]
    n_features = sxx.shape[-1]
    lhs = sxx + alpha * np.eye(n_features)
    rhs = sxy if prior is None else sxy + alpha * np.broadcast_to(prior, sxy.shape)
    coef = np.linalg.solve(lhs, rhs[..., None])[..., 0]
    intercept = moments.mean[:, 0] - np.einsum("sp,sp->s", moments.mean[:, 1:], coef)
    return coef, intercept
