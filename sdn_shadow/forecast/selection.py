"""Per-series choice of the model's settings by rolling validation on the training part only.

The training part (everything before the test set) is itself split the
backtest's way: its last `VALIDATION_FRACTION` is a validation set, forecast
with refits every `max(refit_every, 2 periods)` steps, each from the rows
whose targets are at most H steps older. Every candidate of `CANDIDATES`
is scored by the MAPE of its point forecast there; the best one (the
given settings on ties) is what the test set then sees. No test point is
read: the choice is made once, from y[..start-1].

The last candidate changes the point itself: from the log-space ridge's
MAPE point (its median shifted by one number) to a time-of-day profile
fitted to the MAPE itself (`mape_fit`), with one season of lags so that it
has more rows to fit (the lags then shape only the interval). It is for
series the lags hardly predict, bursty ones whose small values, which
MAPE weighs most, come at some times of day more than others. As it
replaces a MAPE point by another, it is only tried when the given point
is "mape": a caller who asked for the median gets a median.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from sdn_shadow.forecast import metrics

#: the share of the training part that validates the candidates
VALIDATION_FRACTION = 0.25

#: changes to the given settings to try (the first, none, is the given settings)
CANDIDATES: tuple[dict[str, Any], ...] = (
    {},
    {"daily_terms": 2},
    {"daily_terms": 1, "weekly_terms": 1},
    {"daily_terms": 2, "weekly_terms": 2},
    {"window_factor": 2, "daily_terms": 2, "weekly_terms": 2},
    {"point": "mape_calendar", "daily_terms": 2, "n_periods": 1},
)


@dataclass(frozen=True)
class Choice:
    """The chosen settings, and the validation MAPE of every candidate tried."""

    changes: dict[str, Any]
    scores: list[tuple[dict[str, Any], float]]


def apply(setup: Any, change: dict[str, Any]) -> Any:
    """`setup` (a BacktestSetup) with one candidate's changes."""
    fields = {k: v for k, v in change.items() if k != "window_factor"}
    if "window_factor" in change:
        fields["window"] = max(1, round(setup.window * change["window_factor"]))
    return replace(setup, **fields)


def choose(values: NDArray[np.float64], setup: Any, start: int) -> Choice:
    """The candidate with the lowest validation MAPE on y[:start] (`setup` from `fit_setup`)."""
    from sdn_shadow.forecast.backtest import BacktestError, fit_setup, rolling_forecasts

    train = np.asarray(values, dtype=float)[:start]
    scores: list[tuple[dict[str, Any], float]] = []
    for change in CANDIDATES:
        if "point" in change and setup.point != "mape":
            continue
        trial = apply(setup, change)
        trial = replace(trial, train_fraction=1.0 - VALIDATION_FRACTION, recalibrate=False,
                        select=False, refit_every=max(setup.refit_every, 2 * setup.period))
        try:
            trial = fit_setup(train.size, trial)
            found = rolling_forecasts(train, trial)
        except BacktestError:
            continue
        scores.append((change, metrics.mape(train[found.targets], found.point)))
    if not scores:
        return Choice({}, [])
    best = min(scores, key=lambda item: item[1])
    return Choice(best[0], scores)
