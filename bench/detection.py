"""Live detection: delay from attack start to alert, and false alerts per hour of normal traffic.

`detection_delay_s` replays the slow port scan of tests/data
(`lab_nmap_slowscan.pcap`: 40 ports in 3.9 s, the 20th 1.9 s in) from a primary host
of the real lab (OVS, the controller, its sniffer on the shadow host's port)
several times and measures alert time minus the first frame's send time;
the reference is the same capture through the same LiveDetector on a
simulated clock ticking like the controller's poll loop, measured in the
same run: the delay the detector's own windows impose, with no network,
sniffer or process in the way.

`false_alerts_per_hour` cuts every *normal* capture of tests/data (and of
the corpus too when SDN_SHADOW_CORPUS names one) at half its duration. One
live detector learns the first halves, played back to back at their own pace
(each kind of normal traffic seen once: the volume baseline must cover the
network's busy moments); then the second halves, which it never learnt, play
over and over for an hour of simulated time, and the alerts per hour raised
while they play are counted (the detail counts those raised while learning,
when volume is judged against the stream's own past, apart).
The reference is offline `analyze` of the same files, each judged against
itself, scaled to the same hour. The detail names the files and also gives
the counts when the detector learns only the first minute (the config's
default `learn: 60`) and when it learns the very data it is judged on.
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


def _halves(paths: list[Path]) -> tuple[list, list, float, float]:
    """Each capture cut at half its duration: the first halves back to back (the pass the
    detector learns), the second halves back to back (the pass it is judged on), with their
    lengths in seconds; a second between files."""
    learn, play, learn_s, play_s = [], [], 0.0, 0.0
    for path in paths:
        frames = _frames(path)
        middle = (frames[-1][0] if frames else 0.0) / 2
        first = [f for f in frames if f[0] < middle] or frames[:1]
        second = [(t - middle, d, n) for t, d, n in frames[len(first):]]
        learn += [(learn_s + t, d, n) for t, d, n in first]
        play += [(play_s + t, d, n) for t, d, n in second]
        learn_s += (first[-1][0] if first else 0.0) + 1.0
        play_s += (second[-1][0] if second else 0.0) + 1.0
    return learn, play, learn_s, play_s


def false_alerts_per_hour(progress: Callable[[str], None]) -> Figure:
    """Alerts per hour of the normal captures' second halves (samples, and corpus if set),
    looped through live detection that learnt only their first halves."""
    corpus = corpus_root()
    normal = captures(SAMPLES, "normal") + (captures(corpus, "normal") if corpus else [])
    learn, play, learn_s, play_s = _halves(normal)
    offline = sum(len(analyze(path).alerts) for path in normal)
    loops = max(1, round(HOUR / play_s))
    stream = learn + [(learn_s + k * play_s + t, d, n) for k in range(loops) for t, d, n in play]
    progress(f"{len(normal)} normal captures: learn the first halves ({learn_s:.0f} s, "
             f"{len(learn):,} frames), play the second halves ({play_s:.0f} s) x {loops} = "
             f"{loops * play_s / 60:.0f} min, {len(stream) - len(learn):,} frames")
    raised_all, _ = _simulated(stream, learn=learn_s)
    raised = [t for t in raised_all if t >= learn_s]  # while learning it judges against itself
    alerts = len(raised)
    _, default_learn = _simulated(stream, learn=60.0)
    whole = [(t, d, n) for t, d, n in learn] + [(learn_s + t, d, n) for t, d, n in play]
    _, same_data = _simulated(whole + [(k * (learn_s + play_s) + t, d, n)
                                       for k in range(1, loops) for t, d, n in whole],
                              learn=learn_s + play_s)
    hours = loops * play_s / HOUR
    value = alerts / hours
    return Figure(round(value, 2), "alerts/h", round(offline * loops / hours, 2), "0",
                  alerts == 0,
                  {"captures": len(normal), "files": [shown(p) for p in normal],
                   "hours": round(hours, 3), "loops": loops, "frames_played": len(stream)
                   - len(learn), "frames_learnt": len(learn), "live_alerts": alerts,
                   "learn_s": round(learn_s, 1), "play_s": round(play_s, 1),
                   "first_alerts_at_s": [round(t - learn_s, 1) for t in raised[:5]],
                   "alerts_while_learning": len(raised_all) - alerts,
                   "alerts_with_learn_60s": default_learn,
                   "alerts_learning_what_is_played": same_data,
                   "offline_alerts_per_pass": offline,
                   "reference_unit": "alerts/h of offline analyze on the same files (each "
                                     "its own baseline), scaled to the same loops"})
