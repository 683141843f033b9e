"""Loopback ports for tests that stop a server and connect to its port again."""

from __future__ import annotations

import random
import socket
from pathlib import Path


def quiet_port() -> int:
    """A TCP port on 127.0.0.1 that is free now and below the kernel's ephemeral range.

    A client's source port comes from the ephemeral range. While nothing listens on a port
    in that range, a connection to it can be given that very port as its source and connect
    to itself (it then reads back its own request), and a client socket can hold the port
    so the server cannot start on it again. Below the range, neither can happen.
    """
    low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    ports = list(range(max(1024, low - 12000), low))
    random.shuffle(ports)
    for port in ports:
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port on 127.0.0.1 below {low}")
