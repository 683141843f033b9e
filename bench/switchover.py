"""switchover_lost_datagrams: datagrams lost or duplicated over a primary -> shadow -> primary move.

The scenario of `sdn_shadow.lab.switchover`: on the ring, a numbered UDP
stream h1 -> h2 at 100 Mbit/s and TCP h2 -> h1 while h1's path is moved to
the shadow and back by live reloads. Each run's figure is datagrams lost plus
datagrams delivered twice, counted per sequence number by the receiver;
losses within half a second of a move are also given apart, and datagrams
delivered late (overtaken on the move back onto the shorter path) are listed
but are not losses. The reference is the same count for a run of the same
streams with no move, in the same lab.
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
    moving, at_moves, late, control, tcp_errors, sent = [], [], [], [], 0, []
    workdir = Path(tempfile.mkdtemp(prefix="bench-switchover-"))
    with running_lab(RingTopo(), data, workdir) as lab:
        for i in range(RUNS):
            still = run_switchover(lab, data, mbps=MBPS, moves=())
            moved = run_switchover(lab, data, mbps=MBPS)
            control.append(still.udp.lost + still.udp.duplicates)
            moving.append(moved.udp.lost + moved.udp.duplicates)
            at_moves.append(moved.lost_at_moves())
            late.append(moved.udp.late_count)
            sent.append(moved.udp.sent)
            tcp_errors += moved.tcp_error is not None
            progress(f"switchover run {i + 1}/{RUNS}: {moving[-1]} lost or duplicated of "
                     f"{moved.udp.sent} ({at_moves[-1]} at the moves, {late[-1]} late), "
                     f"control {control[-1]}; TCP "
                     f"{'error: ' + moved.tcp_error if moved.tcp_error else 'ok'}")
    value = median(moving)
    return Figure(value, "datagrams", median(control), "0", value == 0 and tcp_errors == 0, {
        "runs": moving, "reference_runs": control, "lost_at_moves": at_moves,
        "late": late, "datagrams_sent": sent, "tcp_errors": tcp_errors, "udp_mbps": MBPS,
        "datagram_bytes": 1200,
        "reference_unit": "datagrams lost or duplicated with the same streams and no move",
        "moves": "h1 to shadow at 3 s, back at 6.5 s of 10 s, by SIGHUP reload",
    })
