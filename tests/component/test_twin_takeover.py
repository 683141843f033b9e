"""Twin takeover on the fake ring: the twin's port serves the host, and back again."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from sdn_shadow.config import parse_config
from sdn_shadow.core import ShadowCore
from sdn_shadow.policy.takeover import serving, standable
from tests.fakes.flowtable import FakeFabric
from tests.fakes.ring import apply, reconciled, udp

RING = Path(__file__).resolve().parents[2] / "examples" / "ring.yaml"


@pytest.fixture
def ring() -> tuple[ShadowCore, FakeFabric]:
    """The ring without its mirror session (copies would be deliveries too)."""
    data = yaml.safe_load(RING.read_text())
    data["networks"]["tenant-a"]["shadow"]["mirror"] = []
    return reconciled(parse_config(data))


def delivered(fabric: FakeFabric, switch: str, port: int, packet: dict) -> set[tuple[str, int]]:
    """Where a packet sent in at switch:port comes out (untagged deliveries only)."""
    return {(d.switch, d.port) for d in fabric.send(switch, port, packet)
            if d.packet["vlan_vid"] == 0}


def test_a_taken_over_host_is_served_at_its_twins_port_both_ways(ring) -> None:
    core, fabric = ring
    assert delivered(fabric, "s1", 1, udp(1, 2)) == {("s2", 1)}
    assert delivered(fabric, "s2", 2, udp(2, 1)) == set(), "the twin is receive-only"

    apply(fabric, core.set_host_served(1.0, "tenant-a", "h2", "twin", "probe: 3 misses"))
    assert delivered(fabric, "s1", 1, udp(1, 2)) == {("s2", 2)}
    assert delivered(fabric, "s2", 2, udp(2, 1)) == {("s1", 1)}, "the twin answers"
    assert delivered(fabric, "s2", 1, udp(2, 1)) == set(), "the dead host's port is cut off"
    assert delivered(fabric, "s3", 1, udp(3, 2)) == {("s2", 2)}
    assert core.status()["routing"]["taken_over"] == ["tenant-a/h2"]
    assert core.events[-1]["kind"] == "takeover"

    apply(fabric, core.set_host_served(9.0, "tenant-a", "h2", "primary", "answering again"))
    assert delivered(fabric, "s1", 1, udp(1, 2)) == {("s2", 1)}
    assert delivered(fabric, "s2", 2, udp(2, 1)) == set()
    assert [e["kind"] for e in core.events] == ["takeover", "restore"]


def test_mirroring_to_a_standing_in_twin_stops() -> None:
    core, fabric = reconciled(parse_config(yaml.safe_load(RING.read_text())))
    # ring.yaml mirrors everything h1 sends and receives to h3s.
    copies = [d for d in fabric.send("s1", 1, udp(1, 2)) if (d.switch, d.port) == ("s3", 2)]
    assert len(copies) == 1
    apply(fabric, core.set_host_served(1.0, "tenant-a", "h3", "twin", "test"))
    assert delivered(fabric, "s1", 1, udp(1, 2)) == {("s2", 1)}, "no copy to the retired twin"
    assert delivered(fabric, "s1", 1, udp(1, 3)) == {("s3", 2)}, "h3 is served at h3s's port"


def test_a_whole_primary_taken_over_is_the_shadow_serving_everything(ring) -> None:
    core, fabric = ring
    for host in ("h1", "h2", "h3", "h4"):
        apply(fabric, core.set_host_served(1.0, "tenant-a", host, "twin", "primary down"))
    for a in range(1, 5):
        for b in range(1, 5):
            if a != b:
                assert delivered(fabric, f"s{a}", 2, udp(a, b)) == {(f"s{b}", 2)}
                assert delivered(fabric, f"s{a}", 1, udp(a, b)) == set()


def test_only_twins_with_the_hosts_mac_can_stand_in() -> None:
    data = yaml.safe_load(RING.read_text())
    data["networks"]["tenant-a"]["shadow"]["hosts"]["h2s"]["mac"] = "00:00:00:00:0c:02"
    config = parse_config(data)
    assert ("tenant-a", "h2") not in standable(config)
    assert ("tenant-a", "h1") in standable(config)
    assert serving(config, frozenset({("tenant-a", "h2")})) == config
    core = ShadowCore(config)
    with pytest.raises(ValueError, match="no twin"):
        core.set_host_served(0.0, "tenant-a", "h2", "twin", "test")


def probed_ring(interval: float = 1.0, misses: int = 3) -> tuple[ShadowCore, FakeFabric]:
    data = yaml.safe_load(RING.read_text())
    data["networks"]["tenant-a"]["shadow"]["mirror"] = []
    data["failover"] = {"probe_interval": interval, "probe_misses": misses,
                        "wait_to_restore": 2, "hold": 4}
    core, fabric = reconciled(parse_config(data))
    for dpid in core.switches:
        core.switch_synced(0.0, dpid)
    return core, fabric


def answer(i: int) -> bytes:
    """h<i>'s ARP reply to the controller's probe."""
    from tests.unit.test_probe import mac, reply

    frame = bytearray(reply())
    frame[6:12] = frame[22:28] = mac(f"00:00:00:00:0a:0{i}")
    frame[28:32] = bytes([10, 0, 0, i])
    return bytes(frame)


def probe_round(core: ShadowCore, fabric: FakeFabric, now: float, alive: set[int]) -> None:
    probes = core.probes_due(now)
    assert len(probes) == 4 and all(len(frame) == 60 for _, _, frame in probes)
    for dpid, port, _ in probes:
        if dpid in alive:
            apply(fabric, core.probe_answered(now + 0.01, dpid, port, answer(dpid)))
    apply(fabric, core.tick(now + 0.5))


def test_a_host_that_stops_answering_is_taken_over_and_comes_back_after_wtr() -> None:
    core, fabric = probed_ring()
    probe_answer_flows = [f for f in core.plans[1].flows.values() if f.priority == 1200]
    assert len(probe_answer_flows) == 1
    probe_round(core, fabric, 0.0, {1, 2, 3, 4})
    for t in (1.0, 2.0):  # h2 misses twice: not yet
        probe_round(core, fabric, t, {1, 3, 4})
    assert core.intents.taken_over == frozenset()
    probe_round(core, fabric, 3.0, {1, 3, 4})
    apply(fabric, core.tick(4.0))  # the third miss expires
    assert core.intents.taken_over == {("tenant-a", "h2")}
    assert delivered(fabric, "s1", 1, udp(1, 2)) == {("s2", 2)}
    [event] = [e for e in core.events if e["kind"] == "takeover"]
    assert event["host"] == "h2" and "probe" in event["reason"]

    for t in (5.0, 6.0, 7.0, 8.0, 9.0):  # answering again: back after WTR 2 s and hold 4 s
        probe_round(core, fabric, t, {1, 2, 3, 4})
    assert core.intents.taken_over == frozenset()
    assert delivered(fabric, "s1", 1, udp(1, 2)) == {("s2", 1)}
    assert [e["kind"] for e in core.events] == ["takeover", "restore"]


def test_stray_frames_at_the_controller_change_nothing() -> None:
    core, _ = probed_ring()
    assert core.probe_answered(0.0, 2, 1, b"\x00" * 64) == {}
    assert core.probe_answered(0.0, 2, 7, answer(2)) == {}, "h2 answering from a wrong port"
    assert core.events == []
