"""outage_link_down_ms and outage_silent_ms: the longest ping gap when a primary link fails.

Each run pings h1 -> h2 on the ring every millisecond, fails the s1-s2 link
(carrier down, or silently: a `pfifo limit 0` qdisc drops everything s1 sends
while the carrier stays up, which only BFD sees), waits for the controller's
failover, repairs the link and waits for its failback. The figure is the
median over runs of the longest gap between replies after the failure; the
reference is the median longest gap of the same ping before it (the lab's
own jitter), so the outage can be read against what a healthy run shows.
"""

from __future__ import annotations

import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import yaml

from bench.figures import Figure, median
from sdn_shadow.lab.net import wait_bfd_up
from sdn_shadow.lab.session import Lab, running_lab
from sdn_shadow.lab.traffic import start_ping

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
RUNS = 11
WAIT_TO_RESTORE, HOLD = 1.0, 2.0
BFD_MS = 10


def _config(bfd: bool) -> dict:
    data = yaml.safe_load((EXAMPLES / "ring.yaml").read_text())
    data["failover"] = {"wait_to_restore": WAIT_TO_RESTORE, "hold": HOLD, "bfd": bfd,
                        "bfd_interval_ms": BFD_MS, "bfd_grace": 2.0}
    return data


def _wait_failed(lab: Lab, want: list[str], timeout: float = 15.0) -> None:
    deadline = time.time() + timeout
    while lab.controller.state().get("routing", {}).get("failed_links") != want:
        if time.time() > deadline:
            raise RuntimeError(f"failed links never became {want}")
        time.sleep(0.05)


def _runs(bfd: bool, fail: Callable[[Lab], None], repair: Callable[[Lab], None],
          progress: Callable[[str], None], name: str) -> tuple[list[float], list[float]]:
    from topologies.ring import RingTopo

    outages, jitter = [], []
    with running_lab(RingTopo(), _config(bfd), Path(tempfile.mkdtemp(prefix="bench-ff-"))) as lab:
        if bfd:
            wait_bfd_up([f"s{i}-eth{p}" for i in range(1, 5) for p in (10, 11)])
        time.sleep(2.0 if bfd else 0.5)  # the start-up grace is over
        for i in range(RUNS):
            run = start_ping(lab.host("h1"), "10.0.0.2", count=3000, interval=0.001)
            time.sleep(1.0)
            failed_at = time.time()
            fail(lab)
            result = run.result()
            times = result.reply_times
            before = [b - a for a, b in zip(times, times[1:], strict=False) if b < failed_at]
            after = [b - a for a, b in zip(times, times[1:], strict=False) if b >= failed_at]
            outages.append(max(after, default=result.duration) * 1000)
            jitter.append(max(before, default=0.0) * 1000)
            _wait_failed(lab, ["s1-s2"])
            repair(lab)
            _wait_failed(lab, [])
            lost = result.sent - result.received
            progress(f"{name} run {i + 1}/{RUNS}: longest gap {outages[-1]:.1f} ms "
                     f"(before the failure {jitter[-1]:.1f} ms), lost {lost}")
    return outages, jitter


def _figure(outages: list[float], jitter: list[float], target_ms: float, extra: dict) -> Figure:
    value = median(outages)
    return Figure(round(value, 1), "ms", round(median(jitter), 1), f"<= {target_ms:g}",
                  value <= target_ms, {"runs_ms": [round(v, 1) for v in outages],
                                       "reference_runs_ms": [round(v, 1) for v in jitter],
                                       "reference_unit": "ms, longest reply gap of the same "
                                                         "ping before the failure", **extra})


def outage_link_down_ms(progress: Callable[[str], None]) -> Figure:
    """Primary link carrier down (Mininet configLinkStatus): fast-failover groups act."""
    outages, jitter = _runs(
        False, lambda lab: lab.net.configLinkStatus("s1", "s2", "down"),
        lambda lab: lab.net.configLinkStatus("s1", "s2", "up"), progress, "outage_link_down")
    return _figure(outages, jitter, 15, {"ping_interval_ms": 1})


def _tc(*args: str) -> None:
    subprocess.run(["tc", "qdisc", *args], check=False, capture_output=True)


def outage_silent_ms(progress: Callable[[str], None]) -> Figure:
    """Silent loss on the primary link (carrier up), BFD at 10 ms timers."""
    outages, jitter = _runs(
        True, lambda lab: _tc("replace", "dev", "s1-eth10", "root", "pfifo", "limit", "0"),
        lambda lab: _tc("del", "dev", "s1-eth10", "root"), progress, "outage_silent")
    return _figure(outages, jitter, 50, {"ping_interval_ms": 1, "bfd_interval_ms": BFD_MS})
