"""PortSniffer on loopback: frames the interface sends, in batches, with the kernel's drops
(a packet socket: root, as the lab needs)."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from sdn_shadow.sniffer import PortSniffer

needs_root = pytest.mark.integration  # a packet socket on loopback: root, as the lab needs


def _udp_to_self(count: int, size: int = 200) -> int:
    """Send `count` datagrams to a socket bound on 127.0.0.1; return its port."""
    sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sink.bind(("127.0.0.1", 0))
    port = sink.getsockname()[1]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as out:
        for _ in range(count):
            out.sendto(bytes(size), ("127.0.0.1", port))
    sink.close()
    return port


def _is_ours(data: bytes, port: int) -> bool:
    """A frame of a UDP datagram to `port` (loopback frames have a zeroed Ethernet header)."""
    return len(data) >= 38 and data[23] == 17 and int.from_bytes(data[36:38]) == port


def _ours(frames: list, port: int) -> int:
    return sum(1 for _, data, _ in frames if _is_ours(data, port))


@needs_root
def test_each_outgoing_frame_is_delivered_once_cut_to_snap() -> None:
    got: list = []
    lost: list[int] = []
    sniffer = PortSniffer("lo", lambda frames, n: (got.extend(frames), lost.append(n)),
                          snap=64).start()
    try:
        time.sleep(0.1)
        port = _udp_to_self(300)
        time.sleep(0.5)
    finally:
        sniffer.stop()
    assert _ours(got, port) == 300, "outgoing only: loopback frames also come back in"
    mine = [f for f in got if _is_ours(f[1], port)]
    assert all(len(data) == 64 and length == 14 + 20 + 8 + 200 for _, data, length in mine)
    assert sum(lost) == sniffer.drops == 0


@needs_root
def test_frames_dropped_by_a_slow_reader_are_reported_with_the_next_batch() -> None:
    got: list = []
    lost: list[int] = []
    slow = threading.Event()

    def deliver(frames: list, n: int) -> None:
        got.extend(frames)
        lost.append(n)
        if not slow.is_set():
            slow.set()
            time.sleep(0.5)  # the socket's small buffer runs full meanwhile

    sniffer = PortSniffer("lo", deliver, snap=64, buffer=4096).start()
    try:
        time.sleep(0.1)
        _udp_to_self(1)
        slow.wait(2)
        port = _udp_to_self(3000)
        time.sleep(1.0)
    finally:
        sniffer.stop()
    assert sniffer.drops > 0 and sum(lost) == sniffer.drops
    assert _ours(got, port) + sniffer.drops >= 3000
