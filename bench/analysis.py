"""analysis_throughput_ratio: offline analysis of the largest shared capture vs scapy's rdpcap."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from scapy.all import rdpcap

from bench.figures import Figure, median
from sdn_shadow.analytics.analyze import analyze

PCAPS = Path(__file__).resolve().parents[2] / "shared" / "data" / "pcaps"
RUNS = 7
TARGET = 1.0


def largest_capture() -> Path:
    """The biggest file of the shared captures (by bytes)."""
    captures = [p for p in PCAPS.glob("*/*") if p.suffix in (".pcap", ".pcapng", ".cap")]
    if not captures:
        raise FileNotFoundError(f"no captures under {PCAPS}")
    return max(captures, key=lambda p: p.stat().st_size)


def _packets_per_second(work: Callable[[], int]) -> float:
    start = time.perf_counter()
    packets = work()
    return packets / (time.perf_counter() - start)


def analysis_throughput_ratio(progress: Callable[[str], None]) -> Figure:
    """Packets/s of `analyze` (read, decode, features, detect) over packets/s of `rdpcap`."""
    path = largest_capture()
    ours, theirs = [], []
    for run in range(RUNS):
        theirs.append(_packets_per_second(lambda: len(rdpcap(str(path)))))
        ours.append(_packets_per_second(lambda: analyze(path).capture.packets))
        progress(f"run {run + 1}/{RUNS}: analyze {ours[-1]:,.0f} pkt/s, "
                 f"rdpcap {theirs[-1]:,.0f} pkt/s")
    value, reference = median(ours), median(theirs)
    ratio = value / reference
    return Figure(round(ratio, 2), "ratio", round(reference), f">= {TARGET}", ratio >= TARGET,
                  {"capture": path.name, "packets": len(rdpcap(str(path))),
                   "analyze_pps": round(value), "analyze_runs_pps": [round(v) for v in ours],
                   "rdpcap_runs_pps": [round(v) for v in theirs], "runs": RUNS,
                   "reference_unit": "packets/s of scapy rdpcap on the same file"})
