"""The preemption scenario: a UDP ramp on the ring's s1 -> s2 link until the controller moves h1.

Tenant-a has h1 (s1) and h2 (s2) only, so h1's primary path to h2 is the
s1 -> s2 link and its shadow path goes round the ring (s1 -> s4 -> s3 -> s2).
The link is shaped to its configured capacity (tbf on s1-eth10), so "at
capacity" is real, not a planning number. h1 sends a paced ramp to h2
(`ramp.RampSchedule`); the controller forecasts the link, sees the ramp cross
`routing.upper` within its horizon and moves h1 onto the shadow path. The
lead is the time from that move to the moment the ramp's offered rate
reaches the link's capacity; the link's delivered rate (s2's rx counter on
the link port, sampled every half second) shows whether it ever got there.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from sdn_shadow.lab.ramp import RampSchedule
from sdn_shadow.lab.traffic import child_env

if TYPE_CHECKING:
    from sdn_shadow.lab.session import Lab

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
LINK_IFACE = "s1-eth10"  # s1 -> s2
SAMPLE_S = 0.5
AT_CAPACITY = 0.95  # a sample at or above this share of capacity counts as "at capacity"
SINK_PORT = 5999


def ramp_config(capacity_mbps: float, hold: float = 10.0) -> dict:
    """examples/ring.yaml with tenant-a on s1 and s2 only, the lab's cadence, s1-s2 at capacity."""
    data = yaml.safe_load((EXAMPLES / "ring.yaml").read_text())
    lab = yaml.safe_load((EXAMPLES / "lab.yaml").read_text())
    data["telemetry"], data["forecast"] = lab["telemetry"], lab["forecast"]
    net = data["networks"]["tenant-a"]
    for host in ("h3", "h4"):
        del net["hosts"][host]
        del net["shadow"]["hosts"][f"{host}s"]
    net["shadow"]["mirror"] = []
    for link in data["fabric"]["links"]:
        if link["a"] == "s1:10":
            link["capacity"] = capacity_mbps
    data["routing"] = {"upper": 0.8, "lower": 0.6, "hold": hold}
    return data


@contextmanager
def shaped_link(capacity_mbps: float) -> Iterator[None]:
    """s1 -> s2 shaped to `capacity_mbps` (tbf) for the duration; always removed."""
    subprocess.run(["tc", "qdisc", "replace", "dev", LINK_IFACE, "root", "tbf", "rate",
                    f"{capacity_mbps:g}mbit", "burst", "32kb", "latency", "20ms"], check=True)
    try:
        yield
    finally:
        subprocess.run(["tc", "qdisc", "del", "dev", LINK_IFACE, "root"], check=False,
                       capture_output=True)


#: Where a ramp's delivered rate is read: (switch, port, "rx"|"tx").
LINK_S1_S2 = ("s2", 11, "rx")  # what s2 receives from s1 on the link
TO_H2 = ("s2", 1, "tx")  # what s2 delivers to h2


def port_counters(switch: str, port: int, direction: str) -> tuple[int, int]:
    """A port's rx or tx (packets, bytes) counters, read with ovs-ofctl."""
    out = subprocess.run(["ovs-ofctl", "-O", "OpenFlow13", "dump-ports", switch, str(port)],
                         capture_output=True, text=True, check=True, timeout=20).stdout
    for line in out.splitlines():
        if f"{direction} pkts=" in line:
            return (int(line.split("pkts=")[1].split(",")[0]),
                    int(line.split("bytes=")[1].split(",")[0]))
    raise RuntimeError(f"no {direction} counters for {switch} port {port} in: {out!r}")


def port_bytes(switch: str, port: int, direction: str) -> int:
    """A port's rx or tx byte counter, read with ovs-ofctl."""
    return port_counters(switch, port, direction)[1]


def steering_config(capacity_mbps: float, twin_mbps: float, hold: float = 10.0) -> dict:
    """`ramp_config` with the links at 100 Mbit/s and h2 a service of `capacity_mbps`.

    Its twin h2s serves `twin_mbps`: with one client doing all the load, a
    twin no bigger than the host could not take it without crossing the same
    threshold (preemption would ask for scaling instead).
    """
    data = ramp_config(100.0, hold)
    data["networks"]["tenant-a"]["shadow"]["services"] = {
        "h2": {"capacity": capacity_mbps, "twin_capacity": twin_mbps}}
    return data


def is_move(event: dict) -> bool:
    """h1 moved onto its shadow path."""
    return event.get("kind") == "move" and event.get("client") == "h1" \
        and event.get("path") == "shadow"


def is_steer(event: dict) -> bool:
    """h1's new connections sent to the twins."""
    return event.get("kind") == "steer" and event.get("client") == "h1" \
        and event.get("service") == "twin"


@dataclass
class RampOutcome:
    """What one ramp showed; times are wall-clock seconds."""

    started: float
    saturates_at: float
    moved_at: float | None
    capacity_mbps: float
    samples: list[tuple[float, float]] = field(default_factory=list)  # (time, link Mbit/s)
    sender: dict = field(default_factory=dict)
    events: list[dict] = field(default_factory=list)

    @property
    def lead_s(self) -> float | None:
        """Seconds between the move and the moment the ramp reaches capacity (None: no move)."""
        return None if self.moved_at is None else self.saturates_at - self.moved_at

    def seconds_at_capacity(self, until: float | None = None) -> float:
        """Time the link delivered >= AT_CAPACITY of its capacity (before `until` if given)."""
        limit = AT_CAPACITY * self.capacity_mbps
        return SAMPLE_S * sum(1 for t, mbps in self.samples
                              if mbps >= limit and (until is None or t <= until))

    def before_relief(self, schedule: RampSchedule, seconds: float = 3.0
                      ) -> list[tuple[float, float]]:
        """(delivered, offered) Mbit/s of the samples in the last `seconds` before the relief."""
        assert self.moved_at is not None
        return [(mbps, schedule.mbps_at(t - self.started)) for t, mbps in self.samples
                if self.moved_at - seconds <= t <= self.moved_at]

    def after_relief(self, settle: float = 1.5) -> list[float]:
        """Delivered Mbit/s of the samples from `settle` seconds after the relief on."""
        assert self.moved_at is not None
        return [mbps for t, mbps in self.samples if t >= self.moved_at + settle]

    def peak_mbps(self, until: float | None = None) -> float:
        """The link's highest delivered rate in a sample (before `until` if given)."""
        return max((mbps for t, mbps in self.samples if until is None or t <= until),
                   default=0.0)


def run_ramp(lab: Lab, schedule: RampSchedule, capacity_mbps: float, seconds: float,
             progress: Callable[[str], None] = lambda line: None,
             watch: tuple[str, int, str] = LINK_S1_S2,
             relief: Callable[[dict], bool] = is_move,
             new_connection_every: float | None = None) -> RampOutcome:
    """Ramp h1 -> h2 for `seconds`, sampling `watch`; the relief comes from the events.

    `relief` picks the event that counts as relief (`is_move`: a path move;
    `is_steer`: steering to the twins, which only new connections follow, so
    pass `new_connection_every` too).
    """
    known = len(lab.controller.state().get("events", []))
    h1, h2 = lab.host("h1"), lab.host("h2")
    python = sys.executable
    sink = h2.popen([python, "-m", "sdn_shadow.lab.ramp", "sink", "--port", str(SINK_PORT),
                     "--seconds", f"{seconds + 5:g}"], env=child_env(),
                    stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    time.sleep(0.3)
    sender = h1.popen([python, "-m", "sdn_shadow.lab.ramp", "send", "--dst", h2.IP(),
                       "--port", str(SINK_PORT), "--start", f"{schedule.start_mbps:g}",
                       "--slope", f"{schedule.slope:g}", "--peak", f"{schedule.peak_mbps:g}",
                       "--flat", f"{schedule.flat:g}", "--seconds", f"{seconds:g}",
                       *(["--new-connection-every", f"{new_connection_every:g}"]
                         if new_connection_every else [])],
                      env=child_env(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                      stderr=subprocess.PIPE)
    samples: list[tuple[float, float]] = []
    done = threading.Event()

    def sample() -> None:
        last_t, last_b = time.time(), port_bytes(*watch)
        while not done.wait(SAMPLE_S):
            t, b = time.time(), port_bytes(*watch)
            samples.append((t, (b - last_b) * 8 / 1e6 / (t - last_t)))
            last_t, last_b = t, b

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    begun = time.time()
    try:
        while sender.poll() is None:
            time.sleep(1.0)
            elapsed = time.time() - begun
            rate = samples[-1][1] if samples else 0.0
            progress(f"ramp {elapsed:4.0f}/{seconds:g} s: offered "
                     f"{schedule.mbps_at(elapsed):5.1f} Mbit/s, {watch[0]} port {watch[1]} "
                     f"{watch[2]} {rate:5.1f}")
        out, err = sender.communicate(timeout=10)
        if sender.returncode != 0:
            raise RuntimeError(f"ramp sender failed ({sender.returncode}): {err.decode()[-500:]}")
        sent = json.loads(out)
    finally:
        done.set()
        sampler.join(timeout=5)
        if sender.poll() is None:
            sender.kill()
            sender.wait()
        sink.terminate()
        sink.communicate(timeout=10)
    events = lab.controller.state().get("events", [])[known:]
    moves = [e for e in events if relief(e)]
    reach = schedule.reaches(capacity_mbps)
    saturates = sent["started"] + (reach if reach is not None else float("inf"))
    return RampOutcome(sent["started"], saturates, moves[0]["t"] if moves else None,
                       capacity_mbps, samples, sent, events)


def wait_moved_back(lab: Lab, after: float, timeout: float) -> float:
    """Wait until the controller has moved h1 back to its primary path after `after`; when."""
    def back(state: dict) -> list[dict]:
        return [e for e in state.get("events", []) if e.get("kind") == "move"
                and e.get("client") == "h1" and e.get("path") == "primary" and e["t"] > after]

    state = lab.wait_state(lambda s: back(s) and not s.get("routing", {}).get("shadow_path"),
                           timeout, poll=0.5)
    if state is None:
        raise RuntimeError(f"h1 not moved back within {timeout} s: "
                           f"{lab.controller.state().get('routing')}")
    return back(state)[-1]["t"]
