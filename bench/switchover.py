"""switchover_lost_datagrams: datagrams lost or duplicated over a primary -> shadow -> primary move.

The scenario of `sdn_shadow.lab.switchover`: on the ring, a numbered UDP
stream h1 -> h2 at 100 Mbit/s and TCP h2 -> h1 while h1's path is moved to
the shadow and back by live reloads. Each run's figure is the datagrams lost
in the move windows (from just before a move is asked until half a second
after it applied) plus every datagram delivered twice, counted per sequence
number by the receiver. The reference is the same count for a run of the
same streams with no move, over windows at the same offsets. Losses over
the whole run (moving and control) are in the detail: this 2-core box drops
bursts with no move at all, and a run's total says more about the box than
about the move. Datagrams delivered late (overtaken on the move back onto the
shorter path) are listed but are not losses.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

from bench.figures import Figure, median
from sdn_shadow.lab.session import running_lab
from sdn_shadow.lab.switchover import run_switchover, switchover_config

RUNS = 5
MBPS = 100.0


def switchover_lost_datagrams(progress: Callable[[str], None]) -> Figure:
    """Median over RUNS moving runs, with a control run before each."""
    from topologies.ring import RingTopo

    data = switchover_config()
    runs, control, totals, control_totals, late, sent = [], [], [], [], [], []
    tcp_errors = 0
    workdir = Path(tempfile.mkdtemp(prefix="bench-switchover-"))
    with running_lab(RingTopo(), data, workdir) as lab:
        for i in range(RUNS):
            still = run_switchover(lab, data, mbps=MBPS, moves=())
            moved = run_switchover(lab, data, mbps=MBPS)
            runs.append(moved.lost_at_moves() + moved.udp.duplicates)
            # The control's losses over windows at the moving run's offsets.
            windows = [(m.asked - moved.udp.started - 0.05,
                        m.applied - moved.udp.started + moved.WINDOW) for m in moved.moves]
            control.append(sum(still.udp.lost_between(still.udp.started + a,
                                                      still.udp.started + b)
                               for a, b in windows) + still.udp.duplicates)
            totals.append(moved.udp.lost + moved.udp.duplicates)
            control_totals.append(still.udp.lost + still.udp.duplicates)
            late.append(moved.udp.late_count)
            sent.append(moved.udp.sent)
            tcp_errors += moved.tcp_error is not None
            progress(f"switchover run {i + 1}/{RUNS}: {runs[-1]} lost at the moves or "
                     f"duplicated of {moved.udp.sent} ({totals[-1]} over the run, {late[-1]} "
                     f"late); control {control[-1]} in the same windows ({control_totals[-1]} "
                     f"over the run); TCP "
                     f"{'error: ' + moved.tcp_error if moved.tcp_error else 'ok'}")
    value = median(runs)
    return Figure(value, "datagrams", median(control), "0", value == 0 and tcp_errors == 0, {
        "runs": runs, "reference_runs": control, "lost_over_run": totals,
        "control_lost_over_run": control_totals, "late": late, "datagrams_sent": sent,
        "tcp_errors": tcp_errors, "udp_mbps": MBPS, "datagram_bytes": 1200,
        "reference_unit": "datagrams lost (in windows at the same offsets) or duplicated with "
                          "the same streams and no move",
        "window_s": "from 0.05 s before a move is asked to 0.5 s after it applied",
        "moves": "h1 to shadow at 3 s, back at 6.5 s of 10 s, by SIGHUP reload",
    })
