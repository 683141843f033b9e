"""preempt_lead_s: how long before a ramp saturates the primary link its client is moved.

The scenario of `sdn_shadow.lab.preemption`: on the ring, h1 ramps UDP to h2
over the s1 -> s2 link, shaped to 40 Mbit/s; the controller (lab cadence:
0.5 s samples, 2 s forecast rounds and horizon) moves h1 onto its shadow path
when the link's forecast crosses 80% within the horizon. The lead is the time
from that move to the moment the ramp offers the link's capacity. The
reference is the lead a reactive policy would get at the same threshold:
acting when the offered rate itself reaches 80% of capacity (known from the
ramp's schedule). One lab, RUNS ramps; between them h1 is left to come back.
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
    from topologies.ring import RingTopo

    data = ramp_config(CAPACITY, hold=HOLD)
    horizon = float(data["forecast"]["horizon"])
    upper = data["routing"]["upper"]
    leads, reactive, at_capacity, peaks = [], [], [], []
    workdir = Path(tempfile.mkdtemp(prefix="bench-preempt-"))
    with running_lab(RingTopo(), data, workdir) as lab, shaped_link(CAPACITY):
        for i in range(RUNS):
            schedule = RampSchedule(START, SLOPE, PEAK, FIRST_FLAT if i == 0 else LATER_FLAT)
            seconds = schedule.reaches(CAPACITY) + AFTER
            outcome = run_ramp(lab, schedule, CAPACITY, seconds)
            if outcome.moved_at is None:
                raise RuntimeError(f"run {i + 1}: h1 was never moved; events {outcome.events}")
            leads.append(outcome.lead_s)
            reactive.append(schedule.reaches(CAPACITY) - schedule.reaches(upper * CAPACITY))
            at_capacity.append(outcome.seconds_at_capacity())
            peaks.append(outcome.peak_mbps(until=outcome.moved_at))
            offered = schedule.mbps_at(outcome.moved_at - outcome.started)
            progress(f"preempt_lead run {i + 1}/{RUNS}: moved at {offered:.1f} Mbit/s offered, "
                     f"{outcome.lead_s:.1f} s before the ramp offers {CAPACITY:g} Mbit/s "
                     f"(reactive at {upper:.0%}: {reactive[-1]:.1f} s); link at capacity "
                     f"{at_capacity[-1]:g} s, peak before the move {peaks[-1]:.1f} Mbit/s")
            wait_moved_back(lab, outcome.moved_at, timeout=120)
            time.sleep(2.0)
    value = median(leads)
    met = value >= 2 * horizon and max(at_capacity) == 0
    return Figure(round(value, 2), "s", round(median(reactive), 2),
                  f">= {2 * horizon:g} (two horizons) and 0 s at capacity", met, {
                      "runs_s": [round(v, 2) for v in leads],
                      "reference_unit": f"s, lead of a reactive move when the offered rate "
                                        f"reaches {upper:.0%} of capacity",
                      "seconds_at_capacity": at_capacity,
                      "link_peak_before_move_mbps": [round(v, 1) for v in peaks],
                      "capacity_mbps": CAPACITY, "slope_mbps_per_s": SLOPE,
                      "horizon_s": horizon, "forecast_interval_s": data["forecast"]["interval"],
                      "upper_threshold": upper,
                  })


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
