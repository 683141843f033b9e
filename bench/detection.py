"""Live detection: delay from attack start to alert, and false alerts per hour of normal traffic.

`detection_delay_s` replays the slow port scan of tests/data
(`lab_nmap_slowscan.pcap`: 40 ports in 3.9 s, the 20th 1.9 s in) from a primary host
of the real lab (OVS, the controller, its sniffer on the shadow host's port)
several times and measures alert time minus the first frame's send time;
the reference is the same capture through the same LiveDetector on a
simulated clock ticking like the controller's poll loop, measured in the
same run: the delay the detector's own windows impose, with no network,
sniffer or process in the way.

`false_alerts_per_hour` plays every *normal* capture of tests/data (and of the
corpus too when SDN_SHADOW_CORPUS names one) back to back at its own pace,
over and over for an hour of simulated time, through one live detector that
learnt the first pass (each kind of normal traffic seen
once: the volume baseline must cover the network's busy moments), and
counts alerts per hour; the reference is offline `analyze` of the same
files, each judged against itself, scaled to the same hour. The detail names
the files and also gives the count with the config's default `learn: 60`,
which learns only the first minute of a pass (with the corpus: mostly idle
LLDP, and then each web page load is flagged as `volume`).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench.analysis import shown
from bench.figures import Figure, median
from sdn_shadow.analytics.analyze import analyze
from sdn_shadow.analytics.capture_file import read_capture
from sdn_shadow.analytics.detector import AnomalyDetector
from sdn_shadow.analytics.live import LiveDetector, run_on_clock
from tests.datasets import SAMPLES, captures, corpus_root

SCAN = SAMPLES / "pcaps" / "attack" / "lab_nmap_slowscan.pcap"
RUNS = 3
SCAN_WINDOW = 10.0  # AnomalyDetector.scan_window: runs further apart never add up
HOUR = 3600.0
TICK = 0.1  # the controller's poll loop period (app.TICK)
DELAY_TARGET = 5.0


def _frames(path: Path) -> list[tuple[float, bytes, int]]:
    """A capture's Ethernet frames, timed from 0."""
    records = [r for r in read_capture(path) if r.linktype == 1]
    first = records[0].time if records else 0.0
    return [(r.time - first, r.data, r.wire_length) for r in records]


def _simulated(frames: list[tuple[float, bytes, int]], learn: float = 0.0
               ) -> tuple[list[float], int]:
    """Live detection of frames timed from 0, ticking like the controller: when each alert
    was raised, and how many alerts."""
    live = LiveDetector(AnomalyDetector(), 1.0, 0.0, learn=learn)
    opened, _ = run_on_clock(live, frames, 0.0, TICK)
    raised = [when for when, _ in opened]
    return raised, len(raised)


def _lab_delays(progress: Callable[[str], None]) -> list[float]:
    """Alert minus first-frame time of the scan replayed from h3 at h2 in the real lab."""
    import yaml

    from sdn_shadow.lab.session import running_lab
    from topologies.lab import LabTopo

    root = Path(__file__).resolve().parents[1]
    data = yaml.safe_load((root / "examples" / "lab.yaml").read_text())
    data["networks"]["tenant-a"]["shadow"]["detect"] = {"on": ["h2s"], "learn": 0}
    delays = []
    with running_lab(LabTopo(), data, Path(tempfile.mkdtemp(prefix="sdn-shadow-bench-"))) as lab:
        for run in range(RUNS):
            proc = subprocess.run(
                [sys.executable, "-m", "sdn_shadow.cli", "replay", str(SCAN), "--network",
                 "tenant-a", "--config", str(lab.controller.config_path), "--from", "h3",
                 "--to", "h2", "--json", "-"], capture_output=True, text=True, timeout=120)
            if proc.returncode:
                raise RuntimeError(f"replay failed: {proc.stderr.strip()}")
            started = json.loads(proc.stdout)["started"]
            state = lab.wait_state(lambda s, run=run: len([
                e for e in s["events"] if e["kind"] == "alert"]) > run, timeout=10)
            if state is None:
                raise RuntimeError(f"run {run + 1}: no alert for the replayed scan")
            alert = [e for e in state["events"] if e["kind"] == "alert"][run]
            delays.append(alert["t"] - started)
            progress(f"run {run + 1}/{RUNS}: alert {delays[-1]:.2f} s after the first frame")
            time.sleep(SCAN_WINDOW + 2)  # the next run's scan must not add to this one's
    return delays


def detection_delay_s(progress: Callable[[str], None]) -> Figure:
    """Seconds from a replayed scan's first frame to the controller's alert (real lab)."""
    floor, _ = _simulated(_frames(SCAN))
    if not floor:
        raise RuntimeError("the scan raised no alert even on a simulated clock")
    live = _lab_delays(progress)
    value = median(live)
    return Figure(round(value, 2), "s", round(floor[0], 2), f"<= {DELAY_TARGET:g}",
                  value <= DELAY_TARGET,
                  {"capture": shown(SCAN), "lab_runs_s": [round(d, 3) for d in live],
                   "reference_unit": "s: the same capture through LiveDetector on a "
                                     "simulated clock (the detector's own windows)",
                   "interval_s": 1.0})


def false_alerts_per_hour(progress: Callable[[str], None]) -> Figure:
    """Alerts per hour of the normal captures (samples, and corpus if set), looped, through
    live detection."""
    corpus = corpus_root()
    normal = captures(SAMPLES, "normal") + (captures(corpus, "normal") if corpus else [])
    one_pass, offset, offline = [], 0.0, 0
    for path in normal:
        frames = _frames(path)
        one_pass += [(offset + t, data, n) for t, data, n in frames]
        offset += (frames[-1][0] if frames else 0.0) + 1.0  # a second between files
        offline += len(analyze(path).alerts)
    loops = max(1, round(HOUR / offset))
    stream = [(k * offset + t, data, n) for k in range(loops) for t, data, n in one_pass]
    progress(f"{len(normal)} normal captures, {offset:.0f} s a pass, x {loops} = "
             f"{loops * offset / 60:.0f} min, {len(stream):,} frames")
    raised, alerts = _simulated(stream, learn=offset)
    _, default_learn = _simulated(stream, learn=60.0)
    hours = loops * offset / HOUR
    value = alerts / hours
    return Figure(round(value, 2), "alerts/h", round(offline * loops / hours, 2), "0",
                  alerts == 0,
                  {"captures": len(normal), "files": [shown(p) for p in normal],
                   "hours": round(hours, 3), "loops": loops,
                   "frames": len(stream), "live_alerts": alerts, "learn_s": round(offset, 1),
                   "alerts_per_hour_with_learn_60s": round(default_learn / hours, 2),
                   "first_alerts_at_s": [round(t, 1) for t in raised[:5]],
                   "offline_alerts_per_pass": offline,
                   "reference_unit": "alerts/h of offline analyze on the same files (each "
                                     "its own baseline), scaled to the same loops"})
