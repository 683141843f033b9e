"""Planned path moves under load: a client goes primary -> shadow -> primary mid-stream.

On the ring, h1 sends UDP to h2 with iperf3 (100 Mbit/s by default) while h2
sends a TCP stream to h1, so both directions of the moved client's traffic
are in flight. Part way through, the configuration is changed to put h1 on
its shadow path (s1 -> s4 -> s3 -> s2) and later back, each time by a live
reload (SIGHUP), as an operator would. The receiving iperf3 server's own
counters say whether any datagram was lost, duplicated or reordered, and the
TCP stream must finish without an error.
"""

from __future__ import annotations

import copy
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from sdn_shadow.lab.traffic import iperf3_tcp, iperf3_udp

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
    out["networks"]["tenant-a"]["shadow"]["clients"] = {host: {"path": path}}
    return out


@dataclass
class SwitchoverOutcome:
    """The UDP receiver's counters, the TCP result and when the moves were applied."""

    udp: dict[str, Any]
    tcp_bits_per_second: float | None
    tcp_error: str | None
    moves: list[tuple[float, str]] = field(default_factory=list)

    @property
    def lost_or_duplicated(self) -> int:
        """The receiver's lost (gaps in the sequence) plus out of order (iperf3's duplicates)."""
        return int(self.udp["receiver_lost"]) + int(self.udp["out_of_order"])

    @property
    def tail_missing(self) -> int:
        """Datagrams after the receiver's last one: iperf3 stops counting at the end of test.

        Under load the server can take the end-of-test message before the last
        datagrams queued for it, so this is not a loss figure; it is reported.
        """
        return int(self.udp["packets"]) - int(self.udp["received"]) - int(
            self.udp["receiver_lost"])


def run_switchover(lab: Lab, data: dict, rate: str = "100M", seconds: float = 10.0,
                   moves: tuple[tuple[float, str], ...] = ((3.0, "shadow"), (6.5, "primary")),
                   ) -> SwitchoverOutcome:
    """UDP h1 -> h2 and TCP h2 -> h1 for `seconds`; reload h1's path at each (offset, path)."""
    h1, h2 = lab.host("h1"), lab.host("h2")
    udp: dict[str, Any] = {}
    tcp: dict[str, Any] = {}

    def run_udp() -> None:
        udp.update(iperf3_udp(h1, h2, rate, seconds=seconds, length=1200, port=UDP_PORT))

    def run_tcp() -> None:
        try:
            tcp["bps"] = iperf3_tcp(h2, h1, seconds=seconds, port=TCP_PORT, rate="20M")
        except RuntimeError as err:
            tcp["error"] = str(err)

    threads = [threading.Thread(target=run_udp), threading.Thread(target=run_tcp)]
    for t in threads:
        t.start()
    started = time.time()
    applied = []
    try:
        for offset, path in moves:
            time.sleep(max(0.0, started + offset - time.time()))
            state = lab.reload(with_path(data, path))
            moved = state.get("routing", {}).get("moved_clients", [])
            if ("tenant-a/h1" in moved) != (path == "shadow"):
                raise RuntimeError(f"reload to {path} left moved clients {moved}")
            applied.append((time.time() - started, path))
    finally:
        for t in threads:
            t.join()
    if not udp:
        raise RuntimeError("the iperf3 UDP run produced no result")
    return SwitchoverOutcome(udp, tcp.get("bps"), tcp.get("error"), applied)
