"""The real controller on the two-switch lab: forwarding, isolation, mirrors, restart."""

from __future__ import annotations

import itertools
import time

import pytest

from sdn_shadow.lab.net import free_tcp_port
from sdn_shadow.lab.traffic import Capture, iperf3_tcp, ping, send_frames, start_ping

pytestmark = pytest.mark.integration

MAC = {"h1": "00:00:00:00:0a:01", "h2": "00:00:00:00:0a:02", "h3": "00:00:00:00:0a:03",
       "b1": "00:00:00:00:0b:01", "b2": "00:00:00:00:0b:02"}
IP = {"h1": "10.0.0.1", "h2": "10.0.0.2", "h3": "10.0.0.3", "b1": "10.0.0.11",
      "b2": "10.0.0.12"}
NETWORKS = {"tenant-a": ["h1", "h2", "h3"], "tenant-b": ["b1", "b2"]}


def _send(lab, src: str, dst: str, count: int, *, iface: str | None = None, proto: str = "udp",
          dport: int = 7001, rate: float = 1000.0, sports=(10000, 10000), size: int = 200,
          src_as: str | None = None) -> dict:
    who = src_as or src
    return send_frames(lab.host(src), iface or f"{src}-eth0", count, rate, MAC[who], MAC[dst],
                       IP[who], IP[dst], proto=proto, sport_range=sports, dport=dport, size=size)


def _counters(lab, session: str) -> int:
    """Packets the switch counted for a mirror session, after the next stats poll."""
    time.sleep(2 * 2.0 + 0.5)  # two polls at the default stats_interval
    return lab.controller.state()["mirror"][session]["packets"]


def test_pingall_within_each_network(lab) -> None:
    runs = [(a, b, start_ping(lab.host(a), IP[b], count=3, interval=0.2))
            for hosts in NETWORKS.values() for a, b in itertools.permutations(hosts, 2)]
    failed = [(a, b) for a, b, run in runs if run.result().received == 0]
    assert failed == []


def test_no_reachability_across_networks(lab) -> None:
    pairs = [(a, b) for a in NETWORKS["tenant-a"] for b in NETWORKS["tenant-b"]]
    pairs += [(b, a) for a, b in pairs]
    runs = [(a, b, start_ping(lab.host(a), IP[b], count=2, interval=0.2)) for a, b in pairs]
    reached = [(a, b) for a, b, run in runs if run.result().received > 0]
    assert reached == []


def test_frames_addressed_across_networks_are_not_delivered(lab) -> None:
    with Capture(lab.host("b2"), "b2-eth0", "udp and dst port 7002") as cap:
        # h1 knows b2's MAC (say, from a stale cache): the frame still must not arrive.
        _send(lab, "h1", "b2", 100, dport=7002)
        time.sleep(0.3)
    assert cap.count == 0


def test_iperf3_tcp_between_primary_hosts(lab) -> None:
    bps = iperf3_tcp(lab.host("h1"), lab.host("h2"), seconds=3)
    assert bps > 50e6  # TCP works across the fabric (userspace datapath: ~0.5 Gbit/s here)


def test_one_in_one_mirror_copies_every_packet(lab) -> None:
    before = _counters(lab, "h2-in")
    sent = 1000
    with Capture(lab.host("h2s"), "h2s-eth0", "udp and dst port 7003") as cap, \
            Capture(lab.host("h2"), "h2-eth0", "udp and dst port 7003") as primary:
        _send(lab, "h1", "h2", sent, dport=7003, sports=(20000, 20099))
        time.sleep(0.5)
    assert primary.count == sent
    assert abs(cap.count - sent) <= 0.01 * sent
    assert _counters(lab, "h2-in") - before >= sent


def test_mirror_filter_copies_only_matching_packets(lab) -> None:
    with Capture(lab.host("h2s"), "h2s-eth0", "dst port 7004") as cap:
        _send(lab, "h3", "h1", 300, dport=7004, proto="udp")
        _send(lab, "h3", "h1", 300, dport=7004, proto="tcp")
        time.sleep(0.5)
    protos = {p["proto"] for p in cap.packets}
    assert abs(cap.count - 300) <= 3
    assert protos == {"udp"}


@pytest.mark.parametrize("twin", ["h1s", "h2s"])
def test_shadow_hosts_never_reach_primary_hosts(lab, twin) -> None:
    primary = twin[:-1]
    caps = [Capture(lab.host(h), f"{h}-eth0", "udp and dst port 7005").start()
            for h in ("h1", "h2", "h3", "b1", "b2")]
    try:
        for dst in ("h1", "h2", "h3", "b1"):
            if dst != primary:
                _send(lab, twin, dst, 50, dport=7005, src_as=primary, iface=f"{twin}-eth0")
        time.sleep(0.5)
    finally:
        counts = {cap.host.name: cap.stop()["count"] for cap in caps}
    assert counts == {h: 0 for h in counts}
    assert ping(lab.host(twin), IP["h3"], count=2).received == 0


def test_controller_killed_and_restarted_mid_traffic(lab) -> None:
    before = {sw: sorted(lab.dump_flows(sw)) for sw in ("s1", "s2")}
    run = start_ping(lab.host("h1"), IP["h2"], count=800, interval=0.01)
    time.sleep(1.0)
    state = lab.restart(kill=True)
    result = run.result()
    assert result.loss <= 0.01, result
    for sw, flows in before.items():
        after = sorted(lab.dump_flows(sw))
        assert after == flows, f"{sw} table changed across the restart"
        assert len(after) == len(set(after))
        dpid = {"s1": "1", "s2": "2"}[sw]
        assert state["switches"][dpid]["flows"] == len(after)
        assert state["switches"][dpid]["last_sync"] == {"added": 0, "deleted": 0}


def test_switch_reconnect_removes_stale_flows_and_keeps_the_rest(lab) -> None:
    import subprocess

    def vsctl(*args: str) -> None:
        subprocess.run(["ovs-vsctl", *args], check=True, capture_output=True)

    before = sorted(lab.dump_flows("s1"))
    target = subprocess.run(["ovs-vsctl", "get-controller", "s1"], check=True,
                            capture_output=True, text=True).stdout.strip()
    stale = "table=3,priority=1000,cookie=0x99,metadata=0x64,dl_dst=00:00:00:00:99:99,actions=drop"
    subprocess.run(["ovs-ofctl", "-O", "OpenFlow13", "add-flow", "s1", stale], check=True)
    synced_before = lab.controller.state()["switches"]["1"]["synced_at"]
    run = start_ping(lab.host("h1"), IP["h2"], count=300, interval=0.01)
    # Point s1 elsewhere and back: it reconnects. (Removing its last controller
    # instead would make OVS flush the bridge's flows.)
    vsctl("set-controller", "s1", f"tcp:127.0.0.1:{free_tcp_port()}")
    time.sleep(0.5)
    vsctl("set-controller", "s1", target)
    deadline = time.time() + 30
    while lab.controller.state()["switches"]["1"]["synced_at"] == synced_before:
        assert time.time() < deadline, "s1 did not resync after reconnecting"
        time.sleep(0.2)
    assert run.result().loss == 0
    assert sorted(lab.dump_flows("s1")) == before
    assert lab.controller.state()["switches"]["1"]["last_sync"] == {"added": 0, "deleted": 1}
