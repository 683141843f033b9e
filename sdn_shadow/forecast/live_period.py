"""Each live series' seasonal period: the configured one is a hint, the data decides.

The controller's forecast round asks `detect_periods` (see `period`) about a
series once it has a whole window, and again every `forecast.period_check`
seconds, at most `CHECKS_PER_ROUND` series a round (oldest checks first), so a
round of 10k series stays fast while new series wait their turn on the hint.
A check that could not see four hinted periods (a short series) is redone
sooner, every tenth of that time, until the series has the points. What a
check decided is a `PeriodChoice`: the period the model uses, where it came
from and why, kept with the fitted models so a restart forecasts from it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from sdn_shadow.forecast.period import MIN_CYCLES, PeriodFinding, detect_periods

#: at most this many series have their period checked in one round
CHECKS_PER_ROUND = 200
#: a check that saw too few points is redone after this share of `period_check`
SHORT_RECHECK = 0.1
SOURCES = frozenset({"data", "hint", "default"})


@dataclass(frozen=True, slots=True)
class PeriodChoice:
    """The period (steps; None: no seasonal lags) a series' model uses, and why.

    `source` is "data" (found in the series), "hint" (the configured period,
    confirmed, unconfirmed or not checked yet) or "default" (no hint, no cycle).
    `checked_at` is when the data was last asked (None: not yet), `points` how
    many points it had, `short` whether they were too few to check the hint,
    `hint` the configured period it was made under (another hint: checked again).
    """

    period: int | None
    source: str
    reason: str
    checked_at: float | None = None
    points: int = 0
    short: bool = False
    hint: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (what the model store keeps)."""
        return {"period": self.period, "source": self.source, "reason": self.reason,
                "checked_at": self.checked_at, "points": self.points, "short": self.short,
                "hint": self.hint}

    @classmethod
    def from_dict(cls, data: object) -> PeriodChoice | None:
        """The choice `data` holds, or None if it is not a well-formed one."""
        if not isinstance(data, dict):
            return None
        period, source, reason = data.get("period"), data.get("source"), data.get("reason")
        checked, points, short = data.get("checked_at"), data.get("points", 0), data.get("short")
        hint = data.get("hint")
        if not all(p is None or (_is_int(p) and p >= 1) for p in (period, hint)):
            return None
        if source not in SOURCES or not isinstance(reason, str) or len(reason) > 500:
            return None
        if checked is not None and not (isinstance(checked, int | float)
                                        and not isinstance(checked, bool)
                                        and math.isfinite(checked)):
            return None
        if not (_is_int(points) and points >= 0) or not isinstance(short, bool):
            return None
        return cls(period, source, reason, None if checked is None else float(checked),
                   points, short, hint)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def unchecked(hint: int | None, why: str) -> PeriodChoice:
    """The hint, used until the data is checked (`why` it is not yet)."""
    if hint is None:
        return PeriodChoice(None, "default", f"no period configured; {why}")
    return PeriodChoice(hint, "hint", f"the hint {hint}, not checked yet: {why}", hint=hint)


def due(keys: Iterable[str], choices: Mapping[str, PeriodChoice], now: float, every: float,
        limit: int = CHECKS_PER_ROUND) -> list[str]:
    """The series of `keys` whose period is to be checked at `now`: never checked first,
    then the longest unchecked; at most `limit`."""
    waiting: list[tuple[float, str]] = []
    for key in keys:
        choice = choices.get(key)
        if choice is None or choice.checked_at is None:
            waiting.append((-math.inf, key))
            continue
        age = now - choice.checked_at
        if age >= every or (choice.short and age >= SHORT_RECHECK * every):
            waiting.append((choice.checked_at, key))
    waiting.sort(key=lambda pair: pair[0])
    return [key for _, key in waiting[:max(0, limit)]]


def check(rows: NDArray[np.float64], hint: int | None, now: float,
          max_period: int | None = None) -> list[PeriodChoice]:
    """The period choice of each row of `rows` (oldest first, NaN before a series began)
    by `detect_period` on its points, `hint` (steps) the configured period; the rows with
    as many points are checked together (`detect_periods`)."""
    starts = np.fromiter((_start(row) for row in rows), np.intp, len(rows))
    findings: dict[int, PeriodFinding] = {}
    for start in np.unique(starts).tolist():
        at = np.flatnonzero(starts == start).tolist()
        findings.update(zip(at, detect_periods(rows[at, start:], hint, max_period),
                            strict=True))
    out = []
    for i, start in enumerate(starts.tolist()):
        finding, size = findings[i], rows.shape[1] - start
        short = hint is not None and hint > size // MIN_CYCLES
        period = None if finding.source == "default" else finding.period
        out.append(PeriodChoice(period, finding.source, finding.reason, now, size, short,
                                hint))
    return out


def _start(row: NDArray[np.float64]) -> int:
    """Index of the first point of the series' last unbroken run of points."""
    missing = np.flatnonzero(np.isnan(row))
    return 0 if not missing.size else int(missing[-1]) + 1


def kept(models: Iterable[Mapping[str, PeriodChoice]]) -> dict[str, PeriodChoice]:
    """One choice per series from several models' (the latest check wins)."""
    out: dict[str, PeriodChoice] = {}
    for choices in models:
        for key, choice in choices.items():
            old = out.get(key)
            if old is None or (choice.checked_at or -math.inf) > (old.checked_at or -math.inf):
                out[key] = choice
    return out
