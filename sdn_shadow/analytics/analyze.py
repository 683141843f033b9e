"""Offline analysis: a capture file through the same features and detector as the live shadow."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sdn_shadow.analytics.alerts import Alert, AlertTracker
from sdn_shadow.analytics.capture_file import ReadStats, read_capture
from sdn_shadow.analytics.decode import decode
from sdn_shadow.analytics.detector import AnomalyDetector
from sdn_shadow.analytics.features import Interval, IntervalBuilder, count

PROGRESS_EVERY = 2.0


@dataclass
class CaptureIntervals:
    """A capture cut into intervals, with what could not be used."""

    path: str
    intervals: list[Interval] = field(default_factory=list)
    packets: int = 0
    malformed: int = 0
    other: int = 0
    truncated: bool = False
    first: float | None = None
    last: float | None = None
    notes: list[str] = field(default_factory=list)


@dataclass
class Analysis:
    """The alerts of one capture and what they were judged against."""

    capture: CaptureIntervals
    alerts: list[Alert]
    baseline: str
    interval: float
    volume_level: str = ""

    @property
    def origin(self) -> float:
        """Time of the capture's first packet (alert times are seconds after it)."""
        return self.capture.first or 0.0

    def to_json(self) -> dict:
        """`{"alerts": [...], "intervals": N, ...}` with times since the first packet."""
        c = self.capture
        return {
            "alerts": [a.to_dict(self.origin) for a in self.alerts],
            "intervals": count(c.intervals),
            "interval_seconds": self.interval,
            "packets": c.packets,
            "malformed": c.malformed,
            "truncated": c.truncated,
            "duration": round((c.last or 0.0) - self.origin, 6),
            "baseline": self.baseline,
            "volume_level": self.volume_level,
        }


def capture_intervals(path: str | Path, seconds: float,
                      progress: Callable[[str], None] | None = None) -> CaptureIntervals:
    """Read, decode and cut one capture; malformed packets are counted and skipped."""
    result = CaptureIntervals(str(path))
    stats = ReadStats()
    builder = IntervalBuilder(seconds)
    records = read_capture(path, stats)
    size = max(os.path.getsize(path), 1)
    read = 0
    next_report = time.monotonic() + PROGRESS_EVERY
    for record in records:
        result.packets += 1
        read += len(record.data) + 16
        pkt = decode(record.time, record.data, record.linktype, record.wire_length)
        if pkt is None:
            result.malformed += 1
            continue
        if pkt.proto < 0:
            result.other += 1
        if result.first is None:
            result.first = pkt.time
        result.last = pkt.time if result.last is None else max(result.last, pkt.time)
        closed = builder.add(pkt)
        if closed:
            result.intervals.extend(closed)
            if progress and time.monotonic() >= next_report:
                progress(f"{path}: {result.packets:,} packets, {min(read / size, 1):.0%}")
                next_report = time.monotonic() + PROGRESS_EVERY
    result.intervals.extend(builder.finish())
    result.truncated = stats.truncated
    result.notes.extend(stats.notes + builder.notes)
    if stats.skipped_blocks:
        result.notes.append(f"{stats.skipped_blocks} pcapng blocks skipped (not packets)")
    return result


def detect(detector: AnomalyDetector, intervals: Iterable[Interval], gap: float) -> list[Alert]:
    """Run a fitted detector over intervals in order; the alerts, first start first."""
    run = detector.stream()
    tracker = AlertTracker(gap)
    alerts: list[Alert] = []
    for iv in intervals:
        alerts.extend(tracker.add(run.push(iv), iv.end))
    alerts.extend(tracker.finish())
    return sorted(alerts, key=lambda a: (a.start, a.kind, a.key))


def analyze(path: str | Path, baselines: Sequence[str | Path] = (), seconds: float = 1.0,
            detector: AnomalyDetector | None = None,
            progress: Callable[[str], None] | None = None) -> Analysis:
    """Alerts of the capture at `path`, judged against `baselines` or, without, itself.

    Without baseline files the capture is judged against its own past: the
    volume (and SYN) level of each interval is learned from the intervals
    before it only (see `AnomalyDetector`), and no ARP bindings are known in
    advance.
    """
    detector = detector if detector is not None else AnomalyDetector()
    capture = capture_intervals(path, seconds, progress)
    if baselines:
        normal = [iv for b in baselines for iv in capture_intervals(b, seconds, progress).intervals]
        described = f"{len(baselines)} file(s), {count(normal)} intervals"
        detector.fit(normal)
        files = f"{len(baselines)} file{'s' if len(baselines) != 1 else ''}"
        level = f"baseline ({files})"
        if detector.n_intervals_ < detector.min_baseline:
            described += f" (under {detector.min_baseline}: volume not judged)"
            level += (f"; not judged: {detector.n_intervals_} baseline intervals, "
                      f"under {detector.min_baseline}")
    else:
        described = f"the capture itself, {count(capture.intervals)} intervals"
        detector.fit([])
        level = (f"learned from the capture's own past (rolling median of "
                 f"{detector.volume_window} intervals, warm-up {detector.warmup_})")
        active = sum(1 for iv in capture.intervals if iv.packets)
        if active <= detector.warmup_:
            level += (f"; not judged: {active} interval{'s' if active != 1 else ''} "
                      "with traffic, none past the warm-up")
    alerts = detect(detector, capture.intervals, gap=2 * seconds)
    return Analysis(capture, alerts, described, seconds, level)


def format_report(analysis: Analysis) -> str:
    """The analysis as a readable table."""
    c = analysis.capture
    lines = [f"{c.path}: {c.packets:,} packets over {analysis.to_json()['duration']:.1f} s, "
             f"{count(c.intervals)} intervals of {analysis.interval:g} s, {c.malformed} malformed"
             f"{', cut off at the end' if c.truncated else ''}",
             f"baseline: {analysis.baseline}",
             f"volume level: {analysis.volume_level}"]
    lines += [f"note: {n}" for n in c.notes]
    if not analysis.alerts:
        lines.append("no alerts")
        return "\n".join(lines)
    rows = [("KIND", "SEVERITY", "START", "END", "SOURCES", "EVIDENCE")]
    for alert in analysis.alerts:
        d = alert.to_dict(analysis.origin)
        sources = ", ".join(d["sources"][:3]) + (" ..." if len(alert.sources) > 3 else "")
        evidence = " ".join(f"{k}={v}" for k, v in d["evidence"].items())
        rows.append((d["kind"], d["severity"], f"{d['start']:.3f}", f"{d['end']:.3f}", sources,
                     evidence))
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    lines += ["  ".join(cell.ljust(w) for cell, w in zip(r[:5], widths, strict=True)) + "  " + r[5]
              for r in rows]
    lines.append(f"{len(analysis.alerts)} alert{'s' if len(analysis.alerts) != 1 else ''}")
    return "\n".join(lines)
