"""watch_read_ratio: how much of a busy mirror the controller's watch reads, on the real lab.

h1 sends small UDP datagrams (iperf3, 64-byte payloads: 106-byte frames,
the worst case per byte) to h2 at rising packet rates; the lab's `h2-in`
session copies everything h2 receives to h2s, whose switch port the
controller watches (`shadow.detect`). Per step, the reference is what the
port sent (its OVS tx_packets counter, read with ovs-ofctl before and after),
and the figure is what the watch read and judged (`security.watching`:
packets + malformed) over it. Frames the kernel dropped because the watch fell
behind are its `lost`. The figure is the ratio at the worst step; the
reference is the most frames per second the port sent in a step (above
that, the userspace datapath, not the watch, is the limit); the detail has
every step and the highest rate read whole (>= 99%).
"""

from __future__ import annotations

import json
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench.figures import Figure

STEPS_PPS = (5_000, 20_000, 80_000, 160_000, 320_000)
SECONDS = 4
PAYLOAD = 64
TARGET = 0.99
H2S_PORT = ("s2", 4, "tx")


def _watched(state: dict) -> tuple[int, int]:
    """Frames the watch on h2s read (decoded or not), and frames it lost."""
    counts = state["security"]["watching"].get("tenant-a/h2s", {})
    return counts.get("packets", 0) + counts.get("malformed", 0), counts.get("lost", 0)


def _settled(lab, last: tuple[int, int]) -> tuple[int, int]:
    """The watch's counts once they stop moving (the state file is written every second)."""
    deadline = time.time() + 10
    while time.time() < deadline:
        time.sleep(1.2)
        now = _watched(lab.controller.state())
        if now == last:
            return now
        last = now
    return last


def _steps(progress: Callable[[str], None]) -> list[dict]:
    import yaml

    from sdn_shadow.lab.preemption import port_counters
    from sdn_shadow.lab.session import running_lab
    from topologies.lab import LabTopo

    root = Path(__file__).resolve().parents[1]
    data = yaml.safe_load((root / "examples" / "lab.yaml").read_text())
    data["networks"]["tenant-a"]["shadow"]["detect"] = {"on": ["h2s"], "learn": 0}
    rows = []
    with running_lab(LabTopo(), data, Path(tempfile.mkdtemp(prefix="sdn-shadow-bench-"))) as lab:
        h1, h2 = lab.host("h1"), lab.host("h2")
        server = h2.popen(["iperf3", "-s", "-p", "5301"], stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL)
        try:
            time.sleep(0.5)
            counts = _settled(lab, _watched(lab.controller.state()))
            for pps in STEPS_PPS:
                port_before, _ = port_counters(*H2S_PORT)
                client = h1.popen(["iperf3", "-c", h2.IP(), "-p", "5301", "-u", "-l",
                                   str(PAYLOAD), "-b", str(pps * PAYLOAD * 8), "-t",
                                   str(SECONDS), "--json"], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE)
                out, err = client.communicate(timeout=SECONDS + 30)
                if client.returncode:
                    raise RuntimeError(f"iperf3 at {pps} pps failed: {err.decode()[-300:]}")
                sent_by_iperf = json.loads(out)["end"]["sum"]["packets"]
                after = _settled(lab, counts)
                port = port_counters(*H2S_PORT)[0] - port_before
                read, lost = after[0] - counts[0], after[1] - counts[1]
                counts = after
                rows.append({"offered_pps": pps, "iperf3_datagrams": sent_by_iperf,
                             "port_sent": port, "port_pps": round(port / SECONDS),
                             "watch_read": read, "watch_lost": lost,
                             "ratio": round(read / port, 4) if port else 0.0})
                progress(f"{pps:>6} pps offered: the port sent {port:,}, the watch read "
                         f"{read:,} ({rows[-1]['ratio']:.1%}), lost {lost:,}")
        finally:
            server.terminate()
            server.wait(timeout=10)
    return rows


def watch_read_ratio(progress: Callable[[str], None]) -> Figure:
    """Frames the watch read / frames its port sent, at the worst of the steps."""
    rows = _steps(progress)
    worst = min(rows, key=lambda r: r["ratio"])
    whole = [r["port_pps"] for r in rows if r["ratio"] >= TARGET]
    return Figure(worst["ratio"], "read/sent", float(max(r["port_pps"] for r in rows)),
                  f">= {TARGET:g} at every step", worst["ratio"] >= TARGET,
                  {"steps": rows, "seconds_per_step": SECONDS, "frame_bytes": PAYLOAD + 42,
                   "highest_pps_read_whole": max(whole, default=0),
                   "reference_unit": "pps: the most h2s's port sent in a step (its OVS "
                                     "tx_packets counter), the datapath's own limit"})
