"""Link failover on the ring's fake fabric: fast-failover groups, pinning, wait-to-restore."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from sdn_shadow.config import parse_config
from sdn_shadow.core import ShadowCore
from sdn_shadow.openflow.messages import Barrier
from tests.fakes.flowtable import FakeFabric
from tests.fakes.ring import apply, reconciled, trail, udp

RING = Path(__file__).resolve().parents[2] / "examples" / "ring.yaml"
S1_S2 = [(1, 10), (2, 11)]  # (dpid, port) at each end of the s1-s2 link


@pytest.fixture
def ring() -> tuple[ShadowCore, FakeFabric]:
    data = yaml.safe_load(RING.read_text())
    data["failover"] = {"wait_to_restore": 3, "hold": 10}
    return reconciled(parse_config(data))


def link_down(core: ShadowCore, fabric: FakeFabric, now: float, up: bool = False) -> dict:
    fabric.set_link("s1", "s2", up)
    updates: dict = {}
    for dpid, port in S1_S2:
        for k, v in core.port_status(now, dpid, port, up).items():
            updates.setdefault(k, []).extend(v)
    return updates


def test_data_plane_fails_over_before_the_controller_hears_of_it(ring) -> None:
    _, fabric = ring
    assert trail(fabric, 1, 2) == ("s1", "s2")
    fabric.set_link("s1", "s2", False)  # no controller involvement at all
    assert trail(fabric, 1, 2) == ("s1", "s4", "s3", "s2")
    assert trail(fabric, 2, 1) == ("s2", "s3", "s4", "s1")
    assert trail(fabric, 2, 4) == ("s2", "s3", "s4")
    assert trail(fabric, 4, 3) == ("s4", "s3")  # never used s1-s2: unchanged


def test_the_controller_reroutes_what_the_switch_cannot_repair_locally(ring) -> None:
    core, fabric = ring
    assert trail(fabric, 3, 1) == ("s3", "s2", "s1")
    assert trail(fabric, 4, 2) == ("s4", "s1", "s2")  # the way back from h2, reversed
    fabric.set_link("s1", "s2", False)
    # s2 cannot send h3's traffic back out of the port it came in on (OpenFlow drops
    # that), nor s1 h4's: until the controller pins s3's and s4's groups, it is lost.
    assert not [d for d in fabric.send("s3", 1, udp(3, 1)) if d.switch == "s1"]
    assert not [d for d in fabric.send("s4", 1, udp(4, 2)) if d.switch == "s2"]
    apply(fabric, link_down(core, fabric, 1.0))
    assert trail(fabric, 3, 1) == ("s3", "s4", "s1")
    assert trail(fabric, 4, 2) == ("s4", "s3", "s2")


def test_failover_pins_the_shadow_path_until_wait_to_restore(ring) -> None:
    core, fabric = ring
    apply(fabric, link_down(core, fabric, 1.0))
    assert core.intents.failed_links == {frozenset({"s1", "s2"})}
    assert [e["kind"] for e in core.events] == ["failover"]
    assert link_down(core, fabric, 2.0, up=True) == {}  # back up: traffic stays pinned
    assert trail(fabric, 1, 2) == ("s1", "s4", "s3", "s2")
    assert core.tick(4.9) == {}  # up 2.9 s < wait-to-restore 3 s, and inside the hold
    assert core.tick(10.9) == {}  # hold: 10 s after the failover
    back = core.tick(11.0)
    assert back and all(msgs[-1] == Barrier() for msgs in back.values())
    apply(fabric, back)
    assert trail(fabric, 1, 2) == ("s1", "s2") and trail(fabric, 2, 1) == ("s2", "s1")
    assert [e["kind"] for e in core.events] == ["failover", "failback"]
    assert core.intents.failed_links == frozenset()


def test_a_link_flapping_five_times_in_ten_seconds_moves_traffic_twice(ring) -> None:
    core, fabric = ring
    for i in range(5):
        apply(fabric, link_down(core, fabric, 1.0 + 2 * i))
        apply(fabric, link_down(core, fabric, 2.0 + 2 * i, up=True))
        assert trail(fabric, 1, 2) == ("s1", "s4", "s3", "s2")  # pinned while it flaps
    for now in range(11, 30):
        apply(fabric, core.tick(float(now)))
    assert [e["kind"] for e in core.events] == ["failover", "failback"]
    assert trail(fabric, 1, 2) == ("s1", "s2")


def test_every_intermediate_state_delivers_exactly_once(ring) -> None:
    core, fabric = ring
    down = link_down(core, fabric, 1.0)
    fabric.set_link("s1", "s2", True)  # repaired before the pin lands: packets may use it
    for dpid, msgs in down.items():
        for msg in msgs:
            fabric.switches[dpid].apply([msg])
            for a, b in ((1, 2), (2, 1), (1, 3), (2, 4)):
                trail(fabric, a, b)
    for dpid, port in S1_S2:
        core.port_status(2.0, dpid, port, True)
    for dpid, msgs in core.tick(20.0).items():
        for msg in msgs:
            fabric.switches[dpid].apply([msg])
            for a, b in ((1, 2), (2, 1), (1, 3), (2, 4)):
                trail(fabric, a, b)


def test_one_end_still_down_keeps_the_link_failed(ring) -> None:
    core, fabric = ring
    link_down(core, fabric, 1.0)
    core.port_status(2.0, *S1_S2[0], True)
    assert core.tick(30.0) == {} and core.intents.failed_links  # s2's end has not come back


def test_host_ports_do_not_fail_links_over(ring) -> None:
    core, _ = ring
    assert core.port_status(1.0, 1, 1, False) == {}
    assert core.intents.failed_links == frozenset() and core.events == []


def test_reconnect_while_failed_over_changes_nothing(ring) -> None:
    core, fabric = ring
    apply(fabric, link_down(core, fabric, 1.0))
    for dpid, sw in fabric.switches.items():
        assert core.reconcile(2.0, dpid, sw.installed_flows(), list(sw.groups),
                              sw.installed_meters()) == [Barrier()]


def test_bfd_goes_on_each_fabric_interface_once_and_its_start_up_flap_is_ignored() -> None:
    data = yaml.safe_load(RING.read_text())
    data["failover"] = {"bfd": True, "bfd_grace": 3}
    core, _ = reconciled(parse_config(data))
    names = {1: "s1-eth1", 2: "s1-eth2", 10: "s1-eth10", 11: "s1-eth11"}
    assert core.bfd_to_enable(0.0, 1, names) == ["s1-eth10", "s1-eth11"]  # fabric ports only
    assert core.bfd_to_enable(1.0, 1, names) == []  # once
    assert core.port_status(0.5, 1, 10, False, "bfd") == {}  # the LIVE flap: ignored
    assert core.port_status(0.8, 1, 10, True, "bfd") == {}  # BFD session up
    assert core.tick(3.5) == {} and core.intents.failed_links == frozenset()
    assert core.events == []


def test_bfd_stays_off_unless_configured(ring) -> None:
    core, _ = ring
    assert core.bfd_to_enable(0.0, 1, {10: "s1-eth10"}) == []
