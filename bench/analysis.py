"""analysis_throughput_ratio: offline analysis of the largest capture vs scapy's rdpcap.

The largest capture of tests/data (the samples the project carries), or of the
samples and the corpus when SDN_SHADOW_CORPUS names one; the detail names it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from scapy.all import rdpcap

from bench.figures import Figure, median
from sdn_shadow.analytics.analyze import analyze
from tests.datasets import SAMPLES, captures, corpus_root

ROOT = Path(__file__).resolve().parents[1]
RUNS = 7
TARGET = 1.0


def largest_capture() -> Path:
    """The biggest capture file (by bytes) of the samples, and of the corpus if one is set."""
    corpus = corpus_root()
    found = captures(SAMPLES) + (captures(corpus) if corpus else [])
    if not found:
        raise FileNotFoundError(f"no captures under {SAMPLES / 'pcaps'}")
    return max(found, key=lambda p: p.stat().st_size)


def shown(path: Path) -> str:
    """A file's path as a figure's detail gives it: from the repository root, or absolute."""
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


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
                  {"capture": shown(path), "packets": len(rdpcap(str(path))),
                   "analyze_pps": round(value), "analyze_runs_pps": [round(v) for v in ours],
                   "rdpcap_runs_pps": [round(v) for v in theirs], "runs": RUNS,
                   "reference_unit": "packets/s of scapy rdpcap on the same file"})
