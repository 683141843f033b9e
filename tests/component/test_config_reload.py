"""Taking a new configuration live: the same edge changes as a move, state carried over."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from sdn_shadow.config import parse_config
from sdn_shadow.core import ReloadRefused, SeriesForecastView, ShadowCore
from sdn_shadow.openflow.messages import Barrier
from tests.fakes.flowtable import FakeFabric
from tests.fakes.ring import apply, reconciled, trail

RING = Path(__file__).resolve().parents[2] / "examples" / "ring.yaml"


def ring_data(**clients: str) -> dict:
    data = yaml.safe_load(RING.read_text())
    if clients:
        data["networks"]["tenant-a"]["shadow"]["clients"] = {
            host: {"path": path} for host, path in clients.items()}
    return data


@pytest.fixture
def ring() -> tuple[ShadowCore, FakeFabric]:
    return reconciled(parse_config(ring_data()))


def changes(updates: dict) -> list:
    return [m for msgs in updates.values() for m in msgs if not isinstance(m, Barrier)]


def test_the_same_configuration_changes_nothing(ring) -> None:
    core, _ = ring
    assert core.reload(1.0, parse_config(ring_data())) == {}
    assert core.reloads["generation"] == 1 and core.events[-1]["result"] == "applied"


def test_a_client_placed_on_its_shadow_path_by_config_moves_like_set_client_path(ring) -> None:
    core, fabric = ring
    twin, _ = reconciled(parse_config(ring_data()))
    expected = twin.set_client_path(1.0, "tenant-a", "h1", "shadow", "test")
    updates = core.reload(1.0, parse_config(ring_data(h1="shadow")))
    assert {dpid: [repr(m) for m in msgs] for dpid, msgs in updates.items()} == {
        dpid: [repr(m) for m in msgs] for dpid, msgs in expected.items()}
    apply(fabric, updates)
    assert trail(fabric, 1, 2) == ("s1", "s4", "s3", "s2")
    assert trail(fabric, 2, 1) == ("s2", "s3", "s4", "s1")
    assert core.intents.shadow_path == {("tenant-a", "h1")} == core.config_shadow_path

    apply(fabric, core.reload(2.0, parse_config(ring_data(h1="primary"))))
    assert trail(fabric, 1, 2) == ("s1", "s2") and core.intents.shadow_path == frozenset()
    assert core.reloads["generation"] == 2


def test_switches_joining_or_leaving_are_refused_and_nothing_changes(ring) -> None:
    core, _ = ring
    data = ring_data(h1="shadow")
    data["fabric"]["switches"]["s5"] = {"dpid": 5}
    plans, config = dict(core.plans), core.config
    with pytest.raises(ReloadRefused, match="fabric.switches"):
        core.reload(1.0, parse_config(data))
    assert core.plans == plans and core.config is config and core.intents.shadow_path == frozenset()
    core.reload_rejected(1.0, ["fabric.switches: needs a restart"])
    assert core.status()["reload"] == {"generation": 0, "at": 1.0,
                                       "errors": ["fabric.switches: needs a restart"]}
    assert core.events[-1]["result"] == "rejected"


def test_failed_links_and_preemptive_moves_survive_a_reload(ring) -> None:
    core, fabric = ring
    apply(fabric, core.port_status(0.0, 1, 10, False))  # s1-s2 down
    core.capacity.forecasts = {"link:s1:s4": SeriesForecastView(0.9e8 / 8, 0.9e8 / 8, 0.9e8 / 8),
                      "client:tenant-a:h3:tx": SeriesForecastView(1e5, 1e5, 1e5)}
    apply(fabric, core.set_client_path(1.0, "tenant-a", "h2", "shadow", "operator"))
    data = ring_data()
    data["routing"] = {"hold": 99}
    updates = core.reload(2.0, parse_config(data))
    assert changes(updates) == []
    assert core.intents.failed_links == {frozenset({"s1", "s2"})}
    assert ("tenant-a", "h2") in core.intents.shadow_path
    assert core.preemption.preempter.policy.hold == 99
    assert trail(fabric, 1, 2) == ("s1", "s4", "s3", "s2")


def test_a_client_the_new_config_places_is_forgotten_by_preemptive_routing(ring) -> None:
    core, _ = ring
    core.capacity.forecasts = {"link:s1:s2": SeriesForecastView(1.2e7, 1.2e7, 1.2e7),
                      "client:tenant-a:h1:tx": SeriesForecastView(3e6, 3e6, 3e6)}
    data = ring_data()
    data["networks"]["tenant-a"]["hosts"].pop("h3")
    data["networks"]["tenant-a"]["hosts"].pop("h4")
    data["networks"]["tenant-a"]["shadow"]["hosts"].pop("h3s")
    data["networks"]["tenant-a"]["shadow"]["hosts"].pop("h4s")
    data["networks"]["tenant-a"]["shadow"]["mirror"] = []
    data["routing"] = {"confirm": 1}
    core.reload(0.0, parse_config(data))
    core.preempt(1.0)
    assert [r.client for r in core.preemption.preempter.relieved()] == [("tenant-a", "h1")]
    data["networks"]["tenant-a"]["shadow"]["clients"] = {"h1": {"path": "shadow"}}
    core.reload(2.0, parse_config(data))
    assert core.preemption.preempter.relieved() == []
    assert core.config_shadow_path == {("tenant-a", "h1")}
    for now in (100.0, 200.0):  # nothing ever moves the pinned client back
        core.capacity.forecasts["link:s1:s2"] = SeriesForecastView(0.0, 0.0, 0.0)
        core.preempt(now)
    assert core.intents.shadow_path == {("tenant-a", "h1")}


def test_telemetry_changes_wait_for_a_restart(ring) -> None:
    core, _ = ring
    data = ring_data()
    data["telemetry"] = {"flow_interval": 7}
    core.reload(1.0, parse_config(data))
    assert core.config.telemetry.flow_interval == 1.0
    assert "next restart" in core.events[-1]["reason"]


def test_a_reload_that_fails_to_plan_leaves_the_running_state_whole(ring, monkeypatch) -> None:
    core, _ = ring
    core.set_client_path(1.0, "tenant-a", "h1", "shadow", "operator")
    before = (core.config, core.intents, core.plans, core.fabric, core.shadow_paths,
              core.standable, core.capacity.allocator, core.demand, core.planner)
    data = ring_data()
    del data["networks"]["tenant-a"]["shadow"]["mirror"]

    def broken(*args, **kwargs):
        raise RuntimeError("planning failed")

    monkeypatch.setattr("sdn_shadow.openflow.incremental.Planner.update", broken)
    with pytest.raises(RuntimeError, match="planning failed"):
        core.reload(2.0, parse_config(data))
    after = (core.config, core.intents, core.plans, core.fabric, core.shadow_paths,
             core.standable, core.capacity.allocator, core.demand, core.planner)
    assert all(a is b for a, b in zip(before, after, strict=True))
    assert core.reloads["generation"] == 0


def test_undo_is_the_previous_intents_again(ring) -> None:
    core, fabric = ring
    before, plans = core.intents, {d: dict(p.flows) for d, p in core.plans.items()}
    apply(fabric, core.set_client_path(1.0, "tenant-a", "h1", "shadow", "operator"))
    assert core.intents != before
    apply(fabric, core.apply_intents(2.0, before))
    assert core.intents == before
    assert {d: dict(p.flows) for d, p in core.plans.items()} == plans
