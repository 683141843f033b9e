"""The demo's second act: trouble on the ring, and the controller's timeline of what it did.

On the four-switch ring (tenant-a = h1 on s1, h2 on s2, twins h1s and h2s;
s1 -> s2 shaped to 40 Mbit/s), three kinds of trouble in a row:

1. demand: h1 ramps UDP towards h2 until it would fill s1 -> s2; the
   forecast crosses `routing.upper` and h1 moves onto its shadow path (round
   the ring) before the link fills, then back after the hold;
2. a link: s1 -> s2 goes down under a 1 ms ping (fast-failover groups carry
   on in the data plane), then comes back (failback after wait-to-restore);
3. a host: h2 goes silent (carrier up, nothing sent); health probes find it
   and its twin h2s answers new connections; when h2 answers again it serves
   again.

Each step checks what it shows; the timeline is the controller's own events.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sdn_shadow.lab.preemption import (
    ramp_config,
    run_ramp,
    shaped_link,
    wait_moved_back,
)
from sdn_shadow.lab.ramp import RampSchedule
from sdn_shadow.lab.session import Lab, running_lab
from sdn_shadow.lab.traffic import child_env, start_ping
from sdn_shadow.lab.whoami import who_answers
from sdn_shadow.timeline import timeline

CAPACITY = 40.0  # Mbit/s of s1 -> s2
HOLD = 8.0  # routing.hold
SCHEDULE = RampSchedule(start_mbps=4.0, slope=1.0, peak_mbps=48.0, flat=34.0)
SECONDS = 76.0  # the ramp offers the link's capacity at 70 s
PROBE_INTERVAL, PROBE_MISSES = 0.2, 3
WAIT_TO_RESTORE, FAILOVER_HOLD = 1.0, 3.0
MAX_OUTAGE = 0.2  # s; the demo's loose bar (the benchmark has the tight one)
WHOAMI_PORT = 8080


def trouble_config() -> dict:
    """The ramp lab's configuration with health probes and quick failback timers."""
    data = ramp_config(CAPACITY, hold=HOLD)
    data["failover"] = {"wait_to_restore": WAIT_TO_RESTORE, "hold": FAILOVER_HOLD,
                        "probe_interval": PROBE_INTERVAL, "probe_misses": PROBE_MISSES}
    return data


@dataclass
class TroubleReport:
    """What the act showed: summary lines, failed checks, the controller's timeline."""

    summary: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    timeline: list[str] = field(default_factory=list)
    events: list[dict] = field(default_factory=list)  # the controller's, for the report


def _event(lab: Lab, kind: str, after: float, timeout: float) -> dict | None:
    """The first event of `kind` after `after`, waiting up to `timeout` seconds."""
    state = lab.wait_state(lambda s: any(e["kind"] == kind and e["t"] >= after
                                         for e in s.get("events", [])), timeout)
    if state is None:
        return None
    return next(e for e in state["events"] if e["kind"] == kind and e["t"] >= after)


def _demand(lab: Lab, report: TroubleReport, step: Callable[[str], None],
            horizon: float) -> None:
    step(f"ramping UDP h1 -> h2 from {SCHEDULE.start_mbps:g} Mbit/s towards "
         f"{SCHEDULE.peak_mbps:g} over s1 -> s2 ({CAPACITY:g} Mbit/s) for {SECONDS:g} s")
    shown = [0.0]

    def progress(line: str) -> None:
        if time.time() - shown[0] >= 10:
            shown[0] = time.time()
            step(line)

    with shaped_link(CAPACITY):
        outcome = run_ramp(lab, SCHEDULE, CAPACITY, SECONDS, progress=progress)
    if outcome.lead_s is None:
        report.problems.append("the ramp was not moved off s1 -> s2")
        report.summary.append(f"demand: no move; s1 -> s2 peaked at {outcome.peak_mbps():.1f} "
                              f"Mbit/s of {CAPACITY:g}")
        return
    report.summary.append(
        f"demand: h1 moved onto its shadow path {outcome.lead_s:.1f} s before its ramp would "
        f"fill s1 -> s2 (forecast horizon {horizon:g} s); the link peaked at "
        f"{outcome.peak_mbps(outcome.moved_at):.1f} of {CAPACITY:g} Mbit/s, "
        f"{outcome.seconds_at_capacity():g} s at capacity")
    if outcome.lead_s < 2 * horizon:
        report.problems.append(f"the move came only {outcome.lead_s:.1f} s ahead")
    if outcome.seconds_at_capacity():
        report.problems.append("s1 -> s2 ran at capacity")
    step(f"ramp over; waiting for h1 to come back after the hold ({HOLD:g} s)")
    try:
        back = wait_moved_back(lab, outcome.moved_at, timeout=HOLD + 30)
        report.summary.append(f"demand: h1 back on its primary path {back - outcome.moved_at:.1f}"
                              f" s after the move (hold {HOLD:g} s below the lower threshold)")
    except RuntimeError as err:
        report.problems.append(str(err))


def _link(lab: Lab, report: TroubleReport, step: Callable[[str], None]) -> None:
    step("taking link s1 -> s2 down under a ping every 1 ms from h1 to h2")
    run = start_ping(lab.host("h1"), "10.0.0.2", count=3000, interval=0.001)
    time.sleep(1.0)
    lab.net.configLinkStatus("s1", "s2", "down")
    cut = run.result()
    failed = lab.wait_state(lambda s: s["routing"]["failed_links"] == ["s1-s2"], 5)
    step("bringing s1 -> s2 back up (failback after wait-to-restore and hold)")
    run = start_ping(lab.host("h1"), "10.0.0.2", count=8000, interval=0.001)
    time.sleep(0.5)
    lab.net.configLinkStatus("s1", "s2", "up")
    back = lab.wait_state(lambda s: not s["routing"]["failed_links"],
                          WAIT_TO_RESTORE + FAILOVER_HOLD + 5)
    repaired = run.result()
    report.summary.append(
        f"link: s1 -> s2 down: longest gap between 1 ms pings {cut.max_gap * 1000:.0f} ms "
        f"(fast-failover groups), {cut.duplicates} duplicates; back up: longest gap "
        f"{repaired.max_gap * 1000:.0f} ms (make-before-break failback)")
    if failed is None or back is None:
        report.problems.append("the controller did not record the link's failover and failback")
    if max(cut.max_gap, repaired.max_gap) > MAX_OUTAGE or cut.duplicates or repaired.duplicates:
        report.problems.append(f"link outage {cut.max_gap * 1000:.0f} ms / "
                               f"{repaired.max_gap * 1000:.0f} ms, duplicates "
                               f"{cut.duplicates + repaired.duplicates}")


def _host(lab: Lab, report: TroubleReport, step: Callable[[str], None]) -> None:
    h1, h2 = lab.host("h1"), lab.host("h2")
    before = who_answers(h1, "10.0.0.2", WHOAMI_PORT)
    step(f"a new connection from h1 to 10.0.0.2 is answered by {before}; silencing h2 "
         "(carrier up, nothing sent)")
    cut = time.time()
    h2.cmd("tc qdisc replace dev h2-eth0 root pfifo limit 0")
    try:
        takeover = _event(lab, "takeover", cut, 10)
        during = who_answers(h1, "10.0.0.2", WHOAMI_PORT)
    finally:
        h2.cmd("tc qdisc del dev h2-eth0 root")
    step("h2 answers again; waiting for it to serve again")
    restore = _event(lab, "restore", cut, WAIT_TO_RESTORE + FAILOVER_HOLD + 10)
    after = who_answers(h1, "10.0.0.2", WHOAMI_PORT) if restore else "(not restored)"
    detected = f"{takeover['t'] - cut:.2f} s" if takeover else "never"
    report.summary.append(
        f"host: h2 silenced: taken over by its twin after {detected} (probes every "
        f"{PROBE_INTERVAL:g} s, {PROBE_MISSES} misses); new connections answered by "
        f"{before} before, {during} during, {after} after")
    if (before, during, after) != ("h2", "h2s", "h2") or takeover is None:
        report.problems.append(f"host takeover: answered by {before}/{during}/{after}")


def run_trouble(workdir: Path, step: Callable[[str], None],
                extra_args: tuple[str, ...] = ()) -> TroubleReport:
    """Run the act on a fresh ring lab (`extra_args` added to the controller's `run`, e.g.
    `--api`); the report (the lab is always torn down)."""
    from topologies.ring import RingTopo

    report = TroubleReport()
    data = trouble_config()
    workdir.mkdir(parents=True, exist_ok=True)
    step("starting the controller and a Mininet ring of 4 OVS switches (tenant-a: h1 on s1, "
         "h2 on s2, twins h1s and h2s)")
    with running_lab(RingTopo(), data, workdir, extra_args) as lab:
        start = time.time()
        servers = [lab.host(name).popen(
            [sys.executable, "-m", "sdn_shadow.lab.whoami", "serve", "--name", name,
             "--port", str(WHOAMI_PORT)], env=child_env(), stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for name in ("h2", "h2s")]
        try:
            _demand(lab, report, step, data["forecast"]["horizon"])
            _link(lab, report, step)
            _host(lab, report, step)
        finally:
            for proc in servers:
                proc.terminate()
                proc.wait(timeout=5)
        events = [e for e in lab.controller.state().get("events", []) if e["t"] >= start]
        report.timeline = timeline(events, start)
        report.events = events
        if report.problems:
            report.timeline.append("controller log (last lines):")
            report.timeline += lab.controller.log_tail(20).splitlines()
    return report
