"""preempt_lead_s: how long before a ramp saturates the primary link its client is moved.

The scenario of `sdn_shadow.lab.preemption`: on the ring, h1 ramps UDP to h2
over the s1 -> s2 link, shaped to 40 Mbit/s; the controller (lab cadence:
0.5 s samples, 2 s forecast rounds and horizon) moves h1 onto its shadow path
when the link's forecast crosses 80% within the horizon. The lead is the time
from that move to the moment the ramp offers the link's capacity. The
reference is measured in the same run: the same ramps with the controller in
`routing.mode: reactive`, which moves a client only once the *measured* load
crosses the same 80%. One lab per mode, RUNS ramps each; between ramps h1 is
left to come back.

`needless_moves` offers a steady 70% of the link's capacity for ten minutes
and counts the moves: every one is needless.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench.figures import Figure, median
from sdn_shadow.lab.preemption import (
    is_move,
    ramp_config,
    run_ramp,
    shaped_link,
    wait_moved_back,
)
from sdn_shadow.lab.ramp import RampSchedule
from sdn_shadow.lab.session import running_lab

RUNS = 5
CAPACITY = 40.0
HOLD = 8.0
SLOPE, START, PEAK = 1.0, 4.0, 48.0
FIRST_FLAT, LATER_FLAT = 34.0, 12.0  # the first ramp waits for the forecaster's history
AFTER = 6.0  # seconds the ramp goes on past the moment it offers capacity


def preempt_lead_s(progress: Callable[[str], None]) -> Figure:
    """Median lead over RUNS ramps; met if >= 2 horizons and the link never ran at capacity."""
    data = ramp_config(CAPACITY, hold=HOLD)
    horizon = float(data["forecast"]["horizon"])
    upper = data["routing"]["upper"]
    ours = _ramps(data, "preemptive", progress)
    reactive = _ramps({**data, "routing": {**data["routing"], "mode": "reactive"}}, "reactive",
                      progress)
    leads = [r["lead_s"] for r in ours]
    at_capacity = [r["at_capacity_s"] for r in ours]
    value = median(leads)
    met = value >= 2 * horizon and max(at_capacity) == 0
    return Figure(round(value, 2), "s", round(median([r["lead_s"] for r in reactive]), 2),
                  f">= {2 * horizon:g} (two horizons) and 0 s at capacity", met, {
                      "runs_s": [round(v, 2) for v in leads],
                      "reference_unit": f"s, lead of the controller in routing.mode reactive "
                                        f"(moves when the measured load crosses {upper:.0%}), "
                                        f"same ramps, same run",
                      "reactive_runs_s": [round(r["lead_s"], 2) for r in reactive],
                      "reactive_seconds_at_capacity": [r["at_capacity_s"] for r in reactive],
                      "seconds_at_capacity": at_capacity,
                      "link_peak_before_move_mbps": [round(r["peak_mbps"], 1) for r in ours],
                      "capacity_mbps": CAPACITY, "slope_mbps_per_s": SLOPE,
                      "horizon_s": horizon, "forecast_interval_s": data["forecast"]["interval"],
                      "upper_threshold": upper,
                  })


def _ramps(data: dict, mode: str, progress: Callable[[str], None]) -> list[dict]:
    """RUNS ramps on one lab of config `data`: each run's lead, time at capacity and peak."""
    from topologies.ring import RingTopo

    out = []
    workdir = Path(tempfile.mkdtemp(prefix=f"bench-preempt-{mode}-"))
    with running_lab(RingTopo(), data, workdir) as lab, shaped_link(CAPACITY):
        for i in range(RUNS):
            schedule = RampSchedule(START, SLOPE, PEAK, FIRST_FLAT if i == 0 else LATER_FLAT)
            reaches = schedule.reaches(CAPACITY)
            if reaches is None:
                raise RuntimeError(f"the ramp peaks at {PEAK} Mbit/s, below capacity {CAPACITY}")
            seconds = reaches + AFTER
            outcome = run_ramp(lab, schedule, CAPACITY, seconds)
            if outcome.moved_at is None or outcome.lead_s is None:
                raise RuntimeError(f"{mode} run {i + 1}: h1 was never moved; events "
                                   f"{outcome.events}")
            out.append({"lead_s": outcome.lead_s,
                        "at_capacity_s": outcome.seconds_at_capacity(),
                        "peak_mbps": outcome.peak_mbps(until=outcome.moved_at)})
            offered = schedule.mbps_at(outcome.moved_at - outcome.started)
            progress(f"preempt_lead {mode} run {i + 1}/{RUNS}: moved at {offered:.1f} Mbit/s "
                     f"offered, {outcome.lead_s:.1f} s before the ramp offers {CAPACITY:g} "
                     f"Mbit/s; link at capacity {out[-1]['at_capacity_s']:g} s, peak before "
                     f"the move {out[-1]['peak_mbps']:.1f} Mbit/s")
            wait_moved_back(lab, outcome.moved_at, timeout=120)
            time.sleep(2.0)
    return out


STEADY_SHARE = 0.7
STEADY_S = 600.0


def needless_moves(progress: Callable[[str], None]) -> Figure:
    """Moves of h1 while it offers a steady STEADY_SHARE of the link's capacity for STEADY_S;
    met if none. The reference is the share of the link the run delivered (median sample)."""
    from topologies.ring import RingTopo

    data = ramp_config(CAPACITY, hold=HOLD)
    rate = STEADY_SHARE * CAPACITY
    # A rise of 1e-6 Mbit/s after STEADY_S of flat: the schedule is steady for the whole run.
    schedule = RampSchedule(rate, 1e-6, rate + 1e-6, STEADY_S)
    workdir = Path(tempfile.mkdtemp(prefix="bench-needless-"))
    with running_lab(RingTopo(), data, workdir) as lab, shaped_link(CAPACITY):
        last = [0.0]

        def every_minute(line: str) -> None:
            if time.monotonic() - last[0] >= 60:
                last[0] = time.monotonic()
                progress(f"needless_moves: {line.strip()}")

        outcome = run_ramp(lab, schedule, CAPACITY, STEADY_S, every_minute, relief=is_move)
    moves = [e for e in outcome.events if e.get("kind") == "move"]
    first = min((e["t"] for e in moves), default=None)  # after it the link carries none
    delivered = sorted(mbps for t, mbps in outcome.samples if first is None or t < first)
    share = delivered[len(delivered) // 2] / CAPACITY if delivered else 0.0
    progress(f"needless_moves: {len(moves)} moves in {STEADY_S:g} s at {rate:g} Mbit/s "
             f"offered (median delivered {share:.0%} of capacity)")
    return Figure(len(moves), "moves", round(share, 3), "0", not moves, {
        "offered_mbps": rate, "capacity_mbps": CAPACITY, "seconds": STEADY_S,
        "upper_threshold": data["routing"]["upper"], "moves": moves[:10],
        "reference_unit": "median share of the link's capacity delivered per 0.5 s sample "
                          "while h1 was on it",
        "at_capacity_s": outcome.seconds_at_capacity()})
