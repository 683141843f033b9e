"""Whole-network shadow activation and role swap on the fake ring."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from sdn_shadow.config import ConfigError, parse_config
from sdn_shadow.core import ShadowCore
from tests.component.test_twin_takeover import delivered, probe_round
from tests.fakes.flowtable import FakeFabric
from tests.fakes.ring import apply, reconciled, udp

RING = Path(__file__).resolve().parents[2] / "examples" / "ring.yaml"
PAIRS = [(a, b) for a in range(1, 5) for b in range(1, 5) if a != b]


def ring_data(mirror: bool = False) -> dict:
    """examples/ring.yaml, without its mirror session unless asked (copies are deliveries)."""
    data = yaml.safe_load(RING.read_text())
    if not mirror:
        data["networks"]["tenant-a"]["shadow"]["mirror"] = []
    return data


def served_by(fabric: FakeFabric, port: int) -> bool:
    """Every pair of tenant-a's hosts talks from and to `port` of their switches, only there."""
    other = 3 - port
    return all(delivered(fabric, f"s{a}", port, udp(a, b)) == {(f"s{b}", port)}
               and delivered(fabric, f"s{a}", other, udp(a, b)) == set() for a, b in PAIRS)


def test_activating_the_shadow_serves_every_host_from_its_twin_and_back() -> None:
    core, fabric = reconciled(parse_config(ring_data()))
    assert served_by(fabric, 1)
    apply(fabric, core.set_shadow_active(1.0, "tenant-a", True, "operator: maintenance"))
    assert served_by(fabric, 2)
    routing = core.status()["routing"]
    assert routing["shadow_active"] == ["tenant-a"]
    assert len(routing["served_by_twins"]) == 4 and routing["taken_over"] == []
    assert [e["kind"] for e in core.events] == ["activate", "shadow_serving"]
    assert core.set_shadow_active(2.0, "tenant-a", True, "again") == {}

    apply(fabric, core.set_shadow_active(3.0, "tenant-a", False, "maintenance over"))
    assert served_by(fabric, 1)
    assert [e["kind"] for e in core.events][2:] == ["deactivate", "primary_serving"]


def test_a_shadow_active_by_configuration_serves_from_the_start_and_until_reloaded() -> None:
    data = ring_data()
    data["networks"]["tenant-a"]["shadow"]["active"] = True
    core, fabric = reconciled(parse_config(data))
    assert served_by(fabric, 2)
    assert core.status()["routing"]["shadow_active"] == ["tenant-a"]
    with pytest.raises(ValueError, match="active by configuration"):
        core.set_shadow_active(1.0, "tenant-a", False, "operator")
    with pytest.raises(ValueError, match="active by configuration"):
        core.swap_roles(1.0, "tenant-a", "operator")

    data["networks"]["tenant-a"]["shadow"]["active"] = False
    apply(fabric, core.reload(2.0, parse_config(data)))
    assert served_by(fabric, 1)
    assert [e["kind"] for e in core.events] == ["primary_serving", "config"]


def test_a_role_swap_makes_the_twins_primary_and_mirrors_to_the_old_primaries() -> None:
    core, fabric = reconciled(parse_config(ring_data(mirror=True)))
    # ring.yaml mirrors everything h1 sends and receives to h3s, now at s3:2.
    assert ("s3", 2) in {(d.switch, d.port) for d in fabric.send("s1", 1, udp(1, 2))}
    apply(fabric, core.swap_roles(1.0, "tenant-a", "operator: make the shadow primary"))
    assert core.status()["routing"]["roles_swapped"] == [f"tenant-a/h{i}" for i in range(1, 5)]
    # h1 is now at s1:2; its copies go to h3s at h3's old port s3:1.
    out = {(d.switch, d.port) for d in fabric.send("s1", 2, udp(1, 2))}
    assert out == {("s2", 2), ("s3", 1)}
    assert delivered(fabric, "s1", 1, udp(1, 2)) == set(), "the old primary is receive-only"
    assert delivered(fabric, "s3", 1, udp(3, 1)) == set()
    assert core.events[-1]["kind"] == "role_swap" and core.events[-1]["hosts"] == [
        "h1", "h2", "h3", "h4"]

    apply(fabric, core.swap_roles(2.0, "tenant-a", "operator: back"))
    assert ("s3", 2) in {(d.switch, d.port) for d in fabric.send("s1", 1, udp(1, 2))}
    assert delivered(fabric, "s1", 2, udp(1, 2)) == set()


def test_a_role_swap_of_a_served_network_moves_no_traffic() -> None:
    core, fabric = reconciled(parse_config(ring_data()))
    apply(fabric, core.set_shadow_active(1.0, "tenant-a", True, "operator"))
    changes = core.swap_roles(2.0, "tenant-a", "keep the shadow as primary")
    touched = {dpid: [m for m in msgs if type(m).__name__ == "FlowMod"]
               for dpid, msgs in changes.items()}
    apply(fabric, changes)
    assert served_by(fabric, 2)
    assert core.status()["routing"]["shadow_active"] == []
    assert core.status()["routing"]["served_by_twins"] == []
    # Only the receive-only rules of the new twins at the old ports change; hosts keep ports.
    assert all(len(mods) < 20 for mods in touched.values()), touched


def probed(role_swap: bool) -> tuple[ShadowCore, FakeFabric]:
    data = ring_data()
    data["failover"] = {"probe_interval": 1.0, "probe_misses": 3, "wait_to_restore": 2,
                        "hold": 4, "role_swap": role_swap}
    core, fabric = reconciled(parse_config(data))
    for dpid in core.switches:
        core.switch_synced(0.0, dpid)
    return core, fabric


def test_with_role_swap_a_recovered_host_becomes_the_twin_instead_of_failing_back() -> None:
    core, fabric = probed(role_swap=True)
    for t in (0.0, 1.0, 2.0, 3.0):  # h2 stops answering after the first round
        probe_round(core, fabric, t, {1, 2, 3, 4} if t == 0.0 else {1, 3, 4})
    apply(fabric, core.tick(4.0))
    assert core.intents.taken_over == {("tenant-a", "h2")}
    for t in (5.0, 6.0, 7.0, 8.0, 9.0):  # h2's machine answers at s2:1 again
        probe_round(core, fabric, t, {1, 2, 3, 4})
    assert [e["kind"] for e in core.events] == ["takeover", "role_swap"]
    assert "failover.role_swap" in core.events[-1]["reason"]
    assert core.intents.taken_over == frozenset()
    assert core.intents.roles_swapped == {("tenant-a", "h2")}
    assert delivered(fabric, "s1", 1, udp(1, 2)) == {("s2", 2)}, "h2 stays at s2:2"
    assert delivered(fabric, "s2", 1, udp(2, 1)) == set(), "the recovered machine stands by"
    assert [where[:2] for where, subject in core.probe_targets.items()
            if subject == ("host", "tenant-a", "h2")] == [(2, 2)], "probed where it now is"

    # Now the machine at s2:2 (h2) dies: the twin at s2:1 takes over.
    for t in (10.0, 11.0, 12.0):
        probe_round(core, fabric, t, {1, 3, 4})
    apply(fabric, core.tick(13.0))
    assert core.intents.taken_over == {("tenant-a", "h2")}
    assert delivered(fabric, "s1", 1, udp(1, 2)) == {("s2", 1)}


def test_without_role_swap_the_recovered_host_serves_again() -> None:
    core, fabric = probed(role_swap=False)
    for t in (0.0, 1.0, 2.0, 3.0):
        probe_round(core, fabric, t, {1, 2, 3, 4} if t == 0.0 else {1, 3, 4})
    apply(fabric, core.tick(4.0))
    for t in (5.0, 6.0, 7.0, 8.0, 9.0):
        probe_round(core, fabric, t, {1, 2, 3, 4})
    assert [e["kind"] for e in core.events] == ["takeover", "restore"]
    assert core.intents.roles_swapped == frozenset()


def test_a_whole_primary_failing_is_the_shadow_serving() -> None:
    core, fabric = probed(role_swap=False)
    probe_round(core, fabric, 0.0, {1, 2, 3, 4})
    for t in (1.0, 2.0, 3.0):
        probe_round(core, fabric, t, set())
    apply(fabric, core.tick(4.0))
    assert served_by(fabric, 2)
    kinds = [e["kind"] for e in core.events]
    assert kinds.count("takeover") == 4 and kinds[-1] == "shadow_serving"


@pytest.mark.parametrize(("key", "value", "problem"), [
    ("active", "yes", "networks.tenant-a.shadow.active: must be true or false"),
    ("role_swap", 1, "failover.role_swap: must be true or false"),
])
def test_bad_settings_are_reported_with_their_path(key: str, value: object,
                                                  problem: str) -> None:
    data = ring_data()
    if key == "active":
        data["networks"]["tenant-a"]["shadow"]["active"] = value
    else:
        data["failover"] = {key: value}
    with pytest.raises(ConfigError) as err:
        parse_config(data)
    assert problem in str(err.value)


def test_a_shadow_without_stand_ins_cannot_be_active() -> None:
    data = ring_data()
    shadow = data["networks"]["tenant-a"]["shadow"]
    for i, twin in enumerate(shadow["hosts"].values(), start=1):
        twin["mac"] = f"00:00:00:00:0c:0{i}"
    shadow["active"] = True
    with pytest.raises(ConfigError, match="shadow.active: no twin has its primary host's MAC"):
        parse_config(data)
    shadow["active"] = False
    core = ShadowCore(parse_config(data))
    with pytest.raises(ValueError, match="no twin"):
        core.set_shadow_active(0.0, "tenant-a", True, "operator")
    with pytest.raises(ValueError, match="no such network"):
        core.swap_roles(0.0, "tenant-b", "operator")
