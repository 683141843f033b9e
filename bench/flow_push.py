"""flow_push_ratio and flow_push_floor_ratio: our 10,000-flow push to a barrier.

Against `ovs-ofctl --bundle add-flows` of the same flows, and against the
floor: the same flow-adds, packed before the clock starts, written to the
switch over a plain socket (`bench.floor`). The three pushes alternate in
each run, each to a fresh bridge.

Ours is cold: a fresh controller process packs flows it never packed before
(and the packers keep no packed bytes anyway, only compiled shapes). The
detail says when our last run was handed to the datapath, how much CPU our
process used, and what packing alone costs per flow.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.figures import Figure, median
from bench.floor import floor_push
from bench.flowset import bench_flows
from bench.ovsbridge import bench_bridge, run
from sdn_shadow.lab.net import free_tcp_port
from sdn_shadow.openflow.chunks import pack_chunks
from sdn_shadow.openflow.messages import FlowAdd, Message
from sdn_shadow.openflow.ofctl import flow_to_ofctl

FLOWS = 10000
RUNS = 15  # single pushes spread widely (the floor 40-67 ms on this box): steadier medians


def _listening(port: int) -> bool:
    """Whether something listens on TCP `port` (IPv4) on this machine."""
    rows = [line.split() for line in Path("/proc/net/tcp").read_text().splitlines()[1:]]
    return any(row[1].endswith(f":{port:04X}") and row[3] == "0A" for row in rows)


def _ours(tmp: Path, flows: int) -> tuple[float, float, float]:
    """One push by the OS-Ken app: (seconds, when all was handed over, CPU seconds).

    The app listens before the bridge is told where its controller is, so the
    switch connects at once, as it does to the floor's socket (a switch that
    found no controller retries after a back-off, and pushes right after such
    a late connection measured slower on the floor too).
    """
    port = free_tcp_port()
    out, log = tmp / f"push-{port}.json", tmp / f"push-{port}.log"
    with log.open("w") as err:
        proc = subprocess.Popen([sys.executable, "-m", "bench.push_app", "--of-port", str(port),
                                 "--flows", str(flows), "--out", str(out)],
                                stdout=subprocess.DEVNULL, stderr=err)
        try:
            deadline = time.monotonic() + 30
            while not _listening(port) and proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.02)
            with bench_bridge(port) as bridge:
                proc.wait(timeout=120)
                count = run("ovs-ofctl", "-O", "OpenFlow13", "dump-aggregate", bridge)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    if not out.exists():
        raise RuntimeError(f"push app wrote no result: {log.read_text()[-2000:]}")
    result = json.loads(out.read_text())
    if "error" in result:
        raise RuntimeError(f"switch rejected the push: {result['error']}")
    if f"flow_count={flows}" not in count:
        raise RuntimeError(f"our push left an unexpected count: {count.strip()}")
    return float(result["seconds"]), float(result["packed_s"]), float(result["cpu_s"])


def _reference(tmp: Path, flows: int) -> float:
    flow_file = tmp / "flows.txt"
    flow_file.write_text("\n".join(flow_to_ofctl(f) for f in bench_flows(flows)) + "\n")
    with bench_bridge() as bridge:
        run("ovs-ofctl", "-O", "OpenFlow13", "del-flows", bridge)
        start = time.perf_counter()
        run("ovs-ofctl", "-O", "OpenFlow13", "--bundle", "add-flows", bridge, str(flow_file))
        seconds = time.perf_counter() - start
        count = run("ovs-ofctl", "-O", "OpenFlow13", "dump-aggregate", bridge)
        if f"flow_count={flows}" not in count:
            raise RuntimeError(f"ovs-ofctl installed an unexpected count: {count.strip()}")
        return seconds


def _floor(flows: int) -> float:
    flowset = bench_flows(flows)
    with socket.create_server(("127.0.0.1", 0)) as listener, \
            bench_bridge(listener.getsockname()[1]) as bridge:
        seconds = floor_push(listener, flowset)
        count = run("ovs-ofctl", "-O", "OpenFlow13", "dump-aggregate", bridge)
        if f"flow_count={flows}" not in count:
            raise RuntimeError(f"the floor push left an unexpected count: {count.strip()}")
        return seconds


def pack_us_per_flow(flows: int) -> float:
    """Median of RUNS: microseconds per flow to pack flow-adds of flows never packed before."""
    times = []
    for _ in range(RUNS):
        msgs: list[Message] = [FlowAdd(f) for f in bench_flows(flows)]
        start = time.perf_counter()
        for _chunk in pack_chunks(msgs):
            pass
        times.append((time.perf_counter() - start) / flows * 1e6)
    return round(median(times), 3)


def flow_push_ratio(progress) -> dict[str, Figure]:
    """Median of RUNS pushes of 10,000 flows each way: ours / ovs-ofctl's, ours / the floor."""
    ours, packed, cpu, ref, floor = [], [], [], [], []
    with tempfile.TemporaryDirectory(prefix="sdn-shadow-bench-") as tmp:
        for i in range(RUNS):
            seconds, packed_s, cpu_s = _ours(Path(tmp), FLOWS)
            ours.append(seconds)
            packed.append(packed_s)
            cpu.append(cpu_s)
            ref.append(_reference(Path(tmp), FLOWS))
            floor.append(_floor(FLOWS))
            progress(f"flow_push run {i + 1}/{RUNS}: ours {ours[-1] * 1000:.0f} ms "
                     f"(all packed and handed over at {packed[-1] * 1000:.0f} ms, "
                     f"{cpu[-1] * 1000:.0f} ms of CPU), "
                     f"ovs-ofctl --bundle {ref[-1] * 1000:.0f} ms, plain socket "
                     f"{floor[-1] * 1000:.0f} ms")
    value = median(ours) / median(ref)
    to_floor = median(ours) / median(floor)
    detail = {"ours_s": round(median(ours), 4), "flows": FLOWS, "runs": RUNS,
              "ours_runs_s": [round(v, 4) for v in ours],
              "ours_packed_runs_s": [round(v, 4) for v in packed],
              "ours_cpu_runs_s": [round(v, 4) for v in cpu],
              "pack_us_per_flow": pack_us_per_flow(FLOWS),
              "ofctl_runs_s": [round(v, 4) for v in ref],
              "floor_runs_s": [round(v, 4) for v in floor]}
    return {
        "flow_push_ratio": Figure(round(value, 3), "ratio", round(median(ref), 4), "<= 2.0",
                                  value <= 2.0, {**detail, "reference_unit":
                                                 "s, ovs-ofctl --bundle add-flows"}),
        "flow_push_floor_ratio": Figure(round(to_floor, 3), "ratio", round(median(floor), 4),
                                        "<= 1.3", to_floor <= 1.3, {**detail, "reference_unit":
                                        "s, the same flow-adds pre-packed, written over a "
                                        "plain socket"}),
    }
