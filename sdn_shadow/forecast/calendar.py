"""Calendar terms: Fourier pairs of the time of day and of the week, from step indices."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

#: periods in a week
WEEK = 7


def calendar_terms(phase: ArrayLike, period: int, daily: int, weekly: int
                   ) -> NDArray[np.float64]:
    """(n, 2 * (daily + weekly)) sin/cos pairs of harmonics 1..daily of `period` steps and
    1..weekly of a week of 7 periods, at step indices `phase` (any fixed origin)."""
    at = np.asarray(phase, dtype=np.float64).reshape(-1)
    columns = []
    for cycle, count in ((period, daily), (WEEK * period, weekly)):
        angle = 2.0 * np.pi * np.mod(at, cycle) / cycle
        for k in range(1, count + 1):
            columns += [np.sin(k * angle), np.cos(k * angle)]
    if not columns:
        return np.empty((at.size, 0))
    return np.column_stack(columns)


def calendar_rows(phase: ArrayLike | None, n_rows: int, period: int | None, daily: int,
                  weekly: int) -> NDArray[np.float64]:
    """Checked calendar terms of n_rows targets at step indices `phase` ((n_rows, 0) if off)."""
    if not daily + weekly:
        return np.empty((n_rows, 0))
    if phase is None:
        raise ValueError("daily_terms and weekly_terms need the targets' phase")
    if period is None:
        raise ValueError("daily_terms and weekly_terms need a period")
    at = np.asarray(phase)
    if at.shape != (n_rows,):
        raise ValueError(f"phase must have shape ({n_rows},), got {at.shape}")
    return calendar_terms(at, period, daily, weekly)
