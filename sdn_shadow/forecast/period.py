"""Seasonal periods found from the data: autocorrelation peaks, refined by their multiples.

The series is made robust first: log1p (bursts of 1000x become a few units),
a linear trend removed, then values beyond 4 robust deviations clipped, so a
burst cannot make its own "period". The autocorrelation r(k) (by FFT) then
shows a cycle of M steps as peaks at M, 2M, 3M, ...

The base period is the first local peak of r at least half as tall as the
tallest (a day, not the week it repeats in), moved to the nearby lag whose comb
of multiples (M, 2M, ... up to half the series) has the highest mean
autocorrelation. A comb tells 283 from 288 where one peak cannot: 7 periods on, a 5-step
error is 35 steps. A longer cycle (a week over a day) shows as a multiple m*M
whose peak stands above the base peak; it is reported as a second period and
pins the base period to within 1/m of a step.

A hint (`--period`, `forecast.period`) is confirmed when the data's comb at the
hint is within `TOLERANCE` of the found one; otherwise the data wins if its
cycle is strong (`OVERRULE_STRENGTH`), and the reason says so. With no clear
cycle the hint is kept, and said to be unconfirmed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

#: the base period is the first autocorrelation peak at least this share of the tallest
FIRST_PEAK = 0.5
#: a comb mean autocorrelation below this is no cycle
MIN_STRENGTH = 0.15
#: the data overrules a hint only with a cycle at least this strong
OVERRULE_STRENGTH = 0.3
#: the hint stands if its comb is at least this share of the best comb
TOLERANCE = 0.9
#: a multiple of the base period is a second cycle if its peak beats the base peak by this
SECOND_MARGIN = 0.05
#: the shortest period considered, in steps
MIN_PERIOD = 4
#: at least this many whole periods must fit in the series
MIN_CYCLES = 4


@dataclass(frozen=True)
class PeriodFinding:
    """The periods to use (base first) and why: `source` is hint, data or default."""

    period: int
    periods: tuple[int, ...]
    source: str
    reason: str
    strength: float
    hint: int | None = None

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {"period": self.period, "periods": list(self.periods), "source": self.source,
                "reason": self.reason, "strength": round(self.strength, 4), "hint": self.hint}


def robust_series(values: ArrayLike) -> NDArray[np.float64]:
    """log1p, detrended, clipped at 4 robust deviations, standardised."""
    standard: NDArray[np.float64] = robust_rows(np.asarray(values, dtype=float)[None, :])[0]
    return standard


def robust_rows(rows: NDArray[np.float64]) -> NDArray[np.float64]:
    """`robust_series` of each row of `rows` (S, n), all at once."""
    z = np.sign(rows) * np.log1p(np.abs(rows))
    n = z.shape[1]
    if n > 1:  # the least-squares line of each row, in closed form
        t = np.arange(n, dtype=float) - (n - 1) / 2
        slope = (z @ t) / float(t @ t)
        z = z - (slope[:, None] * t + z.mean(axis=1, keepdims=True))
    median = np.median(z, axis=1, keepdims=True)
    spread = 1.4826 * np.median(np.abs(z - median), axis=1, keepdims=True)
    z = np.where(spread > 0, np.clip(z, median - 4 * spread, median + 4 * spread), z)
    z = z - z.mean(axis=1, keepdims=True)
    scale = z.std(axis=1, keepdims=True)
    standard: NDArray[np.float64] = np.divide(z, scale, out=z.copy(), where=scale > 0)
    return standard


def autocorrelation(z: NDArray[np.float64]) -> NDArray[np.float64]:
    """r(k) for k = 0..n-1 by FFT (biased estimate: divides by n, so r(k) shrinks with k)."""
    r: NDArray[np.float64] = autocorrelations(z[None, :])[0]
    return r


def autocorrelations(rows: NDArray[np.float64]) -> NDArray[np.float64]:
    """`autocorrelation` of each row of `rows` (S, n), by one FFT of them all."""
    n = rows.shape[1]
    size = 1 << int(2 * n - 1).bit_length()
    spectrum = np.fft.rfft(rows, size, axis=1)
    acf = np.fft.irfft(spectrum * np.conj(spectrum), size, axis=1)[:, :n]
    zero = acf[:, :1]
    out: NDArray[np.float64] = np.divide(acf, zero, out=np.zeros_like(acf), where=zero > 0)
    return out


def comb_strength(r: NDArray[np.float64], period: int) -> float:
    """Mean of r at period, 2*period, ... up to half the series, each rescaled for the n-k bias."""
    n = r.size
    lags = np.arange(period, n // 2 + 1, period)
    if lags.size == 0:
        return -1.0
    return float(np.mean(r[lags] * n / (n - lags)))


def _peaks(r: NDArray[np.float64], lo: int, hi: int) -> NDArray[np.intp]:
    """Lags in [lo, hi] where r is a local maximum (over 2 steps each side) and positive."""
    k = np.arange(max(lo, 2), min(hi, r.size - 3) + 1)
    if k.size == 0:
        return k
    around = np.maximum.reduce([r[k - 2], r[k - 1], r[k + 1], r[k + 2]])
    found: NDArray[np.intp] = k[(r[k] >= around) & (r[k] > 0)]
    return found


def _refine(r: NDArray[np.float64], near: int) -> int:
    """The lag within 3% (at least 2 steps) of `near` with the strongest comb."""
    span = max(2, round(0.03 * near))
    candidates = range(max(MIN_PERIOD, near - span), near + span + 1)
    return max(candidates, key=lambda m: comb_strength(r, m))


def _longer(r: NDArray[np.float64], base: int) -> tuple[int, int] | None:
    """A multiple m*base (m >= 2) whose local peak beats the peak at base: (lag, m), or None."""
    n = r.size
    base_value = float(r[base] * n / (n - base))
    found: list[tuple[float, int, int]] = []
    for m in range(2, (n // 2) // base + 1):
        span = max(2, round(0.02 * m * base))
        lo, hi = m * base - span, min(m * base + span, n // 2)
        if hi <= lo:
            break
        window = r[lo:hi + 1] * n / (n - np.arange(lo, hi + 1))
        value = float(window.max())
        if value >= base_value + SECOND_MARGIN:
            found.append((value, lo + int(np.argmax(window)), m))
    if not found:
        return None
    tallest = max(v for v, _, _ in found)
    _, lag, m = min((f for f in found if f[0] >= tallest - SECOND_MARGIN), key=lambda f: f[2])
    return lag, m


def detect_period(values: ArrayLike, hint: int | None = None, max_period: int | None = None
                  ) -> PeriodFinding:
    """The seasonal period(s) of `values`, checked against `hint` (steps) when given."""
    return detect_periods(np.asarray(values, dtype=float)[None, :], hint, max_period)[0]


def detect_periods(rows: ArrayLike, hint: int | None = None, max_period: int | None = None
                   ) -> list[PeriodFinding]:
    """`detect_period` of each row of `rows` (S, n: series of one length), their robust
    series and autocorrelations computed all at once (a controller checks 200 a round)."""
    y = np.asarray(rows, dtype=float)
    n = y.shape[1]
    top = min(max_period or n, n // MIN_CYCLES)
    if hint is not None and hint > top:
        return [PeriodFinding(hint, (hint,), "hint", f"kept the hint {hint}: the series "
                              f"({n} points) is too short to check it", float("nan"), hint)
                for _ in range(y.shape[0])]
    if n <= 2 * MIN_PERIOD:
        return [_decide(np.zeros(max(n, 1)), n, top, hint) for _ in range(y.shape[0])]
    return [_decide(r, n, top, hint) for r in autocorrelations(robust_rows(y))]


def _decide(r: NDArray[np.float64], n: int, top: int, hint: int | None) -> PeriodFinding:
    """The finding of a series of `n` points whose autocorrelation is `r`."""
    candidates = [int(k) for k in _peaks(r, MIN_PERIOD, top)]
    found: int | None = None
    if candidates:
        height = {k: float(r[k] * n / (n - k)) for k in candidates}
        tallest = max(height.values())
        # the first peak of real height is the base cycle (a day, not the week it repeats in)
        found = _refine(r, min(k for k, v in height.items() if v >= FIRST_PEAK * tallest))
    if found is None or comb_strength(r, found) < MIN_STRENGTH:
        score = -1.0 if found is None else comb_strength(r, found)
        if hint is None:
            return PeriodFinding(1, (1,), "default", "no clear cycle in the data", score)
        return PeriodFinding(hint, (hint,), "hint", f"kept the hint {hint}: no clear cycle in "
                             f"the data to confirm or correct it", score, hint)
    longer = _longer(r, found)
    if longer is not None:  # the longer cycle pins the base period more precisely
        lag, m = longer
        pinned = round(lag / m)
        if comb_strength(r, pinned) >= comb_strength(r, found) - 1e-9:
            found = pinned
    periods = (found,) if longer is None else (found, longer[0])
    s = comb_strength(r, found)
    if hint is None:
        return PeriodFinding(found, periods, "data", _found_text(periods, s), s)
    hinted = comb_strength(r, hint)
    if hint == found or (hint in periods):
        return PeriodFinding(found, periods, "hint", f"the data confirms the hint {hint}"
                             f"{_also(periods)}", s, hint)
    if hinted >= TOLERANCE * s:
        return PeriodFinding(hint, _with_hint(hint, periods), "hint",
                             f"the data confirms the hint {hint} (nearly as strong as "
                             f"{found}: {hinted:.2f} vs {s:.2f})", hinted, hint)
    if s < OVERRULE_STRENGTH:
        return PeriodFinding(hint, (hint,), "hint", f"kept the hint {hint}: the data's cycle "
                             f"at {found} is too weak to overrule it ({s:.2f} vs {hinted:.2f})",
                             hinted, hint)
    return PeriodFinding(found, periods, "data", f"the data says {found}, not the hint {hint}: "
                         f"autocorrelation {s:.2f} at multiples of {found} vs {hinted:.2f} at "
                         f"multiples of {hint}{_also(periods)}", s, hint)


def _found_text(periods: tuple[int, ...], strength: float) -> str:
    return f"found {periods[0]} in the data (autocorrelation {strength:.2f}){_also(periods)}"


def _also(periods: tuple[int, ...]) -> str:
    return "" if len(periods) < 2 else f"; a longer cycle at {periods[1]}"


def _with_hint(hint: int, periods: tuple[int, ...]) -> tuple[int, ...]:
    return (hint,) + tuple(p for p in periods[1:] if p != hint)
