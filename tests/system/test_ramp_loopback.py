"""The lab's ramp sender on loopback: it keeps to its schedule, and each new connection has a
fresh source port."""

from __future__ import annotations

import socket
import threading

import pytest

from sdn_shadow.lab.ramp import (
    FIRST_SOURCE_PORT,
    LAST_SOURCE_PORT,
    RampSchedule,
    send,
    sink,
)
from tests.system.udp import wait_bound, wait_drained


def test_the_sender_keeps_to_its_schedule_on_loopback() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    got: dict = {}
    done = threading.Event()
    receiver = threading.Thread(target=lambda: got.update(sink(port, 60.0, done.is_set)))
    receiver.start()
    schedule = RampSchedule(start_mbps=4, slope=8, peak_mbps=12, flat=0.5)
    try:
        wait_bound(port)  # else the first datagrams may come before the sink listens
        sent = send("127.0.0.1", port, schedule, 1.5, size=1000)
        wait_drained(port)
    finally:
        done.set()
        receiver.join()
    assert sent["bytes"] == pytest.approx(schedule.bytes_by(1.5), abs=1000)
    assert sent["bytes_per_second"][0] < sent["bytes_per_second"][1]
    assert got["bytes"] == sent["bytes"] and got["datagrams"] == sent["datagrams"]


def test_each_new_connection_has_a_source_port_not_used_before_in_the_run() -> None:
    receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    receiver.bind(("127.0.0.1", 0))
    receiver.settimeout(0.1)
    port = receiver.getsockname()[1]
    ports: list[int] = []
    done = threading.Event()

    def receive() -> None:
        while not done.is_set():
            try:
                _, (_, source_port) = receiver.recvfrom(2048)
            except TimeoutError:
                continue
            if not ports or ports[-1] != source_port:
                ports.append(source_port)

    thread = threading.Thread(target=receive)
    thread.start()
    try:
        sent = send("127.0.0.1", port, RampSchedule(start_mbps=2, slope=1, peak_mbps=2, flat=1),
                    0.6, size=200, new_connection_every=0.05)
        wait_drained(port)
    finally:
        done.set()
        thread.join()
        receiver.close()
    assert sent["connections"] >= 8
    assert len(ports) == sent["connections"] == len(set(ports))
    assert all(FIRST_SOURCE_PORT <= port <= LAST_SOURCE_PORT for port in ports)
