"""Synthetic-user load patterns: request rate as a pure function of time, and Poisson schedules."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from sdn_shadow.usage import UsageError

_CHUNK = 1_000_000  # candidate points per thinning chunk (bounds memory on long runs)


@dataclass(frozen=True)
class Pattern:
    """A request rate over [0, duration) for the whole user population, at most `peak`/s.

    Subclasses give `rate(t)` and its integral `cumulative(t)` in closed form, both
    vectorised (a float or an array in, an array of the same shape out, 0-d for a float);
    everything else (bins, schedules) derives from them. `peak` bounds the rate: the
    schedule thins a Poisson process of rate `peak`.
    """

    peak: float
    duration: float
    name = "pattern"

    def __post_init__(self) -> None:
        if not (math.isfinite(self.peak) and self.peak >= 0):
            raise UsageError(f"peak: must be a finite rate >= 0 requests/s (got {self.peak})")
        if not (math.isfinite(self.duration) and self.duration > 0):
            raise UsageError(f"duration: must be a finite number of seconds > 0 "
                             f"(got {self.duration})")

    def rate(self, t: float | np.ndarray) -> np.ndarray:
        """Requests per second at time(s) `t`."""
        raise NotImplementedError

    def cumulative(self, t: float | np.ndarray) -> np.ndarray:
        """Expected requests in [0, t): the integral of `rate` from 0."""
        raise NotImplementedError

    def edges(self, bin_seconds: float) -> np.ndarray:
        """Bin edges 0, b, 2b, ... ending at `duration` (the last bin may be shorter)."""
        if not (math.isfinite(bin_seconds) and bin_seconds > 0):
            raise UsageError(f"bin_seconds: must be > 0 (got {bin_seconds})")
        n = max(1, math.ceil(self.duration / bin_seconds - 1e-9))
        return np.minimum(np.arange(n + 1) * bin_seconds, self.duration)

    def expected_counts(self, bin_seconds: float) -> np.ndarray:
        """Expected requests per bin of `edges(bin_seconds)`: the integral of `rate` over each."""
        return np.diff(self.cumulative(self.edges(bin_seconds)))


@dataclass(frozen=True)
class Constant(Pattern):
    """`peak` requests/s all the time."""

    name = "constant"

    def rate(self, t: float | np.ndarray) -> np.ndarray:
        """Requests per second at time(s) `t`."""
        return np.full_like(np.asarray(t, dtype=float), self.peak)

    def cumulative(self, t: float | np.ndarray) -> np.ndarray:
        """Expected requests in [0, t)."""
        return self.peak * np.asarray(t, dtype=float)


@dataclass(frozen=True)
class Diurnal(Pattern):
    """One compressed day per `period` (default: the duration): trough at 0, peak at period/2.

    rate(t) = T + (peak - T) * (1 - cos(2 pi t / period)) / 2, with T = trough * peak.
    """

    trough: float = 0.15
    period: float | None = None
    name = "diurnal"

    def __post_init__(self) -> None:
        super().__post_init__()
        _share("trough", self.trough)
        if self.period is not None and not self.period > 0:
            raise UsageError(f"diurnal period: must be a number of seconds > 0 "
                             f"(got {self.period})")

    @property
    def _period(self) -> float:
        return self.duration if self.period is None else self.period

    def rate(self, t: float | np.ndarray) -> np.ndarray:
        """Requests per second at time(s) `t`."""
        low = self.trough * self.peak
        phase = 2 * np.pi * np.asarray(t, dtype=float) / self._period
        return low + (self.peak - low) * (1 - np.cos(phase)) / 2

    def cumulative(self, t: float | np.ndarray) -> np.ndarray:
        """Expected requests in [0, t)."""
        t = np.asarray(t, dtype=float)
        low, w = self.trough * self.peak, 2 * np.pi / self._period
        return low * t + (self.peak - low) / 2 * (t - np.sin(w * t) / w)


@dataclass(frozen=True)
class Bursty(Pattern):
    """A `base` share of peak, with on/off bursts drawn from `seed`.

    Off gaps and burst lengths are exponential with means `mean_off` (default duration/8)
    and `mean_on` (default duration/16), a burst lasting at least `min_on` s; heights are
    uniform in [min_height, 1] and scaled so the tallest burst is exactly `peak`.
    """

    base: float = 0.2
    seed: int = 0
    mean_on: float | None = None
    mean_off: float | None = None
    min_on: float = 0.2
    min_height: float = 0.6
    bursts: tuple[tuple[float, float, float], ...] = field(init=False, repr=False)
    name = "bursty"

    def __post_init__(self) -> None:
        super().__post_init__()
        _share("base", self.base)
        _share("min_height", self.min_height)
        rng = np.random.default_rng(self.seed)
        on = self.duration / 16 if self.mean_on is None else self.mean_on
        off = self.duration / 8 if self.mean_off is None else self.mean_off
        spans: list[tuple[float, float]] = []
        t = rng.exponential(off)
        while t < self.duration:
            length = max(self.min_on, rng.exponential(on))
            spans.append((t, length))
            t += length + rng.exponential(off)
        if not spans:  # a run with no burst would not be bursty
            length = min(max(self.min_on, on), self.duration / 2)
            spans.append((rng.uniform(0, self.duration - length), length))
        heights = rng.uniform(self.min_height, 1.0, size=len(spans))
        heights = heights / heights.max() * self.peak
        object.__setattr__(self, "bursts", tuple(
            (float(s), float(n), float(h)) for (s, n), h in zip(spans, heights, strict=True)))

    def _columns(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        start, length, height = (np.array(c) for c in zip(*self.bursts, strict=True))
        return start, length, height - self.base * self.peak

    def rate(self, t: float | np.ndarray) -> np.ndarray:
        """Requests per second at time(s) `t`."""
        t = np.asarray(t, dtype=float)
        start, length, extra = self._columns()
        inside = (t[..., None] >= start) & (t[..., None] < start + length)
        return self.base * self.peak + (inside * extra).sum(axis=-1)

    def cumulative(self, t: float | np.ndarray) -> np.ndarray:
        """Expected requests in [0, t)."""
        t = np.asarray(t, dtype=float)
        start, length, extra = self._columns()
        overlap = np.clip(t[..., None] - start, 0, length)
        return self.base * self.peak * t + (overlap * extra).sum(axis=-1)


@dataclass(frozen=True)
class FlashCrowd(Pattern):
    """A low `base`, then at `onset` a linear ramp to peak, a plateau, and exponential decay.

    Defaults: onset 0.3 x duration, ramp min(3 s, 0.1 x duration), plateau 0.2 x duration,
    decay time constant 0.1 x duration (the excess over base falls by e each `decay` s).
    """

    base: float = 0.1
    onset: float | None = None
    ramp: float | None = None
    plateau: float | None = None
    decay: float | None = None
    name = "flash-crowd"

    def __post_init__(self) -> None:
        super().__post_init__()
        _share("base", self.base)
        d = self.duration
        for key, default in (("onset", 0.3 * d), ("ramp", min(3.0, 0.1 * d)),
                             ("plateau", 0.2 * d), ("decay", 0.1 * d)):
            if getattr(self, key) is None:
                object.__setattr__(self, key, default)
            if not getattr(self, key) >= 0 or (key == "decay" and not self.decay > 0):
                raise UsageError(f"flash-crowd {key}: must be a number of seconds > 0")

    def _times(self) -> tuple[float, float, float]:
        t1 = self.onset + self.ramp
        return self.onset, t1, t1 + self.plateau

    def rate(self, t: float | np.ndarray) -> np.ndarray:
        """Requests per second at time(s) `t`."""
        t = np.asarray(t, dtype=float)
        t0, t1, t2 = self._times()
        up = np.clip((t - t0) / self.ramp, 0, 1) if self.ramp else (t >= t0).astype(float)
        down = np.exp(-np.maximum(t - t2, 0) / self.decay)
        low = self.base * self.peak
        return low + (self.peak - low) * up * down

    def cumulative(self, t: float | np.ndarray) -> np.ndarray:
        """Expected requests in [0, t)."""
        t = np.asarray(t, dtype=float)
        t0, t1, t2 = self._times()
        ramp = np.clip(t - t0, 0, self.ramp) ** 2 / (2 * self.ramp) if self.ramp else 0.0
        flat = np.clip(t - t1, 0, self.plateau)
        tail = self.decay * (1 - np.exp(-np.maximum(t - t2, 0) / self.decay))
        low = self.base * self.peak
        return low * t + (self.peak - low) * (ramp + flat + tail)


def _share(key: str, value: float) -> None:
    """Check that a share of peak is in [0, 1]."""
    if not 0 <= value <= 1:
        raise UsageError(f"{key}: must be a share of peak in [0, 1] (got {value})")


#: Pattern name -> class; each takes (peak, duration, **params).
PATTERNS: dict[str, Callable[..., Pattern]] = {
    "constant": Constant, "diurnal": Diurnal, "bursty": Bursty, "flash-crowd": FlashCrowd}


def parse_pattern(name: str, peak: float, duration: float, seed: int = 0,
                  **params: float) -> Pattern:
    """The pattern called `name`; `seed` shapes the bursts of `bursty` and nothing else."""
    if name not in PATTERNS:
        raise UsageError(f"unknown pattern {name!r} (choose from {', '.join(PATTERNS)})")
    if name == "bursty":
        params = {"seed": seed, **params}
    try:
        return PATTERNS[name](peak, duration, **params)
    except TypeError as problem:  # an unknown parameter
        raise UsageError(f"{name}: {problem}") from None


def schedule(pattern: Pattern, seed: int = 0) -> list[float]:
    """Send times in [0, duration) of a Poisson process with rate `pattern.rate` (by thinning)."""
    return schedule_array(pattern, seed).tolist()


def schedule_array(pattern: Pattern, seed: int = 0) -> np.ndarray:
    """`schedule` as a sorted numpy array (8 bytes a request, for long runs)."""
    rng = np.random.default_rng(seed)
    top = float(pattern.peak)
    if top <= 0:
        return np.empty(0)
    chunk = max(_CHUNK / top, 1e-3)
    out: list[np.ndarray] = []
    for begin in np.arange(0.0, pattern.duration, chunk):
        end = min(begin + chunk, pattern.duration)
        times = np.sort(rng.uniform(begin, end, size=rng.poisson(top * (end - begin))))
        keep = rng.uniform(0, top, size=times.size) < pattern.rate(times)
        out.append(times[keep])
    return np.concatenate(out)


def split(times: Sequence[float], n_users: int, how: str = "round-robin",
          seed: int = 0) -> list[list[float]]:
    """Deal `times` to `n_users` (round-robin, or uniformly at random from `seed`)."""
    if n_users < 1:
        raise UsageError(f"users: must be >= 1 (got {n_users})")
    if how == "round-robin":
        return [list(times[i::n_users]) for i in range(n_users)]
    if how != "random":
        raise UsageError(f"split: unknown method {how!r} (choose from round-robin, random)")
    owner = np.random.default_rng(seed).integers(n_users, size=len(times))
    return [[t for t, o in zip(times, owner, strict=True) if o == i] for i in range(n_users)]


def bin_counts(times: Sequence[float], pattern: Pattern, bin_seconds: float) -> np.ndarray:
    """How many of `times` fall in each bin of `pattern.edges(bin_seconds)`.

    Times before 0 count in the first bin, times at or after `duration` in the last.
    """
    edges = pattern.edges(bin_seconds)
    index = np.searchsorted(edges, np.asarray(times, dtype=float), side="right") - 1
    return np.bincount(np.clip(index, 0, len(edges) - 2), minlength=len(edges) - 1)
