"""The LightGBM lag model: a strong outside peer, run under the backtest's own protocol.

Features for the target y[t] at horizon H (z = log1p of the series, base =
z[t-H]): the base itself, the recent values z[t-H-k] - base for k = 1..23,
the seasonal values z[t - k*M] - base at whole periods (k*M >= H, the first
`n_periods` of them), the time of day and the day of the week. The target is
the log difference z[t] - base; the forecast is expm1(base + prediction).
Every feature reads y[..t-H]. The model is refitted every `refit_every`
steps (2 periods by default) on all rows whose target is at most block - H,
exactly as the backtest refits ours. lightgbm is optional (the `bench`
extra); `require_lightgbm` says so in one line when it is missing.
"""

from __future__ import annotations

import importlib
from typing import Any

import numpy as np
from numpy.typing import NDArray

from sdn_shadow.forecast.conformal import mape_shift
from sdn_shadow.forecast.transform import forward, inverse

WINDOW = 24
N_PERIODS = 7
PARAMS: dict[str, Any] = {
    "n_estimators": 300, "learning_rate": 0.05, "num_leaves": 31, "min_child_samples": 20,
    "subsample": 1.0, "colsample_bytree": 0.9, "verbose": -1, "random_state": 0,
    "deterministic": True, "n_jobs": 1,
}


class PeerUnavailable(RuntimeError):
    """lightgbm is not installed (one-line message saying how to get it)."""


def require_lightgbm() -> Any:
    """The lightgbm module, or PeerUnavailable naming the extra that brings it."""
    try:
        return importlib.import_module("lightgbm")
    except ImportError:
        raise PeerUnavailable("--peer gbm needs lightgbm: pip install 'sdn-shadow[bench]' "
                              "(or pip install lightgbm)") from None


def seasonal_lags(horizon: int, period: int, n_periods: int = N_PERIODS) -> list[int]:
    """Whole-period lags k*M >= H, the first `n_periods` of them."""
    first = -(-horizon // period)
    return [k * period for k in range(first, first + n_periods)]


def gbm_features(z: NDArray[np.float64], clock: NDArray[np.float64], targets: NDArray[np.intp],
                 horizon: int, period: int) -> NDArray[np.float64]:
    """Feature rows for `targets` of the log series z; `clock` is (time of day, day of week)."""
    h = horizon
    base = z[targets - h]
    recent = z[targets[:, None] - h - np.arange(1, WINDOW)[None, :]] - base[:, None]
    seasonal = z[targets[:, None] - np.array(seasonal_lags(h, period))[None, :]] - base[:, None]
    return np.column_stack([base, recent, seasonal, clock[targets]])


def clock_features(times: NDArray[np.float64] | None, n: int, period: int
                   ) -> NDArray[np.float64]:
    """(n, 2): time of day in [0, 1) and day of week 0..6, from the timestamps (epoch seconds).

    Without timestamps, the position in the period and in a week of 7 periods.
    """
    if times is None:
        t = np.arange(n)
        return np.column_stack([(t % period) / period, (t // period) % 7]).astype(float)
    days = np.asarray(times, dtype=float) / 86400.0
    # Monday is 0; 1970-01-01 was a Thursday
    return np.column_stack([days % 1.0, np.floor(days + 3.0) % 7])


def lookback(horizon: int, period: int) -> int:
    """The largest lag the features read."""
    return max(horizon + WINDOW - 1, seasonal_lags(horizon, period)[-1])


def gbm_forecasts(values: NDArray[np.float64], times: NDArray[np.float64] | None,
                  horizon: int, period: int, start: int, refit_every: int | None = None,
                  params: dict[str, Any] | None = None, point: str = "median"
                  ) -> tuple[NDArray[np.float64], int]:
    """Point forecasts of y[start:] at `horizon`, refitting every `refit_every` (2 periods) steps.

    Returns the forecasts and the number of fits. `point="mape"` gives the
    peer the shift ours gets (`conformal.mape_shift` of the held-out errors
    of a fit on the older 80% of the training rows, on the newest 20%): a
    like-for-like comparison, at twice the fits.
    """
    lgb = require_lightgbm()
    y = np.asarray(values, dtype=float)
    n, h = y.size, horizon
    every = refit_every or 2 * period
    z = forward(np.maximum(y, 0.0), True)
    clock = clock_features(times, n, period)
    first = lookback(h, period)
    if start - h + 1 - first < 50:
        raise ValueError(f"the training part ({start} points) is too short for the peer at "
                         f"horizon {h} and period {period}")
    all_targets = np.arange(first, n)
    X_all = gbm_features(z, clock, all_targets, h, period)
    d_all = z[all_targets] - z[all_targets - h]
    forecast = np.empty(n - start)
    fits = 0
    settings = {**PARAMS, **(params or {})}
    for block in range(start, n, every):
        train = np.flatnonzero(all_targets <= block - h)
        shift = 0.0
        if point == "mape":
            split = int(0.8 * train.size)
            older = lgb.LGBMRegressor(**settings).fit(X_all[train[:split]], d_all[train[:split]])
            fits += 1
            held = train[split:]
            errors = d_all[held] - older.predict(X_all[held])
            shift = float(mape_shift(errors[None, :])[0])
        model = lgb.LGBMRegressor(**settings)
        model.fit(X_all[train], d_all[train])
        fits += 1
        test = np.arange(block, min(block + every, n))
        rows = X_all[test - first]
        forecast[test - start] = inverse(z[test - h] + model.predict(rows) + shift, True)
    return forecast, fits
