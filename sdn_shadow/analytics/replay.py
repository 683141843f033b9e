"""Replay a capture: rewrite its addresses into a network, then send it paced on a socket.

`prepare` reads the capture once and rewrites every IPv4/ARP frame (other
frames are skipped and counted); `send_prepared` sends on a schedule from
`send_schedule`. Source MACs are mapped into 02:53:48:xx:xx:xx
(`REPLAY_OUI`), so a counter at the destination can tell replayed frames
from the network's own traffic, unless one `src_mac` is given (a sender
that must look like a host: an edge switch admits only its MAC).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sdn_shadow.analytics.capture_file import ReadStats, read_capture
from sdn_shadow.analytics.decode import ETHERNET, address, decode
from sdn_shadow.analytics.pacing import Pacer, send_schedule
from sdn_shadow.analytics.rewrite import AddressMap, rewrite_frame

REPLAY_OUI = bytes.fromhex("025348")
PROGRESS_EVERY = 2.0  # seconds between progress lines


@dataclass
class Prepared:
    """A capture's frames ready to send: rewritten bytes, original times, what was left out."""

    path: str
    frames: list[bytes] = field(default_factory=list)
    times: list[float] = field(default_factory=list)
    records: int = 0
    skipped: int = 0  # not IPv4 or ARP, or malformed
    truncated: bool = False
    mapping: dict[str, str] = field(default_factory=dict)


def busiest(path: str | Path, side: str = "dst") -> str | None:
    """The IPv4 address the capture sends most packets to (`dst`) or from (`src`); None
    if it has no IPv4."""
    counts: Counter[bytes] = Counter()
    for record in read_capture(path):
        pkt = decode(record.time, record.data, record.linktype, record.wire_length)
        if pkt is not None and pkt.proto > 0 and len(pkt.dst) == 4:
            counts[pkt.dst if side == "dst" else pkt.src] += 1
    return address(counts.most_common(1)[0][0]) if counts else None


def prepare(path: str | Path, amap: AddressMap, dst_mac: bytes | None = None,
            src_mac: bytes | None = None) -> Prepared:
    """Every IPv4/ARP frame of the capture rewritten through `amap` (AddressError if the
    network is too small for its addresses: nothing is sent then).

    `dst_mac` replaces unicast destination MACs (the frames must reach one host),
    `src_mac` every source MAC.
    """
    amap.assign_all(read_capture(path))
    stats = ReadStats()
    out = Prepared(str(path))
    for record in read_capture(path, stats):
        out.records += 1
        frame = rewrite_frame(record.data, record.linktype, amap, src_mac, dst_mac)
        if frame is None:
            out.skipped += 1
            continue
        if record.linktype != ETHERNET and src_mac is None:  # a made-up 02:00:<ip> MAC
            frame = frame[:6] + amap.translate(frame[6:12]) + frame[12:]
        out.frames.append(frame)
        out.times.append(record.time)
    out.truncated = stats.truncated
    out.mapping = amap.mapping()
    return out


@dataclass
class SendReport:
    """What a paced send did."""

    sent: int = 0
    errors: int = 0
    seconds: float = 0.0
    max_late: float = 0.0
    first_error: str | None = None
    started: float | None = None  # wall-clock time of the first frame sent


def send_prepared(prepared: Prepared, send: Callable[[bytes], object],
                  speed: float | None = None, pps: float | None = None, loop: int = 1,
                  progress: Callable[[str], None] | None = None) -> SendReport:
    """Send the frames on schedule (by timestamps / speed, or at pps), `loop` times."""
    offsets = send_schedule(prepared.times, speed, pps, loop)
    frames, n = prepared.frames, len(prepared.frames)
    report = SendReport()
    pacer = Pacer(offsets)
    next_line = time.monotonic() + PROGRESS_EVERY
    for batch in pacer.batches():
        if report.started is None:
            report.started = time.time()
        for index in batch:
            try:
                send(frames[index % n])
                report.sent += 1
            except OSError as err:
                report.errors += 1
                report.first_error = report.first_error or str(err)
        if progress and time.monotonic() >= next_line:
            progress(f"{report.sent:,} of {len(offsets):,} frames sent")
            next_line = time.monotonic() + PROGRESS_EVERY
    report.seconds, report.max_late = pacer.stats.duration, pacer.stats.max_late
    return report
