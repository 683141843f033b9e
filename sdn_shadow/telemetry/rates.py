"""Counter samples -> rates (bytes/s, packets/s) per key, vectorised; sums per group of keys.

Pure: the caller passes `now` and the counters it read (port stats, flow
stats of per-client flows, meter stats...); keys are any hashables
(("s1", 1), a flow key, a client's MAC). The tracker keeps the previous
sample of each key and handles what real counters do:

- the first sample of a key (or the first after it expired or was forgotten)
  gives no rate, only a baseline;
- a missing sample just makes the next interval longer (rate over the real
  elapsed time); a key not seen for `expire_after` seconds is dropped;
- a counter that went down by almost its whole range wrapped (rate from the
  wrapped delta); one that went down otherwise was reset (the switch
  restarted or the flow was re-added): no rate, the new value is the baseline;
- the caller can say counters restarted (`restarted=`, or `forget` the keys
  of a switch that reconnected) when a decrease would not show it;
- an all-ones counter is OpenFlow's "not available": no rate;
- the switch's own clock may be passed per key (`at=`: a flow's or port's
  duration when its counters were read): the rate is then the delta over the
  time the *switch* says passed, so a reply the controller handled late, or
  two handled back to back, gives the true rate rather than a spike.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

ArrayLike = np.ndarray | Sequence[int] | Sequence[float]


@dataclass(frozen=True, slots=True)
class Rates:
    """Rates of one sample, aligned with its keys; NaN where a key has no rate this time."""

    keys: list[Hashable]
    bytes_per_s: np.ndarray  # float64
    packets_per_s: np.ndarray  # float64

    @property
    def valid(self) -> np.ndarray:
        """Which keys have a byte rate."""
        return ~np.isnan(self.bytes_per_s)

    def items(self) -> Iterator[tuple[Hashable, float, float]]:
        """(key, bytes/s, packets/s) of each key that has a byte rate."""
        for i in np.flatnonzero(self.valid).tolist():
            yield self.keys[i], float(self.bytes_per_s[i]), float(self.packets_per_s[i])


class RateTracker:
    """Previous counters per key, turned into rates by each new sample."""

    def __init__(self, expire_after: float = 60.0, counter_bits: int = 64,
                 max_wrap_delta: int | None = None) -> None:
        """Track keys; forget a key unseen for `expire_after` s.

        A decrease counts as a wrap when the wrapped-around delta is at most
        `max_wrap_delta` (default: a quarter of the counter's range), so a
        64-bit counter must have been above 3/4 of 2**64 to wrap, while a
        reset to a small value is always read as a reset.
        """
        if expire_after <= 0:
            raise ValueError("expire_after must be > 0")
        if not 1 <= counter_bits <= 64:
            raise ValueError("counter_bits must be in [1, 64]")
        self.expire_after = float(expire_after)
        self._modulus_mask = np.uint64((1 << counter_bits) - 1)
        limit = (1 << counter_bits) // 4 if max_wrap_delta is None else max_wrap_delta
        self._max_wrap = np.uint64(limit)
        self._slot: dict[Hashable, int] = {}
        self._keys: list[Hashable] = []
        self._time = np.empty(0)
        self._clock = np.empty(0)  # the switch's time of each key's last sample (NaN: none)
        self._bytes = np.empty(0, np.uint64)
        self._packets = np.empty(0, np.uint64)
        self._last_sweep = -np.inf

    def __len__(self) -> int:
        """Number of keys with a baseline."""
        return len(self._keys)

    def __contains__(self, key: Hashable) -> bool:
        """Whether `key` has a baseline."""
        return key in self._slot

    def _slots(self, keys: Sequence[Hashable]) -> np.ndarray:
        """Slot of each key, making slots (marked unseen: time NaN) for new ones."""
        slot = self._slot
        out = np.empty(len(keys), np.int64)
        new = []
        for i, key in enumerate(keys):
            s = slot.get(key)
            if s is None:
                s = slot[key] = len(self._keys)
                self._keys.append(key)
                new.append(s)
            out[i] = s
        if new:
            grow = len(self._keys) - len(self._time)
            self._time = np.concatenate([self._time, np.full(grow, np.nan)])
            self._clock = np.concatenate([self._clock, np.full(grow, np.nan)])
            self._bytes = np.concatenate([self._bytes, np.zeros(grow, np.uint64)])
            self._packets = np.concatenate([self._packets, np.zeros(grow, np.uint64)])
        return out

    def _delta(self, prev: np.ndarray, cur: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(delta, reset) per key: the wrapped-aware increase, and where a decrease was a reset."""
        delta = (cur - prev) & self._modulus_mask  # uint64 arithmetic wraps mod 2**64
        reset = (cur < prev) & (delta > self._max_wrap)
        return delta, reset

    def update(self, now: float | ArrayLike, keys: Sequence[Hashable], byte_counts: ArrayLike,
               packet_counts: ArrayLike, restarted: ArrayLike | None = None,
               at: ArrayLike | None = None) -> Rates:
        """Record one sample (unique keys) and return the rate of each key since its last one.

        `now` is the sample time, one for all or one per key; `at`, if given,
        is the switch's clock per key (seconds, e.g. the flow's duration): the
        rate's interval is measured on it where it advanced (where it stood
        still, or the previous sample had none, on `now`; where it went back,
        the key was made again and gets no rate this time), while `now` still
        ages keys out. `restarted` marks keys whose counters the caller
        knows started again from zero.
        """
        n = len(keys)
        t = np.broadcast_to(np.asarray(now, dtype=np.float64), (n,))
        cur_b = np.asarray(byte_counts, dtype=np.uint64).reshape(n)
        cur_p = np.asarray(packet_counts, dtype=np.uint64).reshape(n)
        latest = float(t.max()) if n else None
        if latest is not None and latest - self._last_sweep >= self.expire_after:
            self.expire(latest)
            self._last_sweep = latest
        slots = self._slots(keys)
        elapsed = t - self._time[slots]  # NaN for new keys
        with np.errstate(invalid="ignore"):
            ok = elapsed <= self.expire_after
        if at is not None:
            clock = np.asarray(at, dtype=np.float64).reshape(n)
            by_switch = clock - self._clock[slots]  # NaN where the last sample had no clock
            with np.errstate(invalid="ignore"):
                ok &= ~(by_switch < 0)  # the flow or port was made again: a new baseline
                # A switch that keeps no durations (its clock stands still) is timed by ours.
                elapsed = np.where(by_switch > 0, by_switch, elapsed)
            self._clock[slots] = clock
        else:
            self._clock[slots] = np.nan
        with np.errstate(invalid="ignore"):
            ok &= elapsed > 0
        if restarted is not None:
            ok &= ~np.asarray(restarted, dtype=bool).reshape(n)
        d_b, reset_b = self._delta(self._bytes[slots], cur_b)
        d_p, reset_p = self._delta(self._packets[slots], cur_p)
        ok &= ~(reset_b | reset_p)
        absent = self._modulus_mask
        ok_b = ok & (cur_b != absent) & (self._bytes[slots] != absent)
        ok_p = ok & (cur_p != absent) & (self._packets[slots] != absent)
        with np.errstate(invalid="ignore", divide="ignore"):
            bps = np.where(ok_b, d_b / elapsed, np.nan)
            pps = np.where(ok_p, d_p / elapsed, np.nan)
        self._time[slots] = t
        self._bytes[slots] = cur_b
        self._packets[slots] = cur_p
        return Rates(list(keys), bps, pps)

    def _keep(self, keep: np.ndarray) -> list[Hashable]:
        """Drop the keys not in boolean mask `keep`; return the dropped keys."""
        dropped = [k for k, kept in zip(self._keys, keep.tolist(), strict=True) if not kept]
        if dropped:
            self._keys = [k for k, kept in zip(self._keys, keep.tolist(), strict=True) if kept]
            self._slot = {k: i for i, k in enumerate(self._keys)}
            self._time = self._time[keep]
            self._clock = self._clock[keep]
            self._bytes = self._bytes[keep]
            self._packets = self._packets[keep]
        return dropped

    def expire(self, now: float) -> list[Hashable]:
        """Drop keys whose last sample is more than `expire_after` s before `now`; return them.

        `update` does this by itself at most once every `expire_after` s.
        """
        with np.errstate(invalid="ignore"):
            stale = now - self._time > self.expire_after
        return self._keep(~stale)

    def forget(self, keys: Iterable[Hashable]) -> None:
        """Drop `keys` (e.g. a reconnected switch's): their next sample is a first sample."""
        gone = set(keys)
        self._keep(np.array([k not in gone for k in self._keys], dtype=bool))

    def forget_if(self, predicate: Callable[[Hashable], bool]) -> None:
        """Drop every key for which `predicate(key)` is true."""
        self._keep(np.array([not predicate(k) for k in self._keys], dtype=bool))


def group_sums(keys: Sequence[Hashable], values: ArrayLike,
               members: Mapping[Hashable, Iterable[Hashable]]) -> dict[Hashable, float]:
    """Sum per group (a virtual network, a link...) of its members' values.

    `members` maps each group to the keys it adds up (a key may be in several
    groups). NaN values and keys missing from the sample are skipped; a group
    none of whose members has a value is left out rather than reported as 0.
    """
    index = {key: i for i, key in enumerate(keys)}
    groups = list(members)
    pair_group: list[int] = []
    pair_pos: list[int] = []
    for g, group in enumerate(groups):
        for key in members[group]:
            i = index.get(key)
            if i is not None:
                pair_group.append(g)
                pair_pos.append(i)
    vals = np.asarray(values, dtype=np.float64)[np.asarray(pair_pos, dtype=np.int64)]
    ok = ~np.isnan(vals)
    which = np.asarray(pair_group, dtype=np.int64)[ok]
    sums = np.bincount(which, weights=vals[ok], minlength=len(groups))
    counts = np.bincount(which, minlength=len(groups))
    return {group: float(sums[g]) for g, group in enumerate(groups) if counts[g]}
