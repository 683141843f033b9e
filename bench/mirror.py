"""mirror_throughput_ratio and mirror_fidelity on the two-switch lab with the real controller."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import yaml

from bench.figures import Figure, median
from sdn_shadow.lab.session import Lab, running_lab
from sdn_shadow.lab.traffic import Capture, iperf3_tcp, iperf3_udp

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "lab.yaml"
RUNS = 9  # alternating rounds; single rounds spread widely (with/without 0.66-1.0)
TCP_SECONDS = 8


def _config(*sessions: dict) -> dict:
    data = yaml.safe_load(EXAMPLE.read_text())
    data["networks"]["tenant-a"]["shadow"]["mirror"] = list(sessions)
    return data


#: 1-in-1 of every packet h1 sends (the iperf3 data direction), to its twin.
DATA_MIRROR = {"name": "h1-out", "hosts": ["h1"], "direction": "out", "to": ["h1s"]}
#: 1-in-1 of both directions, as the demo's session (default `deliver: port`): the
#: copies of what h1 receives are addressed to the twin (it shares h1's MAC and IP),
#: so they leave readdressed and the twin's stack drops them unanswered.
BOTH_MIRROR = {"name": "h1-both", "hosts": ["h1"], "direction": "both", "to": ["h1s"]}
#: The same with byte-exact copies: the twin answers every copied ACK with a RST
#: (dropped by the guard), for the detail.
BOTH_STACK_MIRROR = {**BOTH_MIRROR, "deliver": "stack"}


def _lab(data: dict):
    from topologies.lab import LabTopo

    return running_lab(LabTopo(), data, Path(tempfile.mkdtemp(prefix="sdn-shadow-bench-")))


def _tcp(lab: Lab) -> float:
    return iperf3_tcp(lab.host("h1"), lab.host("h2"), seconds=TCP_SECONDS)


def _twin_sent(lab: Lab) -> int:
    """Packets h1s's stack has sent (its answers to copies; the guard drops them)."""
    for line in lab.host("h1s").cmd("cat /proc/net/dev").splitlines():
        name, _, counters = line.partition(":")
        if name.strip() == "h1s-eth0":
            return int(counters.split()[9])  # transmit packets
    raise RuntimeError("h1s-eth0 not in h1s's /proc/net/dev")


def paired_ratio(with_: list[float], without: list[float]) -> float:
    """Median over rounds of with / without measured in the same round.

    A round runs every configuration back to back, so a load that comes and goes between
    rounds cancels out; a ratio of medians would pair runs from different rounds.
    """
    return median([w / wo for w, wo in zip(with_, without, strict=True)])


def mirror_throughput_ratio(progress) -> Figure:
    """iperf3 TCP h1 -> h2 with a 1-in-1 mirror of both directions of h1's traffic (the
    worse case; one direction and byte-exact `deliver: stack` in the detail) vs without;
    alternating runs."""
    runs: dict[str, list[float]] = {"none": [], "data": [], "both": [], "both_stack": []}
    answers: dict[str, list[int]] = {name: [] for name in runs}
    configs = {"none": _config(), "data": _config(DATA_MIRROR), "both": _config(BOTH_MIRROR),
               "both_stack": _config(BOTH_STACK_MIRROR)}
    with _lab(_config()) as lab:
        for i in range(RUNS):
            for name, data in configs.items():
                lab.restart(data)
                before = _twin_sent(lab)
                runs[name].append(_tcp(lab))
                answers[name].append(_twin_sent(lab) - before)
            progress(f"mirror_throughput run {i + 1}/{RUNS}: without "
                     f"{runs['none'][-1] / 1e6:.0f} Mbit/s, data direction mirrored "
                     f"{runs['data'][-1] / 1e6:.0f}, both directions {runs['both'][-1] / 1e6:.0f}"
                     f" (byte-exact to the twin's stack {runs['both_stack'][-1] / 1e6:.0f});"
                     f" the twin's stack sent {answers['both'][-1]} packets"
                     f" ({answers['both_stack'][-1]} byte-exact)")
    base = median(runs["none"])
    value = paired_ratio(runs["both"], runs["none"])
    return Figure(round(value, 3), "ratio", round(base / 1e6, 1), ">= 0.85", value >= 0.85,
                  {"reference_unit": "Mbit/s without mirror (median)",
                   "session": "h1-both: 1-in-1 copy of every packet h1 sends and receives -> "
                              "twin h1s (the demo's session, deliver: port)",
                   "ratio": "median over rounds of with / without in the same round",
                   "with_mbps": round(median(runs["both"]) / 1e6, 1),
                   "data_direction_ratio": round(paired_ratio(runs["data"], runs["none"]), 3),
                   "both_deliver_stack_ratio": round(
                       paired_ratio(runs["both_stack"], runs["none"]), 3),
                   "twin_sent_packets": answers,
                   "runs_mbps": {k: [round(v / 1e6, 1) for v in vs] for k, vs in runs.items()},
                   "runs": RUNS, "seconds": TCP_SECONDS})


def mirror_fidelity(progress) -> Figure:
    """UDP at 50 Mbit/s for 10 s h1 -> h2; fraction of the sent datagrams seen on the twin."""
    session = {"name": "h1-udp", "hosts": ["h1"], "direction": "out",
               "match": {"proto": "udp", "dst_port": 5202}, "to": ["h1s"]}
    with _lab(_config(session)) as lab:
        with Capture(lab.host("h1s"), "h1s-eth0", "udp and dst port 5202",
                     max_packets=0) as cap:
            udp = iperf3_udp(lab.host("h1"), lab.host("h2"), "50M", seconds=10, port=5202)
            time.sleep(1.0)
        summary = cap.stop()  # what the exit read
    sent = int(udp["packets"])
    seen = cap.count
    value = min(seen, sent) / sent
    progress(f"mirror_fidelity: sent {sent}, seen on shadow {seen}, capture kernel drops "
             f"{summary.get('kernel_drops')}, receiver lost {udp.get('lost')}")
    return Figure(round(value, 5), "fraction", float(sent), ">= 0.999", value >= 0.999,
                  {"seen": seen, "reference_unit": "datagrams sent by iperf3",
                   "capture_kernel_drops": summary.get("kernel_drops"),
                   "receiver_lost": udp.get("lost")})
