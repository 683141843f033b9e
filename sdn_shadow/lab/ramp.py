"""A paced UDP ramp for the lab: a sender whose rate rises linearly, and a sink that counts.

iperf3 sends at one rate per run, and back-to-back runs leave gaps that look
like demand dips to the forecaster; a ramp needs one stream whose rate
changes smoothly. The sender keeps the bytes sent on the schedule's integral
(checked every half millisecond), so its rate follows the schedule within a
datagram. Run it inside a Mininet host:

    python -m sdn_shadow.lab.ramp send --dst 10.0.0.2 --start 5 --slope 1 --peak 40 --flat 30
    python -m sdn_shadow.lab.ramp sink --seconds 90

Both print one JSON object on exit (sender: when it started, by wall clock,
and the bytes sent in each second; sink: datagrams and bytes received).
"""

from __future__ import annotations

import argparse
import json
import math
import random
import signal
import socket
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

HEADER = 8  # every datagram starts with its sequence number


@dataclass(frozen=True)
class RampSchedule:
    """Offered rate over time: `start_mbps` for `flat` s, then +`slope` Mbit/s per s to `peak`."""

    start_mbps: float
    slope: float
    peak_mbps: float
    flat: float = 0.0

    def __post_init__(self) -> None:
        if self.start_mbps < 0 or self.peak_mbps < self.start_mbps:
            raise ValueError("need 0 <= start_mbps <= peak_mbps")
        if self.slope <= 0 or self.flat < 0:
            raise ValueError("need slope > 0 and flat >= 0")

    @property
    def rise(self) -> float:
        """Seconds the rise from start to peak takes."""
        return (self.peak_mbps - self.start_mbps) / self.slope

    def mbps_at(self, t: float) -> float:
        """Offered rate (Mbit/s) t seconds after the start."""
        if t <= self.flat:
            return self.start_mbps
        return min(self.peak_mbps, self.start_mbps + self.slope * (t - self.flat))

    def bytes_by(self, t: float) -> float:
        """Bytes the schedule has offered by t seconds after the start (the rate's integral)."""
        if t <= 0:
            return 0.0
        flat = min(t, self.flat)
        rising = min(max(t - self.flat, 0.0), self.rise)
        at_peak = max(t - self.flat - self.rise, 0.0)
        megabits = (self.start_mbps * flat + self.start_mbps * rising
                    + 0.5 * self.slope * rising * rising + self.peak_mbps * at_peak)
        return megabits * 1e6 / 8

    def reaches(self, mbps: float) -> float | None:
        """Seconds after the start when the offered rate first reaches `mbps` (None: never)."""
        if mbps <= self.start_mbps:
            return 0.0
        if mbps > self.peak_mbps:
            return None
        return self.flat + (mbps - self.start_mbps) / self.slope


FIRST_SOURCE_PORT, LAST_SOURCE_PORT = 20000, 32767  # below Linux's ephemeral range


def _socket(source_ports: Iterator[int] | None = None) -> socket.socket:
    """A UDP socket; bound to the next free port of `source_ports` when given."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
    for source_port in source_ports or ():
        try:
            sock.bind(("0.0.0.0", source_port))
            break
        except OSError:  # in use: take the next one
            continue
    return sock


def _fresh_ports() -> Iterator[int]:
    """Source ports that do not repeat within a run, from a random start.

    The kernel's own choice is random and may repeat a port within the
    connection tracker's timeout (OVS userspace: 30-60 s for UDP); the
    tracker then takes the datagrams for the old connection and keeps its
    mark, which is right for a tracker but would make a "new" connection old.
    """
    span = LAST_SOURCE_PORT - FIRST_SOURCE_PORT + 1
    start = random.randrange(span)
    return (FIRST_SOURCE_PORT + (start + i) % span for i in range(span))


def send(dst: str, port: int, schedule: RampSchedule, seconds: float, size: int = 1200,
         new_connection_every: float | None = None) -> dict:
    """Send UDP datagrams of `size` bytes to dst:port on `schedule` for `seconds`.

    With `new_connection_every`, the sender opens a new socket (a new source
    port, never one used before in the run: a new connection to a connection
    tracker) that often, like clients making short requests rather than one
    long stream.
    """
    if size <= HEADER:
        raise ValueError(f"size must be > {HEADER} bytes")
    if new_connection_every is not None and new_connection_every <= 0:
        raise ValueError("new_connection_every must be > 0 seconds")
    ports = _fresh_ports() if new_connection_every is not None else None
    sock = _socket(ports)
    connections, renewed = 1, 0.0
    payload = bytearray(size)
    started_wall = time.time()
    t0 = time.monotonic()
    sent = seq = errors = 0
    per_second = [0] * math.ceil(seconds)
    while True:
        t = min(time.monotonic() - t0, seconds)
        if new_connection_every is not None and t - renewed >= new_connection_every:
            sock.close()
            sock, renewed, connections = _socket(ports), t, connections + 1
        due = schedule.bytes_by(t)
        second = min(int(t), len(per_second) - 1)
        while sent + size <= due:
            payload[:HEADER] = seq.to_bytes(HEADER, "big")
            try:
                sock.sendto(payload, (dst, port))
            except OSError:  # ENOBUFS under a burst: count it, keep the schedule
                errors += 1
            sent += size
            seq += 1
            per_second[second] += size
        if t >= seconds:  # the last pass sent what was due at `seconds`, however late it woke
            break
        time.sleep(0.0005)
    sock.close()
    return {"started": started_wall, "datagrams": seq, "bytes": sent, "send_errors": errors,
            "bytes_per_second": per_second, "connections": connections}


def sink(port: int, seconds: float, stopped: Callable[[], bool] = lambda: False) -> dict:
    """Receive datagrams on `port` for `seconds` (or until `stopped()`); count them."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    sock.bind(("0.0.0.0", port))
    sock.settimeout(0.2)
    stop = time.monotonic() + seconds
    datagrams = received = 0
    while not stopped() and time.monotonic() < stop:
        try:
            data = sock.recv(65536)
        except TimeoutError:
            continue
        datagrams += 1
        received += len(data)
    sock.close()
    return {"datagrams": datagrams, "bytes": received}


def main(argv: list[str] | None = None) -> int:
    """`send` or `sink`, printing the result as JSON."""
    parser = argparse.ArgumentParser(prog="python -m sdn_shadow.lab.ramp")
    sub = parser.add_subparsers(dest="mode", required=True)
    s = sub.add_parser("send", help="send a paced UDP ramp")
    s.add_argument("--dst", required=True)
    s.add_argument("--port", type=int, default=5999)
    s.add_argument("--start", type=float, required=True, help="Mbit/s at the start")
    s.add_argument("--slope", type=float, required=True, help="Mbit/s added per second")
    s.add_argument("--peak", type=float, required=True, help="Mbit/s the rise stops at")
    s.add_argument("--flat", type=float, default=0.0, help="seconds at the start rate first")
    s.add_argument("--seconds", type=float, required=True)
    s.add_argument("--size", type=int, default=1200, help="UDP payload bytes")
    s.add_argument("--new-connection-every", type=float, default=None, metavar="SECONDS",
                   help="send from a new source port this often (default: one stream)")
    k = sub.add_parser("sink", help="receive and count")
    k.add_argument("--port", type=int, default=5999)
    k.add_argument("--seconds", type=float, required=True)
    args = parser.parse_args(argv)
    if args.mode == "send":
        try:
            schedule = RampSchedule(args.start, args.slope, args.peak, args.flat)
            if args.new_connection_every is not None and args.new_connection_every <= 0:
                raise ValueError("--new-connection-every must be > 0 seconds")
        except ValueError as err:
            parser.error(str(err))
        result = send(args.dst, args.port, schedule, args.seconds, args.size,
                      args.new_connection_every)
    else:
        terminated: list[int] = []
        signal.signal(signal.SIGTERM, lambda signum, _frame: terminated.append(signum))
        result = sink(args.port, args.seconds, lambda: bool(terminated))
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
