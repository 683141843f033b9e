"""Client profiles: running demand statistics per client, and the priors they give (pure).

A profile starts at a client's first non-zero rate ("first traffic") and is
updated in O(1) per sample, keeping no history: the count, Welford's running
mean and variance of the rate, the peak (and a peak that decays with a
half-life), and per phase bin of a period (e.g. 24 one-hour bins of a day)
the running mean of the rate and the running mean and variance of
log1p(rate). The book keeps all profiles in arrays, so one poll's samples
update every client with a few numpy operations. The book is a value: a
poll's samples give a new book that copies only the chunks of rows they
touch and shares the rest with the old one.

Two priors come out, for clients with too little history for the regression:

- `profile_forecast`: a forecast from the profile alone (the seasonal mean
  at the target's phase, with a log-normal interval);
- `population_prior`: a shrinkage target for `SlidingWindowForecaster`'s
  `prior_coef`, from the coefficients fitted to established clients.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.special import stdtrit

from sdn_shadow.frozen import EMPTY, FrozenMap

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


_SHIFT = 7
CHUNK = 1 << _SHIFT
"""Profiles per chunk: a step copies only the chunks holding the series it updates."""


@dataclass(frozen=True)
class _Rows:
    """The profiles' statistics, in read-only chunks of `CHUNK` rows shared between books.

    A row holds the `_SCALARS` then, per `_BIN_FIELDS` name, its `n_bins` bins. Rows
    past `len(keys)` are zero: a new profile starts on one.
    """

    keys: tuple[str, ...] = ()
    index: FrozenMap[str, int] = EMPTY
    chunks: tuple[np.ndarray, ...] = ()


_NO_ROWS = _Rows()
_ZERO_CHUNKS: dict[int, np.ndarray] = {}


def _zero_chunk(width: int) -> np.ndarray:
    """A read-only chunk of zero rows (one per width, shared)."""
    chunk = _ZERO_CHUNKS.get(width)
    if chunk is None:
        chunk = _ZERO_CHUNKS[width] = _frozen(np.zeros((CHUNK, width)))
    return chunk


def _frozen(arr: np.ndarray) -> np.ndarray:
    arr.flags.writeable = False
    return arr


@dataclass(frozen=True, eq=False)
class ProfileBook:
    """Profiles of every series whose key starts with `prefix`, started at first traffic.

    `period` seconds is cut into `n_bins` phase bins (a single bin when
    `period` is None). Samples are counted, not time-weighted: they come at
    the poll interval. A value: `observe` returns a new book (sharing the rows
    it did not touch) and leaves this one as it was.
    """

    period: float | None = 86400.0
    n_bins: int = 24
    peak_half_life: float = 86400.0
    prefix: str = "client:"
    rows: _Rows = field(default=_NO_ROWS, repr=False)

    def __post_init__(self) -> None:
        """ValueError on a bad setting; numbers normalised (float seconds, 1 bin without a
        period)."""
        period, n_bins, peak_half_life = self.period, self.n_bins, self.peak_half_life
        if period is not None and not period > 0:
            raise ValueError(f"period must be > 0 seconds or None (got {period!r})")
        if isinstance(n_bins, bool) or not isinstance(n_bins, int) or n_bins < 1:
            raise ValueError(f"n_bins must be an integer >= 1 (got {n_bins!r})")
        if not peak_half_life > 0:
            raise ValueError(f"peak_half_life must be > 0 seconds (got {peak_half_life!r})")
        object.__setattr__(self, "period", None if period is None else float(period))
        object.__setattr__(self, "n_bins", 1 if period is None else n_bins)
        object.__setattr__(self, "peak_half_life", float(peak_half_life))

    @property
    def _width(self) -> int:
        return len(_SCALARS) + len(_BIN_FIELDS) * self.n_bins

    def _bins(self, name: str) -> slice:
        """The columns of one of `_BIN_FIELDS` in a row."""
        start = len(_SCALARS) + _BIN_FIELDS.index(name) * self.n_bins
        return slice(start, start + self.n_bins)

    def _with(self, rows: _Rows) -> ProfileBook:
        """This book holding `rows` (settings as they are, not checked again)."""
        new = object.__new__(ProfileBook)
        for name in ("period", "n_bins", "peak_half_life", "prefix"):
            object.__setattr__(new, name, getattr(self, name))
        object.__setattr__(new, "rows", rows)
        return new

    def __len__(self) -> int:
        """Number of profiles."""
        return len(self.rows.keys)

    def __contains__(self, key: object) -> bool:
        """Whether `key` has a profile."""
        return key in self.rows.index

    def __eq__(self, other: object) -> bool:
        """Same settings and the same profiles."""
        if not isinstance(other, ProfileBook):
            return NotImplemented
        return (self.settings() == other.settings()
                and self.to_records() == other.to_records())

    __hash__ = None  # type: ignore[assignment]  # compared by its records, not hashed

    def settings(self) -> dict[str, float | int | str | None]:
        """The constructor arguments of this book."""
        return {"period": self.period, "n_bins": self.n_bins,
                "peak_half_life": self.peak_half_life, "prefix": self.prefix}

    def _added(self, keys: Sequence[str]) -> _Rows:
        """The rows with zeroed rows for new `keys` (zero chunks appended as needed)."""
        rows = self.rows
        if not keys:
            return rows
        first = len(rows.keys)
        need = -(-(first + len(keys)) // CHUNK)
        chunks = rows.chunks + (_zero_chunk(self._width),) * (need - len(rows.chunks))
        index = rows.index.updated({key: first + i for i, key in enumerate(keys)})
        return _Rows(rows.keys + tuple(keys), index, chunks)

    def observe(self, now: float, rates: Mapping[str, float]
                ) -> tuple[ProfileBook, list[str]]:
        """Take one sample per key at `now`: the new book, and the keys whose profile this
        started.

        Keys outside `prefix` and non-finite rates are ignored, negative rates
        count as 0; a key without a profile gets one at its first rate > 0.
        """
        picked = [(k, float(v)) for k, v in rates.items()
                  if k.startswith(self.prefix) and math.isfinite(v)]
        if not picked:
            return self, []
        index = self.rows.index.read()
        started = [k for k, v in picked if v > 0 and k not in index]
        rows = self._added(started)
        index = rows.index.read()
        found = [(index[k], v) for k, v in picked if k in index]
        if not found:
            return (self if rows is self.rows else self._with(rows)), started
        ids = np.fromiter((i for i, _ in found), dtype=np.intp, count=len(found))
        x = np.maximum(np.fromiter((v for _, v in found), dtype=float, count=len(found)), 0.0)
        if len(ids) > 1 and (ids[1:] < ids[:-1]).any():
            order = np.argsort(ids, kind="stable")
            ids, x = ids[order], x[order]
        # Only the scalars and this phase bin's columns change: gather them, update them,
        # and write them into copies of the chunks they are in.
        scalars = slice(0, len(_SCALARS))
        bins = slice(len(_SCALARS) + int(phase_bins(now, self.period, self.n_bins)), None,
                     self.n_bins)  # the bin's column of each of `_BIN_FIELDS`
        segments = _segments(ids)
        chunks = list(rows.chunks)
        both = np.empty((len(ids), len(_SCALARS) + len(_BIN_FIELDS)), order="F")
        for chunk_no, start, stop, local in segments:
            chunk = chunks[chunk_no]
            both[start:stop, scalars] = chunk[local, scalars]
            both[start:stop, len(_SCALARS):] = chunk[local, bins]
        self._update(float(now), both, x)
        for chunk_no, start, stop, local in segments:
            chunk = chunks[chunk_no].copy()
            chunk[local, scalars] = both[start:stop, scalars]
            chunk[local, bins] = both[start:stop, len(_SCALARS):]
            chunks[chunk_no] = _frozen(chunk)
        return self._with(_Rows(rows.keys, rows.index, tuple(chunks))), started

    def _update(self, now: float, rows: np.ndarray, x: np.ndarray) -> None:
        """Welford updates of `rows` with samples `x`: rows gathered (this step's own) as
        the `_SCALARS`, then the `_BIN_FIELDS` of `now`'s phase bin."""
        first_seen, last_seen, n_, mean_, m2, peak, recent_peak = range(len(_SCALARS))
        n = rows[:, n_] + 1.0
        fresh = n == 1.0
        rows[:, first_seen] = np.where(fresh, now, rows[:, first_seen])
        dt = np.maximum(now - rows[:, last_seen], 0.0)
        decay = np.where(fresh, 0.0, 0.5 ** (dt / self.peak_half_life))
        rows[:, recent_peak] = np.maximum(x, rows[:, recent_peak] * decay)
        rows[:, peak] = np.maximum(x, rows[:, peak])
        rows[:, last_seen] = now
        rows[:, n_] = n
        mean = rows[:, mean_]
        delta = x - mean
        mean = mean + delta / n
        rows[:, mean_] = mean
        rows[:, m2] += delta * (x - mean)

        bin_n, bin_mean, bin_log_mean, bin_log_m2 = range(len(_SCALARS), len(_SCALARS) + 4)
        bn = rows[:, bin_n] + 1.0
        rows[:, bin_n] = bn
        rows[:, bin_mean] += (x - rows[:, bin_mean]) / bn
        lx = np.log1p(x)
        log_mean = rows[:, bin_log_mean]
        delta = lx - log_mean
        log_mean = log_mean + delta / bn
        rows[:, bin_log_mean] = log_mean
        rows[:, bin_log_m2] += delta * (lx - log_mean)

    def client_keys(self) -> list[str]:
        """Keys with a profile, in the order their profiles started."""
        return list(self.rows.keys)

    def profile(self, key: str) -> ClientProfile | None:
        """The profile of `key` (None if it has seen no traffic)."""
        i = self.rows.index.get(key)
        if i is None:
            return None
        row = self.rows.chunks[i >> _SHIFT][i & (CHUNK - 1)]
        first_seen, last_seen, n, mean, m2, peak, recent_peak = row[:len(_SCALARS)].tolist()
        bins = {name: row[self._bins(name)] for name in _BIN_FIELDS}
        return ClientProfile(
            key=key, first_seen=first_seen, last_seen=last_seen, n=int(n), mean=mean, m2=m2,
            peak=peak, recent_peak=recent_peak, period=self.period,
            bin_n=tuple(int(c) for c in bins["bin_n"]),
            bin_mean=tuple(bins["bin_mean"].tolist()),
            bin_log_mean=tuple(bins["bin_log_mean"].tolist()),
            bin_log_m2=tuple(bins["bin_log_m2"].tolist()))

    def profiles(self) -> dict[str, ClientProfile]:
        """Every profile, by key."""
        return {key: self.profile(key) for key in self.rows.keys}  # type: ignore[misc]

    def forecast(self, keys: Sequence[str], target_time: float, level: float
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """`profile_forecast` of many keys at once: (point, lower, upper) arrays.

        Keys without a profile get NaN in all three.
        """
        index = self.rows.index
        ids = np.fromiter((index.get(k, -1) for k in keys), dtype=np.intp, count=len(keys))
        known = ids >= 0
        out = [np.full(len(keys), np.nan) for _ in range(3)]
        if known.any():
            rows = self._table()[ids[known]]
            col = int(phase_bins(target_time, self.period, self.n_bins))
            result = _forecast(rows[:, _SCALARS.index("mean")],
                               *(rows[:, self._bins(name)] for name in _BIN_FIELDS), col, level)
            for arr, part in zip(out, result, strict=True):
                arr[known] = part
        return out[0], out[1], out[2]

    def _table(self) -> np.ndarray:
        """Every profile's row, in one (new) array."""
        count = len(self.rows.keys)
        if not count:
            return np.zeros((0, self._width))
        return np.concatenate(self.rows.chunks)[:count]

    def to_records(self) -> list[dict]:
        """Every profile as a plain dict (the fields of `ClientProfile`; tuples for bins)."""
        table = self._table()
        as_int = {"n", "bin_n"}
        columns: dict[str, list] = {}
        for i, name in enumerate(_SCALARS):
            columns[name] = table[:, i].astype(np.int64 if name in as_int else float).tolist()
        for name in _BIN_FIELDS:
            part = table[:, self._bins(name)].astype(np.int64 if name in as_int else float)
            columns[name] = list(map(tuple, part.tolist()))
        return [{"key": key, "period": self.period,
                 **{name: col[i] for name, col in columns.items()}}
                for i, key in enumerate(self.rows.keys)]

    @classmethod
    def from_records(cls, records: Iterable[Mapping], **settings: float | int | str | None
                     ) -> ProfileBook:
        """A book with `settings` (see the fields) holding the profiles of `records`.

        A record made under another period or bin count keeps its scalar
        statistics and starts its bins afresh: its old bins mean other phases.
        """
        empty = cls(**settings)  # type: ignore[arg-type]
        records = list(records)
        rows = empty._added([str(r["key"]) for r in records])
        table = np.zeros((len(rows.chunks) * CHUNK, empty._width))
        for i, r in enumerate(records):
            table[i, :len(_SCALARS)] = [r[name] for name in _SCALARS]
            period = None if r["period"] is None else float(r["period"])
            if period == empty.period and len(r["bin_n"]) == empty.n_bins:
                for name in _BIN_FIELDS:
                    table[i, empty._bins(name)] = r[name]
        chunks = tuple(_frozen(table[i:i + CHUNK].copy()) for i in range(0, len(table), CHUNK))
        return empty._with(_Rows(rows.keys, rows.index, chunks))


def _segments(ids: np.ndarray) -> list[tuple[int, int, int, slice | np.ndarray]]:
    """(chunk, start, stop, rows in the chunk) of each run of sorted `ids` in one chunk;
    the rows are a slice when they follow each other."""
    chunk_of = ids >> _SHIFT
    if chunk_of[0] == chunk_of[-1]:
        bounds = [0, len(ids)]
    else:
        bounds = [0, *(np.flatnonzero(chunk_of[1:] != chunk_of[:-1]) + 1).tolist(), len(ids)]
    out: list[tuple[int, int, int, slice | np.ndarray]] = []
    for start, stop in zip(bounds, bounds[1:], strict=False):
        first, last = int(ids[start]), int(ids[stop - 1])
        local: slice | np.ndarray = ids[start:stop] & (CHUNK - 1)
        if last - first == stop - start - 1:
            local = slice(first & (CHUNK - 1), (last & (CHUNK - 1)) + 1)
        out.append((first >> _SHIFT, start, stop, local))
    return out


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
