"""switchover_lost_datagrams: datagrams lost or duplicated over a primary -> shadow -> primary move.

The scenario of `sdn_shadow.lab.switchover`: on the ring, iperf3 UDP h1 -> h2
at 100 Mbit/s and TCP h2 -> h1 while h1's path is moved to the shadow and
back by live reloads. Each run's figure is lost plus out of order, both the
receiving iperf3's own counters (it counts a duplicate as out of order);
datagrams after its last one are reported apart (see
`SwitchoverOutcome.tail_missing`). The reference is the same count for a run
of the same streams with no move, in the same lab.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

from bench.figures import Figure, median
from sdn_shadow.lab.session import running_lab
from sdn_shadow.lab.switchover import run_switchover, switchover_config

RUNS = 5
RATE = "100M"


def switchover_lost_datagrams(progress: Callable[[str], None]) -> Figure:
    """Median over RUNS moving runs, with a control run between each."""
    from topologies.ring import RingTopo

    data = switchover_config()
    moving, control, tcp_errors, sent, tails = [], [], 0, [], []
    workdir = Path(tempfile.mkdtemp(prefix="bench-switchover-"))
    with running_lab(RingTopo(), data, workdir) as lab:
        for i in range(RUNS):
            still = run_switchover(lab, data, rate=RATE, moves=())
            moved = run_switchover(lab, data, rate=RATE)
            control.append(still.lost_or_duplicated)
            moving.append(moved.lost_or_duplicated)
            sent.append(int(moved.udp["packets"]))
            tails.append(moved.tail_missing)
            tcp_errors += moved.tcp_error is not None
            progress(f"switchover run {i + 1}/{RUNS}: {moved.lost_or_duplicated} lost or "
                     f"duplicated of {moved.udp['packets']} (out of order "
                     f"{moved.udp['out_of_order']}), control {still.lost_or_duplicated}; "
                     f"TCP {'error: ' + moved.tcp_error if moved.tcp_error else 'ok'}")
    value = median(moving)
    return Figure(value, "datagrams", median(control), "0", value == 0 and tcp_errors == 0, {
        "runs": moving, "reference_runs": control, "datagrams_sent": sent,
        "tcp_errors": tcp_errors, "udp_rate": RATE, "datagram_bytes": 1200,
        "tail_not_counted": tails,
        "reference_unit": "datagrams lost or duplicated with the same streams and no move",
        "moves": "h1 to shadow at 3 s, back at 6.5 s of 10 s, by SIGHUP reload",
    })
