"""free_tcp_port picks loopback ports no client can be given as its source port."""

from __future__ import annotations

import socket

from sdn_shadow.lab.ports import SPAN, ephemeral_low, free_tcp_port


def test_the_port_is_free_and_below_the_ephemeral_range() -> None:
    low = ephemeral_low()
    for _ in range(20):
        port = free_tcp_port()
        assert low - SPAN <= port < low
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", port))


def test_an_unreadable_range_falls_back_to_linuxs_default(tmp_path) -> None:
    assert ephemeral_low(tmp_path / "missing") == 32768
    (tmp_path / "range").write_text("40000\t60999\n")
    assert ephemeral_low(tmp_path / "range") == 40000
