"""Lag features from series: which lags a forecast uses, and the matrices built from them.

A row is one forecast: its target is y[t] and its features are y[t - L] for
every lag L of the spec. Every lag is at least the horizon H, so a row for
y[t] reads only y[..t-H] — the rule the backtest holds the model to.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
from numpy.typing import ArrayLike, NDArray


@dataclass(frozen=True)
class LagSpec:
    """Which past values forecast y[t] at horizon `horizon` (all in steps).

    - recent: y[t-H], ..., y[t-H-window+1], the last `window` values seen;
    - seasonal at the target: y[t - k*M] for the first `n_periods` k with
      k*M >= H, the same time of day on previous days (M = `period`);
    - seasonal at the origin: y[t - H - k*M], k = 1..n_periods, the origin's
      time of day on previous days. With the recent values they let a linear
      model see "today runs at x times yesterday" and carry it to the target,
      which is what saves a forecast on a day unlike the others (a holiday, a
      storm).
    """

    window: int
    horizon: int
    period: int | None = None
    n_periods: int = 0

    def __post_init__(self) -> None:
        if self.window < 1:
            raise ValueError(f"window must be >= 1 (got {self.window})")
        if self.horizon < 1:
            raise ValueError(f"horizon must be >= 1 step (got {self.horizon})")
        if self.period is not None and self.period < 1:
            raise ValueError(f"period must be >= 1 step (got {self.period})")
        if self.n_periods < 0:
            raise ValueError(f"n_periods must be >= 0 (got {self.n_periods})")

    @cached_property
    def lags(self) -> NDArray[np.intp]:
        """Sorted distinct lags, each >= horizon."""
        h = self.horizon
        lags = set(range(h, h + self.window))
        if self.period and self.n_periods:
            m = self.period
            first = -(-h // m)  # smallest k with k*m >= h
            lags.update(k * m for k in range(first, first + self.n_periods))
            lags.update(h + k * m for k in range(1, self.n_periods + 1))
        return np.array(sorted(lags), dtype=np.intp)

    @property
    def lookback(self) -> int:
        """The largest lag: the first target a series can supply is y[lookback]."""
        return int(self.lags[-1])


def lag_matrix(y: ArrayLike, lags: NDArray[np.intp], targets: ArrayLike
               ) -> NDArray[np.float64]:
    """Rows `X[i, k] = y[targets[i] - lags[k]]` from one series (raw values)."""
    series = np.asarray(y, dtype=np.float64)
    at = np.asarray(targets, dtype=np.intp)
    if at.size and (at.min() - lags[-1] < 0 or at.max() >= series.size):
        raise ValueError(f"targets need {lags[-1]} earlier points and must lie inside the series")
    rows: NDArray[np.float64] = series[at[:, None] - lags[None, :]]
    return rows


def lag_windows(z: NDArray[np.float64], lags: NDArray[np.intp], first_target: int,
                n_rows: int) -> NDArray[np.float64]:
    """Feature-major windows of many series: `W[s, k, i] = z[s, first_target + i - lags[k]]`.

    Shape (n_series, n_lags, n_rows). Each (s, k) row is a contiguous slice of
    the series, so this is a run of block copies and the Gram matrix of a
    chunk is one batched matrix product.
    """
    starts = first_target - lags
    if starts.min() < 0 or first_target + n_rows > z.shape[-1]:
        raise ValueError("windows reach outside the series")
    view = np.lib.stride_tricks.sliding_window_view(z, n_rows, axis=-1)
    windows: NDArray[np.float64] = view[:, starts, :]
    return windows


def origin_features(y: NDArray[np.float64], lags: NDArray[np.intp], horizon: int
                    ) -> NDArray[np.float64]:
    """Features for the target `horizon` steps after the last point of each series.

    `y` is (n_series, n_time); the result is (n_series, n_lags), raw values.
    """
    target = y.shape[-1] - 1 + horizon
    index = target - lags
    if index.min() < 0:
        raise ValueError(f"series too short: a forecast needs the last {lags[-1] - horizon + 1} "
                         f"points (have {y.shape[-1]})")
    return y[:, index]
