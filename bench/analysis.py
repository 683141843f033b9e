"""analysis_throughput_ratio: offline analysis of a 100k-packet lab capture vs dpkt.

The capture is recorded in the real lab in the same run (`record_busy_capture`):
tcpdump at h2 of the two-switch lab for 10 s while h1 sends TCP (iperf3,
60 Mbit/s), h3 sends small UDP datagrams (iperf3, 100-byte payloads at
12 Mbit/s) and h1 pings; a capture of fewer than 100,000 frames fails the
figure. The first 256 bytes of each frame are kept (every header the analysis
reads; the wire length stays in the record). The file, `bench-results/busy.pcap`, is kept
and reused by later runs; delete it to record anew. The reference is dpkt, a fast pure
Python reader, reading the same file and decoding every frame's Ethernet, IP
and TCP/UDP headers, measured in the same run: `analyze` does that and more
(features, detection), so a ratio at or above 1 means the whole analysis is
no slower than merely decoding with dpkt.
"""

from __future__ import annotations

import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from bench.figures import Figure, median
from sdn_shadow.analytics.analyze import analyze

ROOT = Path(__file__).resolve().parents[1]
CAPTURE = ROOT / "bench-results" / "busy.pcap"
RUNS = 5
TARGET = 1.0
PACKETS = 100_000
SNAPLEN = 256
SECONDS = 10.0


def record_busy_capture(path: Path, progress: Callable[[str], None]) -> int:
    """Record at least PACKETS frames at h2 of the real lab into `path`; the frame count."""
    from sdn_shadow.lab.attackers import Tcpdump
    from sdn_shadow.lab.session import running_lab
    from sdn_shadow.lab.traffic import iperf3_tcp, iperf3_udp, start_ping
    from topologies.lab import LabTopo

    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial.pcap")
    with tempfile.TemporaryDirectory(prefix="bench-capture-") as tmp, \
            running_lab(LabTopo(), ROOT / "examples" / "lab.yaml", Path(tmp)) as lab:
        h1, h2, h3 = lab.host("h1"), lab.host("h2"), lab.host("h3")
        errors: list[BaseException] = []

        def tcp() -> None:
            try:
                iperf3_tcp(h1, h2, seconds=SECONDS, port=5201, rate="60M")
            except BaseException as err:  # reported below, on the bench's thread
                errors.append(err)

        with Tcpdump(h2, "h2-eth0", partial, snaplen=SNAPLEN):
            pinger = start_ping(h1, h2.IP(), count=int(SECONDS * 20), interval=0.05)
            worker = threading.Thread(target=tcp, daemon=True)
            worker.start()
            udp = iperf3_udp(h3, h2, "12M", seconds=SECONDS, length=100, port=5202)
            worker.join(timeout=SECONDS + 60)
            pinger.stop()
        if errors:
            raise RuntimeError(f"TCP traffic failed: {errors[0]}")
    frames = _dpkt_frames(partial)
    progress(f"recorded {frames:,} frames at h2 ({udp['packets']:,} UDP datagrams sent) "
             f"-> {path}")
    if frames < PACKETS:
        raise RuntimeError(f"the capture holds {frames:,} frames, fewer than {PACKETS:,}")
    partial.replace(path)
    return frames


def _dpkt_frames(path: Path) -> int:
    """dpkt: read every record and decode its Ethernet, IP and transport headers."""
    import dpkt

    count = 0
    with path.open("rb") as f:
        for _ts, buf in dpkt.pcap.Reader(f):
            eth = dpkt.ethernet.Ethernet(buf)
            ip = eth.data
            if isinstance(ip, dpkt.ip.IP):
                _ = ip.data
            count += 1
    return count


def shown(path: Path) -> str:
    """A file's path as a figure's detail gives it: from the repository root, or absolute."""
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def _packets_per_second(work: Callable[[], int]) -> float:
    start = time.perf_counter()
    packets = work()
    return packets / (time.perf_counter() - start)


def analysis_throughput_ratio(progress: Callable[[str], None]) -> Figure:
    """Packets/s of `analyze` (read, decode, features, detect) over packets/s of dpkt."""
    path = CAPTURE
    if not path.exists():
        record_busy_capture(path, progress)
    packets = _dpkt_frames(path)
    ours, theirs = [], []
    for run in range(RUNS):
        theirs.append(_packets_per_second(lambda: _dpkt_frames(path)))
        ours.append(_packets_per_second(lambda: analyze(path).capture.packets))
        progress(f"run {run + 1}/{RUNS}: analyze {ours[-1]:,.0f} pkt/s, "
                 f"dpkt {theirs[-1]:,.0f} pkt/s")
    value, reference = median(ours), median(theirs)
    ratio = value / reference
    return Figure(round(ratio, 2), "ratio", round(reference), f">= {TARGET}", ratio >= TARGET,
                  {"capture": shown(path), "packets": packets, "bytes": path.stat().st_size,
                   "snaplen": SNAPLEN, "analyze_pps": round(value),
                   "analyze_runs_pps": [round(v) for v in ours],
                   "dpkt_runs_pps": [round(v) for v in theirs], "runs": RUNS,
                   "reference_unit": "packets/s of dpkt reading the same file and decoding "
                                     "Ethernet, IP and TCP/UDP of every frame"})
