"""Live detection at one shadow destination: mirrored frames in, alerts opened and closed out.

The same pieces as `sdn-shadow analyze` (decode, IntervalBuilder, the
detector's stream, AlertTracker), driven by a clock instead of a file: the
caller decodes frames as they arrive (`decode_frames`, pure, so a reader
thread can do it outside the controller's lock), hands them over with
`take`, and calls `advance(now)`, which
closes every interval that ended before `now - LATE` and reports the alerts
that opened (at once: a live alert must not wait for the attack to end) and
those that went quiet. The first `learn` seconds of traffic are added to the
volume baseline (rules other than volume judge from the first interval).
While there is no baseline at all (no baseline intervals, and learning not
over or `learn` 0), volume and the SYN level are judged against the stream's
own past, as `analyze` does without `--baseline` (see `AnomalyDetector`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import NamedTuple

from sklearn.base import clone

from sdn_shadow.analytics.alerts import Alert, AlertTracker
from sdn_shadow.analytics.decode import ETHERNET, Packet, decode
from sdn_shadow.analytics.detector import AnomalyDetector
from sdn_shadow.analytics.features import Interval, IntervalBuilder

#: Seconds a frame may reach the detector after the end of the interval it belongs to.
LATE = 0.25

Frame = tuple[float, bytes, int]  # receive time, bytes (maybe cut short), length on the wire


class Decoded(NamedTuple):
    """Frames decoded: their packets, how many were malformed, their bytes on the wire, and
    how many the reader lost before it could decode them."""

    packets: list[Packet]
    malformed: int
    bytes: int
    lost: int = 0


def decode_frames(frames: Iterable[Frame], lost: int = 0) -> Decoded:
    """Decode received Ethernet frames; a malformed one is counted and left out; `lost`
    (frames the reader dropped) is passed on."""
    packets, malformed, total = [], 0, 0
    for when, data, length in frames:
        pkt = decode(when, data, ETHERNET, length)
        if pkt is None:
            malformed += 1
        else:
            packets.append(pkt)
            total += length
    return Decoded(packets, malformed, total, lost)


class LiveDetector:
    """Detection on the frames one shadow destination receives, by the caller's clock."""

    def __init__(self, detector: AnomalyDetector, seconds: float, now: float,
                 baseline: Sequence[Interval] = (), learn: float = 0.0) -> None:
        self.detector = clone(detector).fit(baseline)
        self.baseline = list(baseline)
        self.seconds = seconds
        self.learn_until = now + learn if learn > 0 else None
        self.learned: list[Interval] = []
        self.builder = IntervalBuilder(seconds, origin=now)
        self.run = self.detector.stream()
        self.tracker = AlertTracker(gap=2 * seconds)
        self.packets = 0
        self.bytes = 0
        self.malformed = 0
        self.lost = 0
        self.pending: list[Interval] = []  # closed by a frame's time, judged at `advance`

    def take(self, decoded: Decoded) -> None:
        """Count decoded frames into the intervals."""
        self.malformed += decoded.malformed
        self.lost += decoded.lost
        self.packets += len(decoded.packets)
        self.bytes += decoded.bytes
        for pkt in decoded.packets:
            self.pending += self.builder.add(pkt)

    def advance(self, now: float) -> tuple[list[Alert], list[Alert]]:
        """Judge every interval that ended by `now - LATE`: the alerts opened and closed."""
        intervals, self.pending = self.pending + self.builder.advance(now - LATE), []
        opened: list[Alert] = []
        for interval in intervals:
            findings = self.run.push(interval)
            self._learn(interval, quiet=not findings)
            opened += self.tracker.merge(findings)
        return opened, self.tracker.close_idle(now - LATE)

    def open_alerts(self) -> list[Alert]:
        """The alerts still open."""
        return list(self.tracker.open.values())

    @property
    def learning(self) -> bool:
        """Whether the volume baseline is still taking live intervals in."""
        return self.learn_until is not None

    def _learn(self, interval: Interval, quiet: bool) -> None:
        """Add a quiet interval of the learning period; at its end, refit the volume baseline."""
        if self.learn_until is None:
            return
        if interval.end <= self.learn_until:
            if quiet:  # an attack during learning must not become normal
                self.learned.append(interval)
            return
        self.detector.fit(self.baseline + self.learned)  # the stream reads the refit figures
        self.learn_until = None


def run_on_clock(live: LiveDetector, frames: Sequence[Frame], start: float, tick: float = 0.1,
                 ) -> tuple[list[tuple[float, Alert]], list[Alert]]:
    """Hand time-ordered frames to `live` as they would arrive, advancing it every `tick` s
    from `start` (as the controller's poll loop does) until the last one is in and its alerts
    have closed; the alerts opened with when, and the alerts closed."""
    opened: list[tuple[float, Alert]] = []
    closed: list[Alert] = []
    now, i = start, 0
    while i < len(frames) or live.tracker.open:
        now += tick
        j = i
        while j < len(frames) and frames[j][0] <= now:
            j += 1
        live.take(decode_frames(frames[i:j]))
        i = j
        new, gone = live.advance(now)
        opened += [(now, alert) for alert in new]
        closed += gone
    return opened, closed
