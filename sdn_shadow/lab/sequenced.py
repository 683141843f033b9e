"""A sequenced UDP stream for the lab: each datagram carries its number and send time.

iperf3's receiver counts a late datagram and a duplicate alike as "out of
order", and cannot say *when* a loss happened. This stream's sink keeps one
flag per sequence number, so it tells apart a datagram lost, delivered twice
or delivered late (after a later-numbered one), and gives each its send time,
so a loss can be laid beside the moment a flow table changed. Run it inside
Mininet hosts:

    python -m sdn_shadow.lab.sequenced sink --port 5403
    python -m sdn_shadow.lab.sequenced send --dst 10.0.0.2 --port 5403 --mbps 100 --seconds 10

Both print one JSON object on exit; the sink exits on SIGTERM. Sender and
sink share the machine's wall clock (Mininet hosts are namespaces).
"""

from __future__ import annotations

import argparse
import json
import signal
import socket
import struct
import sys
import time
from array import array
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

HEADER = struct.Struct("!Qd")  # sequence number, send time (wall clock, s)
KEEP = 2000  # late datagrams and loss ranges listed one by one, at most


def send(dst: str, port: int, mbps: float, seconds: float, size: int = 1200,
         stopped: Callable[[], bool] = lambda: False) -> dict:
    """Send numbered datagrams of `size` bytes to dst:port at `mbps` for `seconds`, or
    until `stopped()` says so first."""
    if size < HEADER.size:
        raise ValueError(f"size must be >= {HEADER.size} bytes")
    if mbps <= 0 or seconds <= 0:
        raise ValueError("need mbps > 0 and seconds > 0")
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
    payload = bytearray(size)
    bytes_per_s = mbps * 1e6 / 8
    started = time.time()
    t0 = time.monotonic()
    seq = errors = 0
    while (t := time.monotonic() - t0) < seconds and not stopped():
        due = int(t * bytes_per_s) // size
        while seq < due:
            HEADER.pack_into(payload, 0, seq, time.time())
            try:
                sock.sendto(payload, (dst, port))
            except OSError:  # ENOBUFS in a burst: this number was not sent; try it again
                errors += 1
                break
            seq += 1
        time.sleep(0.0005)
    sock.close()
    return {"started": started, "ended": time.time(), "datagrams": seq, "send_errors": errors,
            "size": size, "mbps": mbps}


def sink(port: int, stopped: Callable[[], bool], seconds: float = 3600.0,
         ready: Callable[[], None] = lambda: None) -> dict:
    """Receive numbered datagrams on `port` until `stopped()`; what came, twice, late or not."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    sock.bind(("0.0.0.0", port))
    ready()
    sock.settimeout(0.1)
    seen = bytearray(1 << 16)
    sent_at = array("d", bytes(8 * len(seen)))
    top = -1
    received = duplicates = late_count = 0
    late: list[list[float]] = []
    buf = bytearray(65536)
    stop = time.monotonic() + seconds
    while not stopped() and time.monotonic() < stop:
        try:
            n = sock.recv_into(buf)
        except TimeoutError:
            continue
        if n < HEADER.size:
            continue
        seq, t = HEADER.unpack_from(buf)
        received += 1
        while seq >= len(seen):
            seen.extend(bytes(len(seen)))
            sent_at.extend(array("d", bytes(8 * (len(sent_at)))))
        if seen[seq]:
            duplicates += 1
            continue
        seen[seq] = 1
        sent_at[seq] = t
        if seq < top:
            late_count += 1
            if len(late) < KEEP:
                late.append([seq, t, time.time(), top - seq])
        else:
            top = seq
    sock.close()
    return {"received": received, "duplicates": duplicates, "top": top,
            "missing": _missing_ranges(seen, sent_at, top), "late_count": late_count,
            "late": late}


def _missing_ranges(seen: bytearray, sent_at: array, top: int) -> list[list[float]]:
    """[first, last, send time of the datagram before first] for each gap up to `top`."""
    ranges: list[list[float]] = []
    seq = 0
    while seq < top:
        gap = seen.find(0, seq, top)
        if gap < 0:
            break
        end = gap
        while end < top and not seen[end]:
            end += 1
        before = sent_at[gap - 1] if gap > 0 else 0.0
        ranges.append([gap, end - 1, before])
        seq = end
    return ranges[:KEEP]


@dataclass
class StreamReport:
    """A sequenced stream from both ends: sent, lost, duplicated and late, with send times."""

    sent: int
    received: int
    duplicates: int
    missing: list[tuple[int, int, float]]  # first, last, send time just before the gap
    late: list[tuple[int, float, float, int]]  # seq, sent, arrived, how far behind the top
    late_count: int
    top: int
    started: float
    ended: float
    notes: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, sender: dict, receiver: dict) -> StreamReport:
        """Merge the sender's and the sink's JSON results."""
        top = int(receiver["top"])
        missing = [(int(a), int(b), float(t)) for a, b, t in receiver["missing"]]
        if top + 1 < sender["datagrams"]:  # the last ones never arrived
            missing.append((top + 1, int(sender["datagrams"]) - 1, float(sender["ended"])))
        return cls(int(sender["datagrams"]), int(receiver["received"]),
                   int(receiver["duplicates"]), missing,
                   [(int(s), float(t), float(a), int(b)) for s, t, a, b in receiver["late"]],
                   int(receiver["late_count"]), top, float(sender["started"]),
                   float(sender["ended"]), {"send_errors": sender.get("send_errors", 0)})

    @property
    def lost(self) -> int:
        """Datagrams sent and never received."""
        return sum(b - a + 1 for a, b, _ in self.missing)

    def lost_between(self, start: float, end: float) -> int:
        """Datagrams lost whose gap opened between wall-clock `start` and `end`."""
        return sum(b - a + 1 for a, b, t in self.missing if start <= t <= end)

    def late_between(self, start: float, end: float) -> int:
        """Late datagrams sent between `start` and `end` (of those listed one by one)."""
        return sum(1 for _, t, _, _ in self.late if start <= t <= end)

    def summary(self) -> dict[str, Any]:
        """The counts and the first loss ranges, for a log line or a benchmark's JSON."""
        return {"sent": self.sent, "received": self.received, "lost": self.lost,
                "duplicates": self.duplicates, "late": self.late_count,
                "loss_ranges": [[a, b, round(t - self.started, 4)]
                                for a, b, t in self.missing[:10]],
                "late_sent_at": sorted({round(t - self.started, 3)
                                        for _, t, _, _ in self.late})[:10]}


def main(argv: list[str] | None = None) -> int:
    """`send` or `sink`, printing the result as JSON."""
    parser = argparse.ArgumentParser(prog="python -m sdn_shadow.lab.sequenced")
    sub = parser.add_subparsers(dest="mode", required=True)
    s = sub.add_parser("send", help="send numbered datagrams at a fixed rate")
    s.add_argument("--dst", required=True)
    s.add_argument("--port", type=int, default=5403)
    s.add_argument("--mbps", type=float, required=True, help="Mbit/s of UDP payload")
    s.add_argument("--seconds", type=float, required=True)
    s.add_argument("--size", type=int, default=1200, help="UDP payload bytes")
    k = sub.add_parser("sink", help="receive and check numbers until SIGTERM")
    k.add_argument("--port", type=int, default=5403)
    k.add_argument("--seconds", type=float, default=3600.0, help="give up after this long")
    args = parser.parse_args(argv)
    if args.mode == "send":
        try:
            result = send(args.dst, args.port, args.mbps, args.seconds, args.size)
        except ValueError as err:
            parser.error(str(err))
    else:
        terminated: list[int] = []
        signal.signal(signal.SIGTERM, lambda signum, _frame: terminated.append(signum))
        result = sink(args.port, lambda: bool(terminated), args.seconds,
                      lambda: print(json.dumps({"listening": args.port}), flush=True))
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
