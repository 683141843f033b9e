"""The numbered UDP stream's sink tells lost, duplicated and late datagrams apart (loopback)."""

from __future__ import annotations

import socket
import threading
import time

from sdn_shadow.lab.sequenced import HEADER, StreamReport, send, sink
from tests.system.udp import wait_drained


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run_sink(port: int) -> tuple[threading.Thread, threading.Event, dict]:
    done, ready, result = threading.Event(), threading.Event(), {}
    thread = threading.Thread(target=lambda: result.update(sink(port, done.is_set, 30, ready.set)))
    thread.start()
    assert ready.wait(5)
    return thread, done, result


def test_a_shuffled_stream_is_sorted_into_lost_duplicated_and_late() -> None:
    port = _free_port()
    thread, done, result = _run_sink(port)
    order = [0, 1, 2, 5, 3, 6, 6, 9, 10, 11]  # 4, 7, 8 lost; 3 late; 6 twice; 12, 13 never came
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            for seq in order:
                s.sendto(HEADER.pack(seq, 1000.0 + seq) + bytes(100), ("127.0.0.1", port))
                time.sleep(0.002)
        wait_drained(port)
    finally:
        done.set()
        thread.join(5)
    report = StreamReport.of({"datagrams": 14, "started": 1000.0, "ended": 1014.0}, result)
    assert report.received == 10 and report.duplicates == 1
    assert report.missing == [(4, 4, 1003.0), (7, 8, 1006.0), (12, 13, 1014.0)]
    assert report.lost == 5
    assert report.late_count == 1 and report.late[0][0] == 3 and report.late[0][3] == 2
    assert report.lost_between(1005.5, 1006.5) == 2
    assert report.late_between(1002.5, 1003.5) == 1 and report.late_between(0, 1002) == 0


def test_a_paced_stream_on_loopback_arrives_whole() -> None:
    port = _free_port()
    thread, done, result = _run_sink(port)
    try:
        sent = send("127.0.0.1", port, mbps=20, seconds=0.5, size=1000)
        wait_drained(port)
    finally:
        done.set()
        thread.join(5)
    report = StreamReport.of(sent, result)
    due = 20e6 / 8 * 0.5 / 1000  # datagrams due in 0.5 s at 20 Mbit/s
    assert due / 2 <= sent["datagrams"] <= due, "not paced at 20 Mbit/s (a stall only lowers it)"
    assert (report.lost, report.duplicates, report.late_count) == (0, 0, 0)
    assert report.summary()["sent"] == sent["datagrams"]
