"""The real controller on the four-switch ring: multi-hop forwarding and mirror transit."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from sdn_shadow.lab.session import Lab, running_lab
from sdn_shadow.lab.traffic import Capture, iperf3_tcp, send_frames, start_ping

pytestmark = pytest.mark.integration

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
HOSTS = [f"h{i}" for i in range(1, 5)]


def mac(host: str) -> str:
    """MAC of ring host h<i> (its twin shares it)."""
    return f"00:00:00:00:0a:0{host[1]}"


def ip(host: str) -> str:
    """IP of ring host h<i>."""
    return f"10.0.0.{host[1]}"


@pytest.fixture(scope="module")
def ring(tmp_path_factory) -> Iterator[Lab]:
    from topologies.ring import RingTopo

    with running_lab(RingTopo(), EXAMPLES / "ring.yaml", tmp_path_factory.mktemp("ring")) as lab:
        yield lab


def test_pingall_across_the_ring(ring) -> None:
    runs = [(a, b, start_ping(ring.host(a), ip(b), count=3, interval=0.2))
            for a, b in itertools.permutations(HOSTS, 2)]
    assert [(a, b) for a, b, run in runs if run.result().received == 0] == []


def test_tcp_over_two_hops(ring) -> None:
    assert iperf3_tcp(ring.host("h1"), ring.host("h3"), seconds=2) > 20e6


def test_mirror_copies_cross_two_switches(ring) -> None:
    with Capture(ring.host("h3s"), "h3s-eth0", "udp and dst port 7201") as cap:
        send_frames(ring.host("h1"), "h1-eth0", 500, 1000.0, mac("h1"), mac("h2"), ip("h1"),
                    ip("h2"), dport=7201)
        time.sleep(0.5)
    assert abs(cap.count - 500) <= 5
    assert {p["vlan"] for p in cap.packets} == {None}, "mirror tag popped before delivery"


def test_twins_are_receive_only_on_the_ring(ring) -> None:
    caps = [Capture(ring.host(h), f"{h}-eth0", "udp and dst port 7202").start() for h in HOSTS]
    try:
        for twin, dst in [("h1s", "h3"), ("h2s", "h4"), ("h3s", "h1"), ("h4s", "h2")]:
            send_frames(ring.host(twin), f"{twin}-eth0", 50, 1000.0, mac(twin), mac(dst),
                        ip(twin), ip(dst), dport=7202)
        time.sleep(0.5)
    finally:
        counts = [cap.stop()["count"] for cap in caps]
    assert counts == [0, 0, 0, 0]
