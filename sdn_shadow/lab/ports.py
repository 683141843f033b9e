"""Loopback TCP ports for servers that stop and start again while clients retry."""

from __future__ import annotations

import random
import socket
from pathlib import Path

#: How far below the ephemeral range ports are picked from.
SPAN = 12_000


def ephemeral_low(path: Path = Path("/proc/sys/net/ipv4/ip_local_port_range")) -> int:
    """The first port of the kernel's ephemeral (client source port) range."""
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768  # Linux's default


def free_tcp_port() -> int:
    """A TCP port on 127.0.0.1 that is free now and below the kernel's ephemeral range.

    Why below: a client's source port comes from the ephemeral range. While
    nothing listens on a port in that range (a controller or a directory
    being restarted), a client retrying it can be given that very port as
    its source and connect to itself, reading back its own request; and its
    socket then holds the port, so the server cannot listen on it again.
    """
    low = ephemeral_low()
    ports = list(range(max(1024, low - SPAN), low))
    random.shuffle(ports)
    for port in ports:
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free TCP port on 127.0.0.1 below {low}")
