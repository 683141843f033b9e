"""The forecaster's optional log transform: signed log1p and its exact inverse."""

from __future__ import annotations

import numpy as np

#: expm1 overflows float64 just above 709.78; clipping keeps the inverse finite.
_MAX_LOG = 709.0


def forward(values: np.ndarray, log: bool) -> np.ndarray:
    """`sign(v) * log1p(|v|)` if `log`, else a float copy of `values`.

    Demand is non-negative, where this is plain log1p (zeros stay zero). The
    sign makes it total and strictly increasing on all reals, so any input is
    valid and interval ends keep their order when mapped back.
    """
    values = np.asarray(values, dtype=float)
    if not log:
        return values.copy()
    return np.sign(values) * np.log1p(np.abs(values))


def inverse(values: np.ndarray, log: bool) -> np.ndarray:
    """The inverse of `forward` (values beyond float range come back as +-1.8e308)."""
    values = np.asarray(values, dtype=float)
    if not log:
        return values.copy()
    return np.sign(values) * np.expm1(np.minimum(np.abs(values), _MAX_LOG))
