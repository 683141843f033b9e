"""When to send each packet of a replay, and a pacer that keeps to that schedule."""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass


def _positive(name: str, value: float | None) -> None:
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    if value is not None and not (ok and math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a positive finite number, not {value!r}")


def send_schedule(times: Sequence[float], speed: float | None = None, pps: float | None = None,
                  loop: int = 1) -> list[float]:
    """Seconds from the start at which to send each packet, the capture repeated `loop` times.

    By timestamps (`speed`, default 1.0), a packet goes at (the latest capture time so
    far - the first) / speed: a packet stamped before the one ahead of it goes right
    after it (gap 0, never negative) and the replay still lasts as long as the capture,
    scaled. With `pps` packets go evenly 1/pps apart, across loops too. Between loops by
    timestamps there is the median gap of one pass (0 for a one-packet capture), so a
    loop neither pauses nor bunches where the capture ends.
    """
    if speed is not None and pps is not None:
        raise ValueError("give speed or pps, not both")
    _positive("speed", speed)
    _positive("pps", pps)
    if isinstance(loop, bool) or not isinstance(loop, int) or loop < 1:
        raise ValueError(f"loop must be a whole number of at least 1, not {loop!r}")
    for i, stamp in enumerate(times):
        if not (isinstance(stamp, int | float) and math.isfinite(stamp)):
            raise ValueError(f"capture time of packet {i} is {stamp!r}, not a finite number")
    if pps is not None:
        return [i / pps for i in range(len(times) * loop)]
    if not times:
        return []
    scale = 1.0 / (speed or 1.0)
    one: list[float] = []
    latest = times[0]
    for stamp in times:
        latest = max(latest, stamp)
        one.append((latest - times[0]) * scale)
    gaps = [b - a for a, b in zip(one, one[1:], strict=False)]
    period = one[-1] + (statistics.median(gaps) if gaps else 0.0)
    return [k * period + offset for k in range(loop) for offset in one]


@dataclass
class PacerStats:
    """How a paced run went: packets and batches handed out, lateness in seconds."""

    sent: int = 0
    batches: int = 0
    max_late: float = 0.0
    total_late: float = 0.0
    duration: float = 0.0

    @property
    def mean_late(self) -> float:
        """Mean lateness per packet (seconds)."""
        return self.total_late / self.sent if self.sent else 0.0


class Pacer:
    """Hands out packet indices as their offsets come due on a monotonic clock.

    It sleeps until the next packet is due (never a negative time) and, when
    behind, hands out every packet already due at once (up to `max_batch`), so a
    slow sender catches up instead of drifting. Offsets count from the first
    `batches()` step, so oversleeping once never delays the rest. Lateness is the
    clock at hand-out minus the packet's due time. `sleep` must let `clock` advance.
    """

    def __init__(self, offsets: Sequence[float], clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep, max_batch: int = 64) -> None:
        if max_batch < 1:
            raise ValueError(f"max_batch must be at least 1, not {max_batch!r}")
        self.offsets = offsets
        self.max_batch = max_batch
        self.stats = PacerStats()
        self._clock, self._sleep = clock, sleep

    def batches(self) -> Iterator[range]:
        """Ranges of packet indices to send now, in order, each when its packets are due."""
        start = self._clock()
        i, n = 0, len(self.offsets)
        while i < n:
            elapsed = self._clock() - start
            wait = self.offsets[i] - elapsed
            if wait > 0:
                self._sleep(wait)
                continue
            j = i + 1
            while j < n and j - i < self.max_batch and self.offsets[j] <= elapsed:
                j += 1
            for k in range(i, j):
                late = elapsed - self.offsets[k]
                self.stats.total_late += late
                self.stats.max_late = max(self.stats.max_late, late)
            self.stats.sent += j - i
            self.stats.batches += 1
            yield range(i, j)
            i = j
        self.stats.duration = self._clock() - start

    def run(self, send: Callable[[int], object]) -> PacerStats:
        """Call `send(index)` for every packet on schedule; the stats of the run."""
        for batch in self.batches():
            for index in batch:
                send(index)
        return self.stats
