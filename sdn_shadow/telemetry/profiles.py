"""Client profiles: running demand statistics per client, and the priors they give (pure).

A profile starts at a client's first non-zero rate ("first traffic") and is
updated in O(1) per sample, keeping no history: the count, Welford's running
mean and variance of the rate, the peak (and a peak that decays with a
half-life), and per phase bin of a period (e.g. 24 one-hour bins of a day)
the running mean of the rate and the running mean and variance of
log1p(rate). The book keeps all profiles in arrays, so one poll's samples
update every client with a few numpy operations.

Two priors come out, for clients with too little history for the regression:

- `profile_forecast`: a forecast from the profile alone (the seasonal mean
  at the target's phase, with a log-normal interval);
- `population_prior`: a shrinkage target for `SlidingWindowForecaster`'s
  `prior_coef`, from the coefficients fitted to established clients.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.special import stdtrit

#: Running statistics per phase bin, in this order: count, mean rate, mean and M2 of log1p rate.
_BIN_FIELDS = ("bin_n", "bin_mean", "bin_log_mean", "bin_log_m2")
_SCALARS = ("first_seen", "last_seen", "n", "mean", "m2", "peak", "recent_peak")


@dataclass(frozen=True)
class ClientProfile:
    """A snapshot of one client's profile (rates in the series' unit, bytes/s).

    `recent_peak` is the peak decayed by half per `peak_half_life` seconds as
    of `last_seen`: what the client reached lately, forgetting old bursts.
    """

    key: str
    first_seen: float
    last_seen: float
    n: int
    mean: float
    m2: float
    peak: float
    recent_peak: float
    period: float | None
    bin_n: tuple[int, ...]
    bin_mean: tuple[float, ...]
    bin_log_mean: tuple[float, ...]
    bin_log_m2: tuple[float, ...]

    @property
    def n_bins(self) -> int:
        """Phase bins per period (1 without a period)."""
        return len(self.bin_n)

    @property
    def std(self) -> float:
        """Sample standard deviation of the rate (NaN below two samples)."""
        return math.sqrt(self.m2 / (self.n - 1)) if self.n > 1 else math.nan

    @property
    def cv(self) -> float:
        """Burstiness: coefficient of variation, std / mean of the rate.

        Why CV and not p95/mean: it comes from two running moments, exact and
        O(1) per sample, where a p95 needs a quantile sketch; and it is
        scale-free, so a 1 kB/s and a 1 GB/s client compare. It includes the
        seasonal swing; `log_sigma` is the dispersion beyond it.
        """
        return self.std / self.mean if self.mean > 0 else math.nan

    @property
    def peak_to_mean(self) -> float:
        """Peak rate over mean rate (>= 1; one burst is enough to raise it)."""
        return self.peak / self.mean if self.mean > 0 else math.nan

    @property
    def log_sigma(self) -> float:
        """Std of log1p(rate) within phase bins, pooled: the relative noise around the shape."""
        counts = np.asarray(self.bin_n)
        df = counts.sum() - np.count_nonzero(counts)
        return math.sqrt(sum(self.bin_log_m2) / df) if df > 0 else math.nan

    @property
    def shape(self) -> tuple[float, ...]:
        """Mean rate per phase bin over the overall mean (1.0 for bins not seen yet)."""
        return tuple(m / self.mean if c and self.mean > 0 else 1.0
                     for c, m in zip(self.bin_n, self.bin_mean, strict=True))

    def bin_of(self, t: float) -> int:
        """Phase bin of time `t`."""
        return int(phase_bins(t, self.period, self.n_bins))


def phase_bins(t: float | np.ndarray, period: float | None, n_bins: int) -> np.ndarray:
    """Phase bin (0..n_bins-1) of each time in `t` within `period` (always 0 without one)."""
    t = np.asarray(t, dtype=float)
    if period is None:
        return np.zeros(t.shape, dtype=np.intp)
    phase = np.mod(t, period) / period
    return np.minimum((phase * n_bins).astype(np.intp), n_bins - 1)


class ProfileBook:
    """Profiles of every series whose key starts with `prefix`, started at first traffic.

    `period` seconds is cut into `n_bins` phase bins (a single bin when
    `period` is None). Samples are counted, not time-weighted: they come at
    the poll interval.
    """

    def __init__(self, period: float | None = 86400.0, n_bins: int = 24,
                 peak_half_life: float = 86400.0, prefix: str = "client:") -> None:
        """An empty book (ValueError on a bad setting)."""
        if period is not None and not period > 0:
            raise ValueError(f"period must be > 0 seconds or None (got {period!r})")
        if isinstance(n_bins, bool) or not isinstance(n_bins, int) or n_bins < 1:
            raise ValueError(f"n_bins must be an integer >= 1 (got {n_bins!r})")
        if not peak_half_life > 0:
            raise ValueError(f"peak_half_life must be > 0 seconds (got {peak_half_life!r})")
        self.period = None if period is None else float(period)
        self.n_bins = 1 if period is None else n_bins
        self.peak_half_life = float(peak_half_life)
        self.prefix = prefix
        self._index: dict[str, int] = {}
        self._keys: list[str] = []
        self._s = {name: np.zeros(0) for name in _SCALARS}
        self._b = {name: np.zeros((0, self.n_bins)) for name in _BIN_FIELDS}

    def __len__(self) -> int:
        """Number of profiles."""
        return len(self._keys)

    def __contains__(self, key: object) -> bool:
        """Whether `key` has a profile."""
        return key in self._index

    def __eq__(self, other: object) -> bool:
        """Same settings and the same profiles."""
        if not isinstance(other, ProfileBook):
            return NotImplemented
        return (self.settings() == other.settings()
                and self.to_records() == other.to_records())

    __hash__ = None  # type: ignore[assignment]  # mutable

    def settings(self) -> dict[str, float | int | str | None]:
        """The constructor arguments of this book."""
        return {"period": self.period, "n_bins": self.n_bins,
                "peak_half_life": self.peak_half_life, "prefix": self.prefix}

    def _add(self, keys: Sequence[str]) -> None:
        """Append zeroed rows for new `keys`, growing the arrays geometrically."""
        first = len(self._keys)
        need = first + len(keys)
        capacity = len(self._s["n"])
        if need > capacity:
            size = max(need, 2 * capacity, 16)
            for store in (self._s, self._b):
                for name, arr in store.items():
                    grown = np.zeros((size, *arr.shape[1:]))
                    grown[:capacity] = arr
                    store[name] = grown
        for i, key in enumerate(keys):
            self._index[key] = first + i
        self._keys.extend(keys)

    def observe(self, now: float, rates: Mapping[str, float]) -> list[str]:
        """Take one sample per key at `now`; return the keys whose profile this started.

        Keys outside `prefix` and non-finite rates are ignored, negative rates
        count as 0; a key without a profile gets one at its first rate > 0.
        """
        picked = [(k, float(v)) for k, v in rates.items()
                  if k.startswith(self.prefix) and math.isfinite(v)]
        if not picked:
            return []
        started = [k for k, v in picked if v > 0 and k not in self._index]
        self._add(started)
        index = self._index
        rows = [(index[k], v) for k, v in picked if k in index]
        if rows:
            ids = np.fromiter((i for i, _ in rows), dtype=np.intp, count=len(rows))
            x = np.maximum(np.fromiter((v for _, v in rows), dtype=float, count=len(rows)), 0.0)
            self._update(float(now), ids, x)
        return started

    def _update(self, now: float, ids: np.ndarray, x: np.ndarray) -> None:
        """Welford updates of the rows `ids` with samples `x` (distinct ids)."""
        s, b = self._s, self._b
        n = s["n"][ids] + 1.0
        fresh = n == 1.0
        s["first_seen"][ids] = np.where(fresh, now, s["first_seen"][ids])
        dt = np.maximum(now - s["last_seen"][ids], 0.0)
        decay = np.where(fresh, 0.0, 0.5 ** (dt / self.peak_half_life))
        s["recent_peak"][ids] = np.maximum(x, s["recent_peak"][ids] * decay)
        s["peak"][ids] = np.maximum(x, s["peak"][ids])
        s["last_seen"][ids] = now
        s["n"][ids] = n
        mean = s["mean"][ids]
        delta = x - mean
        mean = mean + delta / n
        s["mean"][ids] = mean
        s["m2"][ids] += delta * (x - mean)

        col = int(phase_bins(now, self.period, self.n_bins))
        bn = b["bin_n"][ids, col] + 1.0
        b["bin_n"][ids, col] = bn
        b["bin_mean"][ids, col] += (x - b["bin_mean"][ids, col]) / bn
        lx = np.log1p(x)
        log_mean = b["bin_log_mean"][ids, col]
        delta = lx - log_mean
        log_mean = log_mean + delta / bn
        b["bin_log_mean"][ids, col] = log_mean
        b["bin_log_m2"][ids, col] += delta * (lx - log_mean)

    def client_keys(self) -> list[str]:
        """Keys with a profile, in the order their profiles started."""
        return list(self._keys)

    def profile(self, key: str) -> ClientProfile | None:
        """The profile of `key` (None if it has seen no traffic)."""
        i = self._index.get(key)
        if i is None:
            return None
        s, b = self._s, self._b
        return ClientProfile(
            key=key, first_seen=float(s["first_seen"][i]), last_seen=float(s["last_seen"][i]),
            n=int(s["n"][i]), mean=float(s["mean"][i]), m2=float(s["m2"][i]),
            peak=float(s["peak"][i]), recent_peak=float(s["recent_peak"][i]),
            period=self.period, bin_n=tuple(int(c) for c in b["bin_n"][i]),
            bin_mean=tuple(b["bin_mean"][i].tolist()),
            bin_log_mean=tuple(b["bin_log_mean"][i].tolist()),
            bin_log_m2=tuple(b["bin_log_m2"][i].tolist()))

    def profiles(self) -> dict[str, ClientProfile]:
        """Every profile, by key."""
        return {key: self.profile(key) for key in self._keys}  # type: ignore[misc]

    def forecast(self, keys: Sequence[str], target_time: float, level: float
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """`profile_forecast` of many keys at once: (point, lower, upper) arrays.

        Keys without a profile get NaN in all three.
        """
        ids = np.fromiter((self._index.get(k, -1) for k in keys), dtype=np.intp, count=len(keys))
        known = ids >= 0
        out = [np.full(len(keys), np.nan) for _ in range(3)]
        if known.any():
            rows = ids[known]
            col = int(phase_bins(target_time, self.period, self.n_bins))
            result = _forecast(self._s["mean"][rows],
                               *(self._b[name][rows] for name in _BIN_FIELDS), col, level)
            for arr, part in zip(out, result, strict=True):
                arr[known] = part
        return out[0], out[1], out[2]

    def to_records(self) -> list[dict]:
        """Every profile as a plain dict (the fields of `ClientProfile`; tuples for bins)."""
        count = len(self._keys)
        as_int = {"n", "bin_n"}
        columns = {name: arr[:count].astype(np.int64 if name in as_int else float).tolist()
                   for store in (self._s, self._b) for name, arr in store.items()}
        for name in _BIN_FIELDS:
            columns[name] = list(map(tuple, columns[name]))
        return [{"key": key, "period": self.period,
                 **{name: col[i] for name, col in columns.items()}}
                for i, key in enumerate(self._keys)]

    @classmethod
    def from_records(cls, records: Iterable[Mapping], **settings: float | int | str | None
                     ) -> ProfileBook:
        """A book with `settings` (see `__init__`) holding the profiles of `records`.

        A record made under another period or bin count keeps its scalar
        statistics and starts its bins afresh: its old bins mean other phases.
        """
        book = cls(**settings)  # type: ignore[arg-type]
        records = list(records)
        book._add([str(r["key"]) for r in records])
        for i, r in enumerate(records):
            for name in _SCALARS:
                book._s[name][i] = r[name]
            period = None if r["period"] is None else float(r["period"])
            if period == book.period and len(r["bin_n"]) == book.n_bins:
                for name in _BIN_FIELDS:
                    book._b[name][i] = r[name]
        return book


def _forecast(mean: np.ndarray, bin_n: np.ndarray, bin_mean: np.ndarray,
              bin_log_mean: np.ndarray, bin_log_m2: np.ndarray, col: int, level: float
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Vectorised `profile_forecast` over rows of profile arrays, target in bin `col`."""
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1) (got {level!r})")
    total_n = bin_n.sum(axis=1)
    seen = bin_n[:, col]
    in_bin = seen > 0
    point = np.where(in_bin, bin_mean[:, col], mean)

    with np.errstate(invalid="ignore", divide="ignore"):
        # In a seen bin: centre on its log mean, pooled within-bin variance.
        within = bin_log_m2.sum(axis=1)
        df_within = total_n - np.count_nonzero(bin_n, axis=1)
        # In an unseen bin: all samples, the between-bin spread counts as noise.
        log_mean = (bin_n * bin_log_mean).sum(axis=1) / total_n
        spread = (bin_n * (bin_log_mean - log_mean[:, None]) ** 2).sum(axis=1)
        centre = np.where(in_bin, bin_log_mean[:, col], log_mean)
        df = np.where(in_bin, df_within, total_n - 1)
        var = np.where(in_bin, within, within + spread) / df
        n_centre = np.where(in_bin, seen, total_n)
        half = stdtrit(np.maximum(df, 1), (1 + level) / 2) * np.sqrt(var * (1 + 1 / n_centre))
    known = df >= 1
    lower = np.where(known, np.maximum(np.expm1(centre - half), 0.0), 0.0)
    upper = np.where(known, np.expm1(np.minimum(centre + half, 709.0)), np.inf)
    return point, lower, upper


def profile_forecast(profile: ClientProfile, target_time: float, level: float
                     ) -> tuple[float, float, float]:
    """Forecast of the rate at `target_time` from the profile alone: (point, lower, upper).

    The point is mean x shape at the target's phase bin, i.e. the bin's mean
    rate (the overall mean if the bin has not been seen). The interval at
    `level` is log-normal: a Student-t prediction interval on log1p(rate)
    around the bin's log mean, with the within-bin variance pooled over
    bins. Why log-normal: traffic rates are skewed with a heavy right tail
    and their noise is multiplicative, which is also how the forecaster
    models them (log space), and it needs only two running moments per bin;
    pooling assumes the relative noise is alike at every phase and lets all
    samples estimate it. Without two samples to measure a spread the
    interval is (0, inf).
    """
    as_row = [np.asarray([getattr(profile, name)], dtype=float) for name in _BIN_FIELDS]
    point, lower, upper = _forecast(np.asarray([profile.mean]), *as_row,
                                    profile.bin_of(target_time), level)
    return float(point[0]), float(lower[0]), float(upper[0])


def population_prior(coefs: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """Shrinkage target for `prior_coef`: the (weighted) mean of established clients' coefficients.

    `coefs` is (n_clients, n_lags), e.g. `SlidingWindowForecaster.coef_`
    after `fit_series` on clients with a full history, under the same lag
    spec as the models it will be a prior for; rows with a non-finite value
    are left out. With the log transform the coefficients describe dynamics
    (persistence, daily echo) regardless of a client's size, which is what
    makes one client's a sensible start for another's; the intercept, which
    carries the size, is not penalised. Weights (e.g. samples per client)
    must be >= 0 with a positive sum over the kept rows.
    """
    coefs = np.asarray(coefs, dtype=float)
    if coefs.ndim != 2:
        raise ValueError(f"coefs must be 2-D (n_clients, n_lags), got shape {coefs.shape}")
    w = np.ones(coefs.shape[0]) if weights is None else np.asarray(weights, dtype=float)
    if w.shape != (coefs.shape[0],) or not (np.isfinite(w) & (w >= 0)).all():
        raise ValueError("weights must be finite, >= 0, one per row of coefs")
    keep = np.isfinite(coefs).all(axis=1) & (w > 0)
    if not keep.any():
        raise ValueError("no finite coefficient row with a positive weight")
    return np.average(coefs[keep], axis=0, weights=w[keep])
