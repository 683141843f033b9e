"""Client path moves on the ring: shadow paths pre-installed, edge-only rewrites, both ways."""

from __future__ import annotations

from pathlib import Path

import pytest

from sdn_shadow.config import load_config
from sdn_shadow.core import ShadowCore
from sdn_shadow.openflow.messages import (
    Barrier,
    FlowAdd,
    FlowDelete,
    GroupAdd,
    GroupDelete,
)
from sdn_shadow.openflow.pipeline import GROUP_OWNER_ROUTING, Subsystem
from tests.fakes.flowtable import FakeFabric
from tests.fakes.ring import apply, reconciled, trail, udp

RING = Path(__file__).resolve().parents[2] / "examples" / "ring.yaml"


@pytest.fixture
def ring() -> tuple[ShadowCore, FakeFabric]:
    return reconciled(load_config(RING))


def test_primary_paths_until_moved(ring) -> None:
    _, fabric = ring
    assert trail(fabric, 1, 2) == ("s1", "s2")
    assert trail(fabric, 2, 1) == ("s2", "s1")


def test_move_to_shadow_and_back_both_directions(ring) -> None:
    core, fabric = ring
    updates = core.set_client_path(1.0, "tenant-a", "h1", "shadow", "test")
    msgs = [m for ms in updates.values() for m in ms if not isinstance(m, Barrier)]
    assert msgs and all(
        (isinstance(m, FlowAdd) and m.flow.subsystem == Subsystem.ROUTING)
        or (isinstance(m, GroupAdd) and m.group.group_id >> 28 == GROUP_OWNER_ROUTING)
        for m in msgs), "a move only adds edge rules (and their shadow-first groups)"
    apply(fabric, updates)
    assert trail(fabric, 1, 2) == ("s1", "s4", "s3", "s2")
    assert trail(fabric, 2, 1) == ("s2", "s3", "s4", "s1")
    assert trail(fabric, 3, 2) == ("s3", "s2"), "other clients stay on the primary"
    back = core.set_client_path(2.0, "tenant-a", "h1", "primary", "test")
    assert all(isinstance(m, FlowDelete | GroupDelete) for ms in back.values() for m in ms
               if not isinstance(m, Barrier)), "moving back only removes edge rules"
    apply(fabric, back)
    assert trail(fabric, 1, 2) == ("s1", "s2")
    assert [e["path"] for e in core.events] == ["shadow", "primary"]


def test_every_intermediate_state_delivers_exactly_once(ring) -> None:
    core, fabric = ring
    for path in ("shadow", "primary"):
        for dpid, msgs in core.set_client_path(0.0, "tenant-a", "h1", path, "t").items():
            for msg in msgs:
                fabric.switches[dpid].apply([msg])
                for a, b in ((1, 2), (2, 1), (1, 3), (3, 1), (4, 1)):
                    trail(fabric, a, b)


def test_moved_traffic_is_still_mirrored(ring) -> None:
    core, fabric = ring
    apply(fabric, core.set_client_path(0.0, "tenant-a", "h1", "shadow", "t"))
    copies = [d for d in fabric.send("s1", 1, udp(1, 2)) if (d.switch, d.port) == ("s3", 2)]
    assert len(copies) == 1  # ring.yaml: h1-both copies to h3s


def test_reconnect_after_a_move_changes_nothing(ring) -> None:
    core, fabric = ring
    apply(fabric, core.set_client_path(0.0, "tenant-a", "h1", "shadow", "t"))
    for dpid, sw in fabric.switches.items():
        assert core.reconcile(0.0, dpid, sw.installed_flows(), list(sw.groups),
                              sw.installed_meters()) == [Barrier()]


@pytest.mark.parametrize("args,error", [
    (("tenant-x", "h1", "shadow"), "tenant-x: no such network with a shadow"),
    (("tenant-a", "h9", "shadow"), "tenant-a: no primary host h9"),
    (("tenant-a", "h1", "sideways"), "path must be primary or shadow"),
])
def test_bad_moves_are_rejected_and_change_nothing(ring, args, error) -> None:
    core, _ = ring
    before = {dpid: dict(plan.flows) for dpid, plan in core.plans.items()}
    with pytest.raises(ValueError, match=error):
        core.set_client_path(0.0, *args, "t")
    assert {dpid: dict(plan.flows) for dpid, plan in core.plans.items()} == before
    assert core.set_client_path(0.0, "tenant-a", "h1", "primary", "t") == {}


def test_policy_from_config_starts_moved() -> None:
    import yaml

    from sdn_shadow.config import parse_config

    data = yaml.safe_load(RING.read_text())
    data["networks"]["tenant-a"]["shadow"]["clients"] = {"h1": {"path": "shadow"}}
    config = parse_config(data)
    core, fabric = ShadowCore(config), FakeFabric(config)
    for dpid, switch in fabric.switches.items():
        switch.apply(core.reconcile(0.0, dpid, [], []))
    assert trail(fabric, 1, 2) == ("s1", "s4", "s3", "s2")
    assert core.set_client_path(0.0, "tenant-a", "h1", "shadow", "t") == {}
