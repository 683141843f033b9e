"""Live recalibration of the controller's intervals: `conformal.adaptive_scale`, a round at a time.

The backtest recalibrates with `conformal.adaptive_scale`, a loop over one
series' whole test set. The controller cannot replay every series' past
each round, so this applies the same rule one round at a time, to all
series at once: when a forecast's outcome is measured (`horizon` seconds
after it was made), its score |actual - center| / radius (transformed
space, the model's own radius) joins the series' latest
`RECALIBRATION_WINDOW` scores, and its hit or miss steers the series'
adapted level (adaptive conformal inference); once `RECALIBRATION_MIN`
scores are known, the radius of each new forecast is multiplied by the
scores' quantile at that level. Fed one forecast per step and resolved
`delay` steps later, it gives `adaptive_scale`'s factors (tested).

With the log transform, a forecast made while its series was idle (a rate of
0 among the recent points it was made from), or whose outcome is idle, is
not scored: in log space a switch between
idle and busy has no size (0 to 5 MB/s is 15.4, the whole scale of the
series), so each would be a miss that raises the adapted level, and the
window's quantile would then be such a switch for the next
RECALIBRATION_WINDOW rounds, pinning every interval of an on/off series at
its cap while it runs (seen in the preemption bench: a client's upper bound
stuck at 175 Mbit/s through a whole ramp to 40). The fitted radius still
covers the switches the model was fitted on.

State is a value: `resolve` and `widen` return new ones; `recalibrate` is
what a controller round does with them. `state_arrays` and `from_state` turn
it into plain arrays and back (checked), so the history database can keep it
across a restart; the forecasts still awaiting their outcome are not kept.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from sdn_shadow.forecast import transform
from sdn_shadow.forecast.conformal import (
    ADAPT_RATE,
    MAX_ADAPTED_LEVEL,
    RECALIBRATION_MIN,
    RECALIBRATION_WINDOW,
)

#: forecasts awaiting their outcome are dropped after this many horizons
PENDING_HORIZONS = 3

ActualAt = Callable[[float, NDArray[np.intp]], NDArray[np.float64]]

#: the arrays a kept calibration is made of, and whether each holds whole numbers
STATE_ARRAYS = {"scores": False, "pushed": True, "target": False, "applied": False}


@dataclass(frozen=True)
class Pending:
    """One round's forecasts whose outcomes are not measured yet (transformed space)."""

    due: float
    rows: NDArray[np.intp]
    center: NDArray[np.float64]
    radius: NDArray[np.float64]
    scale: NDArray[np.float64]


@dataclass(frozen=True)
class Calibration:
    """Per series (a row each): the latest scores (a ring, NaN: none yet), how many were
    pushed, the adapted level, the factor on its latest forecast's radius, and the
    forecasts still awaiting their outcome."""

    level: float
    keys: tuple[str, ...] = ()
    scores: NDArray[np.float64] = field(default_factory=lambda: np.empty((0, 0)))
    pushed: NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, np.int64))
    target: NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))
    pending: tuple[Pending, ...] = ()
    applied: NDArray[np.float64] = field(default_factory=lambda: np.ones(0))
    index: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "index", {k: i for i, k in enumerate(self.keys)})
        if self.applied.size != len(self.keys):  # none applied yet
            object.__setattr__(self, "applied", np.ones(len(self.keys)))

    def rows(self, keys: Sequence[str]) -> tuple[Calibration, NDArray[np.intp]]:
        """This calibration with rows for every key of `keys`, and their rows."""
        new = [k for k in dict.fromkeys(keys) if k not in self.index]
        cal = self
        if new:
            width = RECALIBRATION_WINDOW
            cal = replace(self, keys=self.keys + tuple(new),
                          scores=np.vstack([self.scores.reshape(-1, width),
                                            np.full((len(new), width), np.nan)]),
                          pushed=np.concatenate([self.pushed, np.zeros(len(new), np.int64)]),
                          target=np.concatenate([self.target, np.full(len(new), self.level)]),
                          applied=np.concatenate([self.applied, np.ones(len(new))]))
        return cal, np.fromiter((cal.index[k] for k in keys), dtype=np.intp, count=len(keys))

    def of(self, key: str) -> dict[str, float | int] | None:
        """What the API shows of series `key`: the factor on its latest interval's radius,
        how many live scores it has and its adapted level (None: not calibrated yet)."""
        row = self.index.get(key)
        if row is None:
            return None
        return {"interval_factor": float(self.applied[row]),
                "live_scores": int(min(self.pushed[row], RECALIBRATION_WINDOW)),
                "adapted_level": float(self.target[row])}

    def factors(self, rows: NDArray[np.intp]) -> NDArray[np.float64]:
        """The factor on the fitted radius of a new forecast of each row (1 until
        `RECALIBRATION_MIN` scores are known)."""
        out = np.ones(rows.size)
        if not rows.size or not self.scores.size:
            return out
        m = np.minimum(self.pushed[rows], RECALIBRATION_WINDOW)  # only finite are pushed
        ready = np.flatnonzero(m >= RECALIBRATION_MIN)
        if not ready.size:
            return out
        target = self.target[rows[ready]]
        mr = m[ready]
        k = np.minimum(mr, np.ceil((mr + 1) * np.minimum(target, MAX_ADAPTED_LEVEL)))
        k = np.maximum(k, 1).astype(np.intp)
        value = np.empty(ready.size)
        # the k-th smallest of each window (NaN, no score yet, sorts last): one partition
        # per distinct k, a linear pass in all, where a sort of every window costs 10x
        for kk in np.unique(k):
            at = np.flatnonzero(k == kk)
            value[at] = np.partition(self.scores[rows[ready[at]]], kk - 1, axis=1)[:, kk - 1]
        out[ready] = np.where(target > 0.0, value, 0.0)
        return out


def widen(cal: Calibration, keys: Sequence[str], center: NDArray[np.float64],
          radius: NDArray[np.float64], now: float, due: float
          ) -> tuple[Calibration, NDArray[np.float64]]:
    """The recalibrated radius of forecasts of `keys` made at `now`, measured at `due`;
    the calibration that waits for their outcomes."""
    cal, rows = cal.rows(keys)
    scale = cal.factors(rows)
    kept = tuple(p for p in cal.pending if p.due >= now - PENDING_HORIZONS * (due - now))
    applied = cal.applied
    if rows.size:
        kept = (*kept, Pending(due, rows, np.asarray(center, float), np.asarray(radius, float),
                               scale))
        applied = applied.copy()
        applied[rows] = scale
    return replace(cal, pending=kept, applied=applied), radius * scale


def resolve(cal: Calibration, now: float, actual_at: ActualAt) -> Calibration:
    """Score the forecasts due by `now` against what was measured (`actual_at(due, rows)`,
    transformed, NaN: not measured): each updates its series' scores and adapted level."""
    due = [p for p in cal.pending if p.due <= now]
    if not due:
        return cal
    scores, pushed, target = cal.scores.copy(), cal.pushed.copy(), cal.target.copy()
    for p in sorted(due, key=lambda p: p.due):
        actual = actual_at(p.due, p.rows)
        seen = np.isfinite(actual) & np.isfinite(p.center) & np.isfinite(p.radius)
        rows = p.rows[seen]
        score = (np.abs(actual[seen] - p.center[seen])
                 / np.where(p.radius[seen] > 0, p.radius[seen], np.inf))
        missed = score > p.scale[seen]
        target[rows] += ADAPT_RATE * (missed.astype(float) - (1.0 - cal.level))
        scores[rows, pushed[rows] % RECALIBRATION_WINDOW] = score
        pushed[rows] += 1
    return replace(cal, scores=scores, pushed=pushed, target=target,
                   pending=tuple(p for p in cal.pending if p.due > now))



def recalibrate(cal: Calibration | None, level: float, keys: Sequence[str],
                lower: NDArray[np.float64], upper: NDArray[np.float64], log: bool,
                history: NDArray[np.float64], history_keys: Sequence[str], now: float,
                step: float, horizon: int, recent: int = 1
                ) -> tuple[Calibration, NDArray[np.float64], NDArray[np.float64]]:
    """One round: score the forecasts due by `now` against `history` (a row per key of
    `history_keys`, newest point last, taken at `now`, one point per `step` seconds), then
    widen or narrow the intervals `lower`, `upper` (data space) of `keys`' forecasts made
    now for `horizon` steps ahead from the newest `recent` points (with `log`, one made
    while any of them was idle is not scored, nor one whose outcome is idle). The
    calibration (a new one if `cal` is None or of another level) and the intervals; an
    interval whose factor is 1 is returned as is."""
    if cal is None or cal.level != level:
        cal = Calibration(level)
    at = {k: i for i, k in enumerate(history_keys)}
    row_of = np.fromiter((at.get(k, -1) for k in cal.keys), np.intp, len(cal.keys))
    width = history.shape[1] if history.ndim == 2 else 0

    def actual_at(due: float, rows: NDArray[np.intp]) -> NDArray[np.float64]:
        column = width - 1 - round((now - due) / step)
        out = np.full(rows.size, np.nan)
        if not 0 <= column < width:
            return out
        hist = row_of[rows]
        measured = np.full(rows.size, np.nan)
        seen = hist >= 0
        measured[seen] = np.maximum(history[hist[seen], column], 0.0)
        if log:  # an idle outcome is not scored (module docstring)
            measured[measured <= 0.0] = np.nan
        busy = np.isfinite(measured)
        out[busy] = transform.forward(measured[busy], log)
        return out

    cal = resolve(cal, now, actual_at)
    low, high = transform.forward(lower, log), transform.forward(upper, log)
    center, radius = (low + high) / 2, (high - low) / 2
    scored = center
    if log and width and len(history_keys):  # nor one made from an idle point: NaN, unscored
        rows = np.fromiter((at.get(k, -1) for k in keys), np.intp, len(keys))
        seen = history[np.maximum(rows, 0), max(0, width - recent):]
        idle = (rows >= 0) & (seen <= 0.0).any(axis=1)
        scored = np.where(idle, np.nan, center)
    cal, widened = widen(cal, keys, scored, radius, now, now + horizon * step)
    moved = widened != radius
    if moved.any():
        lower, upper = lower.copy(), upper.copy()
        lower[moved] = transform.inverse(center[moved] - widened[moved], log)
        upper[moved] = transform.inverse(center[moved] + widened[moved], log)
    return cal, lower, upper


def state_arrays(cal: Calibration) -> dict[str, NDArray[Any]]:
    """The arrays that keep `cal` (with its level and keys) across a restart: the scores
    up to the last column any series has filled, how many each pushed, the adapted
    levels and the factors of the latest forecasts. Not the forecasts still pending."""
    n = len(cal.keys)
    filled = int(min(cal.pushed.max(initial=0), RECALIBRATION_WINDOW))
    scores = cal.scores.reshape(n, -1)[:, :filled] if n else np.empty((0, 0))
    return {"scores": scores, "pushed": cal.pushed, "target": cal.target,
            "applied": cal.applied}


def from_state(level: float, keys: Sequence[str], arrays: Mapping[str, NDArray[Any]]
               ) -> Calibration:
    """The calibration `state_arrays` kept, checked: ValueError says what does not fit (a
    kept state that passes gives finite factors for every series)."""
    if not (isinstance(level, float) and 0.0 < level < 1.0):
        raise ValueError(f"level {level!r} is not in (0, 1)")
    if set(arrays) != set(STATE_ARRAYS):
        raise ValueError(f"arrays {sorted(arrays)}, expected {sorted(STATE_ARRAYS)}")
    n = len(keys)
    if len(set(keys)) != n:
        raise ValueError("keys repeat")
    for name, whole in STATE_ARRAYS.items():
        kind = arrays[name].dtype.kind
        if kind not in ("iu" if whole else "f"):
            raise ValueError(f"{name}: dtype {arrays[name].dtype} is not "
                             f"{'whole numbers' if whole else 'floating point'}")
    pushed = arrays["pushed"].astype(np.int64)
    target = arrays["target"].astype(np.float64)
    applied = arrays["applied"].astype(np.float64)
    scores = arrays["scores"].astype(np.float64)
    for name, value in (("pushed", pushed), ("target", target), ("applied", applied)):
        if value.shape != (n,):
            raise ValueError(f"{name}: shape {value.shape}, expected ({n},)")
    if not ((pushed >= 0).all() and np.isfinite(target).all()
            and (np.isfinite(applied) & (applied >= 0)).all()):
        raise ValueError("a count is negative, or a level or factor is not finite")
    filled = np.minimum(pushed, RECALIBRATION_WINDOW)
    width = int(filled.max(initial=0))
    if scores.ndim != 2 or scores.shape[0] != n or not width <= scores.shape[1] \
            <= RECALIBRATION_WINDOW:
        raise ValueError(f"scores: shape {scores.shape} does not hold {width} scores of "
                         f"{n} series")
    known = np.isfinite(scores)
    if (scores[known] < 0).any() or (known.sum(axis=1) != filled).any() \
            or np.isinf(scores).any():
        raise ValueError("scores: not as many finite scores >= 0 as each series pushed")
    ring = np.full((n, RECALIBRATION_WINDOW), np.nan)
    ring[:, :scores.shape[1]] = scores
    return Calibration(level, tuple(keys), ring, pushed, target, (), applied)
