"""Planned path moves under load: a client goes primary -> shadow -> primary mid-stream.

On the ring, h1 sends UDP to h2 with iperf3 (100 Mbit/s by default) while h2
sends a TCP stream to h1, so both directions of the moved client's traffic
are in flight. Part way through, the configuration is changed to put h1 on
its shadow path (s1 -> s4 -> s3 -> s2) and later back, each time by a live
reload (SIGHUP), as an operator would. The UDP stream is numbered
(`sequenced`), so the receiver tells apart a datagram lost, delivered twice
or delivered late, with its send time next to the moves; the TCP stream must
finish without an error.

Late is not lost: a move back onto a *shorter* path (shadow -> primary here,
three hops -> one) lets datagrams sent after the edge rewrite overtake those
still queued on the longer path. Every datagram still arrives once (each
follows one path whole), as a per-packet consistent update promises; only
the order of the in-flight ones changes, which the move onto the longer path
never does.
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from sdn_shadow.lab.sequenced import StreamReport
from sdn_shadow.lab.traffic import child_env, iperf3_tcp

if TYPE_CHECKING:
    from sdn_shadow.lab.session import Lab

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
UDP_PORT, TCP_PORT = 5401, 5402


def switchover_config() -> dict:
    """examples/ring.yaml without mirror sessions or preemptive routing (moves come by hand)."""
    data = yaml.safe_load((EXAMPLES / "ring.yaml").read_text())
    data["networks"]["tenant-a"]["shadow"]["mirror"] = []
    data["routing"] = {"enabled": False}
    return data


def with_path(data: dict, path: str, host: str = "h1") -> dict:
    """A copy of `data` with `host` placed on its `path` (primary|shadow) by config."""
    out = copy.deepcopy(data)
    shadow = out["networks"]["tenant-a"]["shadow"]
    shadow["clients"] = {**(shadow.get("clients") or {}), host: {"path": path}}
    return out


@dataclass(frozen=True)
class Move:
    """A path change asked for by reload at `asked` and confirmed by the controller at `applied`."""

    path: str
    asked: float
    applied: float


@dataclass
class SwitchoverOutcome:
    """The numbered UDP stream's report, the TCP result and the moves (wall-clock times)."""

    udp: StreamReport
    tcp_bits_per_second: float | None
    tcp_error: str | None
    moves: list[Move] = field(default_factory=list)

    WINDOW = 0.5  # seconds after a move's confirmation in which a loss is the move's

    def lost_at_moves(self) -> int:
        """Datagrams lost from just before each move was asked to WINDOW after it applied."""
        return sum(self.udp.lost_between(m.asked - 0.05, m.applied + self.WINDOW)
                   for m in self.moves)

    def late_at(self, move: Move) -> int:
        """Datagrams delivered late that were sent around `move` (listed ones)."""
        return self.udp.late_between(move.asked - 0.05, move.applied + self.WINDOW)

    def line(self) -> str:
        """One line for a test log or a benchmark's progress."""
        moves = ", ".join(f"{m.path} at {m.asked - self.udp.started:.2f}-"
                          f"{m.applied - self.udp.started:.2f} s" for m in self.moves)
        bps = self.tcp_bits_per_second or 0.0
        tcp = f"error {self.tcp_error}" if self.tcp_error else f"{bps / 1e6:.1f} Mbit/s"
        return f"moves [{moves}]; udp {self.udp.summary()}; tcp {tcp}"


def run_switchover(lab: Lab, data: dict, mbps: float = 100.0, seconds: float = 10.0,
                   moves: tuple[tuple[float, str], ...] = ((3.0, "shadow"), (6.5, "primary")),
                   ) -> SwitchoverOutcome:
    """Numbered UDP h1 -> h2, TCP h2 -> h1 for `seconds`; move h1's path at each (offset, path)."""
    h1, h2 = lab.host("h1"), lab.host("h2")
    sink = h2.popen([sys.executable, "-m", "sdn_shadow.lab.sequenced", "sink",
                     "--port", str(UDP_PORT), "--seconds", f"{seconds + 60:g}"],
                    env=child_env(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE, text=True)
    tcp: dict[str, Any] = {}

    def run_tcp() -> None:
        try:
            tcp["bps"] = iperf3_tcp(h2, h1, seconds=seconds, port=TCP_PORT, rate="20M")
        except RuntimeError as err:
            tcp["error"] = str(err)

    applied: list[Move] = []
    tcp_thread = threading.Thread(target=run_tcp)
    sender = None
    try:
        if "listening" not in (sink.stdout.readline() if sink.stdout else ""):
            why = sink.stderr.read() if sink.stderr else ""
            raise RuntimeError(f"the UDP sink did not start: {why}")
        tcp_thread.start()
        sender = h1.popen([sys.executable, "-m", "sdn_shadow.lab.sequenced", "send",
                           "--dst", h2.IP(), "--port", str(UDP_PORT), "--mbps", f"{mbps:g}",
                           "--seconds", f"{seconds:g}"], env=child_env(),
                          stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True)
        started = time.time()
        for offset, path in moves:
            time.sleep(max(0.0, started + offset - time.time()))
            asked = time.time()
            state = lab.reload(with_path(data, path))
            moved = state.get("routing", {}).get("shadow_path", [])
            if ("tenant-a/h1" in moved) != (path == "shadow"):
                raise RuntimeError(f"reload to {path} left moved clients {moved}")
            applied.append(Move(path, asked, time.time()))
        out, err = sender.communicate(timeout=seconds + 30)
        if sender.returncode != 0:
            raise RuntimeError(f"the UDP sender failed ({sender.returncode}): {err[-500:]}")
        sent = json.loads(out)
        time.sleep(0.5)  # datagrams still in flight
    finally:
        if sender is not None and sender.poll() is None:
            sender.kill()
            sender.wait()
        sink.terminate()
        received_out, _ = sink.communicate(timeout=30)
        if tcp_thread.ident is not None:
            tcp_thread.join()
    received = json.loads(received_out.strip().splitlines()[-1])
    return SwitchoverOutcome(StreamReport.of(sent, received), tcp.get("bps"), tcp.get("error"),
                             applied)
