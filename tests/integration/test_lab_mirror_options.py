"""Mirror options on real OVS: sampling fraction, truncation, delivery, config change on restart."""

from __future__ import annotations

import time

import pytest

from sdn_shadow.lab.traffic import Capture, send_frames

pytestmark = pytest.mark.integration

H1, H2, H3 = ("00:00:00:00:0a:01", "10.0.0.1"), ("00:00:00:00:0a:02", "10.0.0.2"), (
    "00:00:00:00:0a:03", "10.0.0.3")


def _sessions(data: dict, *sessions: dict) -> dict:
    data["networks"]["tenant-a"]["shadow"]["mirror"] = list(sessions)
    return data


def test_sampling_copies_the_documented_fraction_of_tcp_connections(lab, lab_data) -> None:
    state = lab.restart(_sessions(lab_data, {
        "name": "sampled", "hosts": ["h1"], "direction": "out", "sample": 0.25,
        "match": {"proto": "tcp", "dst_port": 7101}, "to": ["h2s"]}))
    # the session's group, and one readdressing what h1 sends to h2 (h2s shares its address)
    assert state["switches"]["1"]["groups"] == 2
    flows = 4000  # one segment per connection (distinct source ports)
    with Capture(lab.host("h2s"), "h2s-eth0", "tcp and dst port 7101") as cap, \
            Capture(lab.host("h2"), "h2-eth0", "tcp and dst port 7101") as primary:
        send_frames(lab.host("h1"), "h1-eth0", flows, 2000.0, H1[0], H2[0], H1[1], H2[1],
                    proto="tcp", sport_range=(20000, 20000 + flows - 1), dport=7101)
        time.sleep(0.5)
    assert primary.count == flows
    fraction = cap.count / flows
    assert abs(fraction - 0.25) <= 0.02, fraction
    assert len({p["sport"] for p in cap.packets}) == cap.count, "each sampled flow copied once"
    assert {p["dst"] for p in cap.packets} == {"02:00:00:00:0a:02"}


def test_a_sampled_connection_is_copied_whole(lab, lab_data) -> None:
    lab.restart(_sessions(lab_data, {
        "name": "sampled", "hosts": ["h1"], "direction": "out", "sample": 0.5,
        "match": {"dst_port": 7102, "proto": "tcp"}, "to": ["h2s"]}, {
        "name": "sampled-udp", "hosts": ["h1"], "direction": "out", "sample": 0.5,
        "match": {"dst_port": 7102, "proto": "udp"}, "to": ["h2s"]}))
    with Capture(lab.host("h2s"), "h2s-eth0", "dst port 7102") as cap:
        for sport in range(30000, 30040):
            send_frames(lab.host("h1"), "h1-eth0", 5, 1000.0, H1[0], H2[0], H1[1], H2[1],
                        proto="tcp", sport_range=(sport, sport), dport=7102)
        send_frames(lab.host("h1"), "h1-eth0", 200, 1000.0, H1[0], H2[0], H1[1], H2[1],
                    proto="udp", sport_range=(40000, 40199), dport=7102)
        time.sleep(0.5)
    per_flow: dict[int, int] = {}
    for p in cap.packets:
        if p["proto"] == "tcp":
            per_flow[p["sport"]] = per_flow.get(p["sport"], 0) + 1
    assert per_flow and set(per_flow.values()) == {5}
    assert 5 <= len(per_flow) <= 35
    udp = sum(p["proto"] == "udp" for p in cap.packets)
    assert udp in (0, 200), "UDP is sampled per host pair: all or nothing"


def test_truncation_cuts_copies_not_originals(lab, lab_data) -> None:
    lab.restart(_sessions(lab_data, {
        "name": "cut", "hosts": ["h3"], "direction": "out", "truncate": 100,
        "match": {"proto": "udp", "dst_port": 7103}, "to": ["h1s", "h2s"]}))
    with Capture(lab.host("h1s"), "h1s-eth0", "udp and dst port 7103") as local, \
            Capture(lab.host("h2s"), "h2s-eth0", "udp and dst port 7103") as remote, \
            Capture(lab.host("h2"), "h2-eth0", "udp and dst port 7103") as primary:
        send_frames(lab.host("h3"), "h3-eth0", 300, 1000.0, H3[0], H2[0], H3[1], H2[1],
                    dport=7103, size=1000)
        time.sleep(0.5)
    assert local.count == remote.count == primary.count == 300
    assert {p["len"] for p in local.packets} == {100}
    assert {p["len"] for p in remote.packets} == {100}  # crossed the fabric, tag popped
    assert {p["len"] for p in primary.packets} == {1000}
    time.sleep(2 * 2.0 + 0.5)  # two counter polls
    assert lab.controller.state()["mirror"]["cut"]["packets"] == 300  # read from the flow


def test_config_change_on_restart_removes_old_sessions(lab, lab_data) -> None:
    lab.restart(_sessions(lab_data))
    for sw in ("s1", "s2"):
        flows = lab.dump_flows(sw)
        assert not [f for f in flows if "table=1" in f and "group:" in f], flows
        assert not [f for f in flows if "table=4" in f and "group:" in f], flows
    assert lab.controller.state()["switches"]["1"]["groups"] == 0


def _stray_acks_to_h1(lab, lab_data: dict, deliver: str, count: int = 200
                      ) -> tuple[list[dict], list[dict]]:
    """h2 sends `count` stray ACKs to h1 under h1-both; (copies h1s receives, what it sends)."""
    lab.restart(_sessions(lab_data, {
        "name": "h1-both", "hosts": ["h1"], "direction": "both", "to": ["h1s"],
        "deliver": deliver}))
    with Capture(lab.host("h1s"), "h1s-eth0", "tcp and port 7104") as cap:
        send_frames(lab.host("h2"), "h2-eth0", count, 1000.0, H2[0], H1[0], H2[1], H1[1],
                    proto="tcp", sport_range=(21000, 21000 + count - 1), dport=7104)
        time.sleep(0.5)
    received = [p for p in cap.packets if p["dir"] == "in"]
    sent = [p for p in cap.packets if p["dir"] == "out"]
    return received, sent


def test_deliver_port_keeps_copies_out_of_the_twins_stack(lab, lab_data) -> None:
    received, sent = _stray_acks_to_h1(lab, lab_data, "port")
    to_h1 = [p for p in received if p["src"] == H2[0]]
    from_h1 = [p for p in received if p["src"] == H1[0]]  # h1's own RSTs, copied (out)
    assert len(to_h1) == 200 and len(from_h1) == 200, (len(to_h1), len(from_h1))
    assert {p["dst"] for p in to_h1} == {"02:00:00:00:0a:01"}  # readdressed: not h1s's MAC
    assert {p["dst"] for p in from_h1} == {H2[0]}  # addressed to h2: exact
    assert {(p["ip_dst"], p["dport"]) for p in to_h1} == {(H1[1], 7104)}
    assert sent == [], f"the twin's stack answered {len(sent)} copies"


def test_deliver_stack_lets_the_twins_stack_answer_copies(lab, lab_data) -> None:
    received, sent = _stray_acks_to_h1(lab, lab_data, "stack")
    to_h1 = [p for p in received if p["src"] == H2[0]]
    assert len(to_h1) == 200 and {p["dst"] for p in to_h1} == {H1[0]}
    assert len(sent) == 200, "a stray ACK's copy, byte-exact, gets a RST from the twin"
