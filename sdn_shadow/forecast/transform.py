"""The forecaster's optional log transform: signed log1p and its exact inverse."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

#: expm1 overflows float64 just above 709.78; clipping keeps the inverse finite.
_MAX_LOG = 709.0


def forward(values: ArrayLike, log: bool) -> NDArray[np.float64]:
    """`sign(v) * log1p(|v|)` if `log`, else a float copy of `values`.

    Demand is non-negative, where this is plain log1p (zeros stay zero). The
    sign makes it total and strictly increasing on all reals, so any input is
    valid and interval ends keep their order when mapped back.
    """
    array = np.asarray(values, dtype=np.float64)
    if not log:
        return array.copy()
    logged: NDArray[np.float64] = np.sign(array) * np.log1p(np.abs(array))
    return logged


def inverse(values: ArrayLike, log: bool) -> NDArray[np.float64]:
    """The inverse of `forward` (values beyond float range come back as +-1.8e308)."""
    array = np.asarray(values, dtype=np.float64)
    if not log:
        return array.copy()
    restored: NDArray[np.float64] = np.sign(array) * np.expm1(np.minimum(np.abs(array), _MAX_LOG))
    return restored
