"""Loopback UDP sockets as the kernel lists them (/proc/net/udp): bound yet, and read up.

Waiting on these instead of sleeping keeps the loopback tests right on a loaded machine: a
sender starts once its sink is bound, and a sink is told to stop once it has read everything.
"""

from __future__ import annotations

import time
from pathlib import Path


def _receive_queues(port: int) -> list[int]:
    """Bytes waiting in the receive queue of each UDP socket bound to `port` (any address)."""
    local = f":{port:04X}"
    queues = []
    for line in Path("/proc/net/udp").read_text().splitlines()[1:]:
        fields = line.split()  # sl local_address rem_address st tx_queue:rx_queue ...
        if fields[1].endswith(local):
            queues.append(int(fields[4].split(":")[1], 16))
    return queues


def wait_bound(port: int, timeout: float = 30.0) -> None:
    """Return once a socket is bound to UDP `port`."""
    deadline = time.monotonic() + timeout
    while not _receive_queues(port):
        assert time.monotonic() < deadline, f"nothing bound UDP port {port} within {timeout} s"
        time.sleep(0.005)


def wait_drained(port: int, timeout: float = 30.0) -> None:
    """Return once every socket bound to UDP `port` has read all it was sent (on loopback, a
    datagram is queued at the receiver when sendto() returns)."""
    deadline = time.monotonic() + timeout
    while any(_receive_queues(port)):
        assert time.monotonic() < deadline, f"UDP port {port} still not read up after {timeout} s"
        time.sleep(0.005)
