"""The core's subsystems as pure functions: reconcile, health, roles, planning, preemption,
readout and reload, each checked on its own (the composer is covered by tests/component)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from sdn_shadow.config import parse_config
from sdn_shadow.config.model import Config
from sdn_shadow.core import CoreCommands, GroupCounters, InstalledFlow, ShadowCore, SwitchState
from sdn_shadow.core.health import decided, fabric_index
from sdn_shadow.core.planning import config_shadow_path, networks_served, serving_events
from sdn_shadow.core.preempt import ClientChange, client_changes, scaling_events
from sdn_shadow.core.readout import events_page, ldap_event
from sdn_shadow.core.reconcile import changes, diff, meter_changes, reconcile, sum_buckets
from sdn_shadow.core.reload import clients_of, live_config
from sdn_shadow.core.roles import host_served, roles_of, roles_swapped, shadow_activated
from sdn_shadow.core.watch import source_limits
from sdn_shadow.directory.follower import RoundReport
from sdn_shadow.intents import Intents
from sdn_shadow.openflow.compiler import SourceLimit, SwitchPlan
from sdn_shadow.openflow.messages import (
    Barrier,
    FlowAdd,
    FlowDelete,
    Meter,
    MeterAdd,
    MeterBand,
    MeterModify,
    match,
)
from sdn_shadow.policy.health import Decision
from sdn_shadow.policy.preempt import Decision as PreemptDecision
from sdn_shadow.policy.response import Block

LAB = Path(__file__).resolve().parents[2] / "examples" / "lab.yaml"
H1, H2, H3 = ("tenant-a", "h1"), ("tenant-a", "h2"), ("tenant-a", "h3")
S1S2 = frozenset({"s1", "s2"})


@pytest.fixture(scope="module")
def config() -> Config:
    return parse_config(yaml.safe_load(LAB.read_text()))


@pytest.fixture
def plan(config: Config) -> SwitchPlan:
    return ShadowCore(config).plans[1]


def installed(plan: SwitchPlan) -> list[InstalledFlow]:
    return [InstalledFlow(*key, cookie=f.cookie) for key, f in plan.flows.items()]


def meter(meter_id: int, rate: int) -> Meter:
    return Meter(meter_id, (MeterBand(rate),))


# --- reconcile ---------------------------------------------------------------------------

def test_a_switch_holding_its_plan_gets_only_a_barrier(plan: SwitchPlan) -> None:
    msgs, counts = reconcile(plan, installed(plan), plan.groups, plan.meters.values(),
                             keep_holds=False)
    assert msgs == [Barrier()] and counts == {"added": 0, "deleted": 0}


def test_an_empty_switch_gets_every_entry_then_a_barrier(plan: SwitchPlan) -> None:
    msgs, counts = reconcile(plan, [], [], (), keep_holds=False)
    assert msgs[-1] == Barrier() and counts["deleted"] == 0
    assert counts["added"] == len(msgs) - 1 == len(plan.flows) + len(plan.groups) + len(
        plan.meters)


def test_stale_flows_go_after_the_adds(plan: SwitchPlan) -> None:
    stale = InstalledFlow(0, 7, match(in_port=99), cookie=1)
    have = [f for f in installed(plan)][1:] + [stale]  # one missing, one stale
    msgs, counts = reconcile(plan, have, plan.groups, plan.meters.values(), keep_holds=False)
    assert counts == {"added": 1, "deleted": 1}
    assert isinstance(msgs[0], FlowAdd) and isinstance(msgs[1], FlowDelete)
    assert msgs[1].match == stale.match and msgs[1].strict


def test_before_the_first_allocation_the_switch_keeps_its_meter_rates() -> None:
    want = SwitchPlan(1, "s1", meters={5: meter(5, 100)})
    msgs, _ = reconcile(want, [], [], [meter(5, 40)], keep_holds=True)
    assert msgs == [Barrier()] and want.meters[5] == meter(5, 40)
    again = SwitchPlan(1, "s1", meters={5: meter(5, 100)})
    msgs, _ = reconcile(again, [], [], [meter(5, 40)], keep_holds=False)
    assert msgs == [MeterModify(meter(5, 100)), Barrier()]


def test_meter_changes_add_missing_and_modify_different_ones() -> None:
    assert meter_changes({1: meter(1, 10), 2: meter(2, 20)},
                         {1: meter(1, 10), 2: meter(2, 25), 3: meter(3, 30)}) == [
        MeterModify(meter(2, 25)), MeterAdd(meter(3, 30))]


def test_diff_of_a_plan_with_itself_is_empty_and_of_an_empty_plan_deletes(
        plan: SwitchPlan) -> None:
    assert diff({1: plan}, {1: plan}) == {}
    out = diff({1: plan}, {1: SwitchPlan(1, "s1")})
    assert out[1][-1] == Barrier()
    assert len(out[1]) - 1 == len(plan.flows) + len(plan.groups) + len(plan.meters)
    msgs, added = changes(SwitchPlan(1, "s1"), {}, set(), {})
    assert msgs == [] and added == 0


def test_group_counters_sum_only_the_copy_buckets_reported() -> None:
    counters = GroupCounters(7, ((1, 100), (2, 200), (4, 400)))
    assert sum_buckets(counters, (1, 2, 5)) == (6, 600)


# --- switch states -----------------------------------------------------------------------

def test_a_switch_state_is_a_value_changed_by_its_events(plan: SwitchPlan) -> None:
    s0 = SwitchState(1, "old")
    up = s0.on_connect(5.0)
    assert (s0.connected, up.connected, up.synced, up.connected_at) == (False, True, False, 5.0)
    synced = up.on_sync(6.0, plan)
    assert synced.synced and synced.synced_at == 6.0 and synced.name == plan.name
    assert (synced.flows, synced.groups) == (len(plan.flows), len(plan.groups))
    down = synced.on_disconnect()
    assert not down.connected and not down.synced and down.flows == synced.flows


# --- health ------------------------------------------------------------------------------

def test_fabric_index_names_each_port_s_link_and_each_link_s_ends(config: Config) -> None:
    ports, ends = fabric_index(config)
    assert ports == {(1, 10): S1S2, (2, 10): S1S2} and ends == {S1S2: [(1, 10), (2, 10)]}


def test_a_link_failover_fails_the_link_and_a_failback_restores_it() -> None:
    down = Decision("failover", S1S2, 1.0, "port down", "port")
    intents, events = decided(Intents(), [down], {}, role_swap=False)
    assert intents.failed_links == {S1S2}
    assert events == [{"t": 1.0, "kind": "failover", "link": "s1-s2", "reason": "port down",
                       "source": "port"}]
    back = Decision("failback", S1S2, 9.0, "up", "port")
    assert decided(intents, [back], {}, role_swap=False)[0] == Intents()


def test_a_recovered_host_swaps_roles_under_role_swap_else_it_is_restored() -> None:
    taken = Intents(taken_over=frozenset({H1}))
    back = Decision("failback", ("host", *H1), 3.0, "answers", "probe")
    restored, events = decided(taken, [back], {H1: "h1s"}, role_swap=False)
    assert restored == Intents() and events[0]["kind"] == "restore"
    swapped, events = decided(taken, [back], {H1: "h1s"}, role_swap=True)
    assert swapped == Intents(roles_swapped=frozenset({H1}))
    assert events[0]["kind"] == "role_swap" and "h1s" in str(events[0]["reason"])
    fail = Decision("failover", ("host", *H2), 4.0, "3 probes missed", "probe")
    assert decided(Intents(), [fail], {}, role_swap=True)[0].taken_over == {H2}


# --- roles -------------------------------------------------------------------------------

def test_only_hosts_with_a_standing_twin_can_be_taken_over(config: Config) -> None:
    roles = roles_of(config, frozenset())
    assert host_served(Intents(), roles, *H1, "twin").taken_over == {H1}
    with pytest.raises(ValueError, match="no twin with its MAC and IP"):
        host_served(Intents(), roles, *H3, "twin")
    assert host_served(Intents(), roles, *H3, "primary") == Intents()


def test_activation_needs_a_shadowed_network(config: Config) -> None:
    roles = roles_of(config, frozenset())
    assert shadow_activated(config, Intents(), roles, "tenant-a", True).shadow_active == {
        "tenant-a"}
    with pytest.raises(ValueError, match="no such network with a shadow"):
        shadow_activated(config, Intents(), roles, "tenant-b", True)


def test_a_role_swap_swaps_every_standing_host_and_ends_takeovers(config: Config) -> None:
    roles = roles_of(config, frozenset())
    before = Intents(taken_over=frozenset({H1}), shadow_active=frozenset({"tenant-a"}))
    after, mine = roles_swapped(config, before, roles, "tenant-a")
    assert mine == {H1, H2} and after.roles_swapped == {H1, H2}
    assert after.taken_over == frozenset() and after.shadow_active == frozenset()
    assert roles_swapped(config, after, roles, "tenant-a")[0].roles_swapped == frozenset()


def test_probe_targets_follow_the_swapped_roles(config: Config) -> None:
    plain, swapped = roles_of(config, frozenset()), roles_of(config, frozenset({H1}))
    assert plain.standable.keys() == swapped.standable.keys() == {H1, H2}
    assert plain.probe_targets != swapped.probe_targets


# --- planning ----------------------------------------------------------------------------

def test_a_network_is_served_by_its_shadow_when_every_standing_host_is() -> None:
    standable = {H1: "h1s", H2: "h2s"}
    assert networks_served(standable, frozenset({H1})) == frozenset()
    assert networks_served(standable, frozenset({H1, H2})) == {"tenant-a"}
    up = serving_events(1.0, frozenset(), frozenset({"tenant-a"}))
    down = serving_events(2.0, frozenset({"tenant-a"}), frozenset())
    assert [(e["t"], e["kind"]) for e in up + down] == [(1.0, "shadow_serving"),
                                                       (2.0, "primary_serving")]
    assert serving_events(3.0, frozenset({"x"}), frozenset({"x"})) == []


def test_the_config_places_clients_with_path_shadow(config: Config) -> None:
    assert config_shadow_path(config) == frozenset()


# --- preemption --------------------------------------------------------------------------

def scale(resource: str, instances: int) -> PreemptDecision:
    return PreemptDecision("scale", None, resource, "twin", 1.0, f"{instances} needed",
                           instances=instances)


def test_scaling_events_mark_requests_that_appear_change_or_clear() -> None:
    now, events = scaling_events(1.0, {}, [scale("a", 2)])
    assert now == {"a": 2} and [e["instances"] for e in events] == [2]
    assert scaling_events(2.0, now, [scale("a", 2)])[1] == []
    cleared, events = scaling_events(3.0, now, [])
    assert cleared == {} and events[0]["instances"] == 0 and "fits again" in str(
        events[0]["reason"])


def test_client_changes_are_moves_and_returns_and_a_kept_twin_waits() -> None:
    path = PreemptDecision("move", H1, "link:s1:s2", "path", 1.0, "over")
    twin_back = PreemptDecision("return", H2, "service:x", "twin", 1.0, "under")
    assert client_changes([path, twin_back, scale("a", 1)], set()) == [
        ClientChange("path", H1, "shadow", "preempt: over"),
        ClientChange("service", H2, "primary", "preempt: under")]
    assert client_changes([twin_back], {H2}) == []


# --- readout and watch -------------------------------------------------------------------

def test_ldap_rounds_leave_an_event_only_when_something_happened() -> None:
    quiet = RoundReport(1, 1.0, 0.01)
    failing, found = ldap_event(frozenset(), 1.0, "n", quiet)
    assert failing == frozenset() and found is None
    failing, found = ldap_event(failing, 2.0, "n", replace(quiet, error="down"))
    assert failing == {"n"} and found is not None and found["result"] == "failed"
    failing, found = ldap_event(failing, 3.0, "n", quiet)  # recovered: said once
    assert failing == frozenset() and found is not None and found["result"] == "ok"


def test_events_page_by_cursor() -> None:
    events = [{"t": float(i), "kind": "x"} for i in range(5)]
    page = events_page(events, 3, 10)
    assert [e["id"] for e in page["events"]] == [3, 4] and page["next"] == 5
    assert events_page(events, 5, 10) == {"events": [], "next": 5}


def test_blocks_become_drops_or_source_meters() -> None:
    dropped = Block("n", "10.0.0.9", 1, "scan", 0.0, 60.0)
    metered = Block("n", "10.0.0.8", 2, "flood", 0.0, 60.0, meter_kbps=500, slot=3)
    assert source_limits({("n", "a"): dropped, ("n", "b"): metered}) == {
        ("n", "a"): None, ("n", "b"): SourceLimit(3, 500)}


# --- reload ------------------------------------------------------------------------------

def test_settings_read_at_start_wait_for_a_restart(config: Config) -> None:
    assert live_config(config, config) == (config, "")
    later = replace(config, telemetry=replace(config.telemetry, window=config.telemetry.window
                                              + 1))
    kept, note = live_config(config, later)
    assert kept.telemetry == config.telemetry and "next restart" in note


def test_clients_are_the_primary_hosts_of_shadowed_networks(config: Config) -> None:
    clients, servable = clients_of(config)
    assert clients == {H1, H2, H3} and servable == frozenset()


# --- commands ----------------------------------------------------------------------------

def test_commands_read_a_client_and_record_an_undo(config: Config) -> None:
    core = ShadowCore(config)
    commands = CoreCommands(core)
    commands.set_client(1.0, *H1, "shadow", None, "test")
    assert commands.client(*H1).to_dict() == {"path": "shadow", "service": "primary",
                                              "served_by": "itself", "role_swapped": False}
    assert commands.shadow_use("tenant-a") == ["shadow path: h1"]
    commands.undone(2.0, {1: "table full"})
    assert core.events[-1] == {"t": 2.0, "kind": "config", "result": "undone",
                               "reason": "refused by s1: table full"}
    assert commands.switch_counts() == {"switches": 2, "connected": 0, "synced": 0}


# --- the stateful subsystems, each on its own --------------------------------------------

def with_failover(config: Config, **settings: object) -> Config:
    return replace(config, failover=replace(config.failover, **settings))


def test_a_link_is_down_when_either_end_is_and_up_when_both_are(config: Config) -> None:
    from sdn_shadow.core.health import Health
    health = Health(config)
    [down] = health.ports_seen(1.0, 1, {10: False, 3: False}, "port")
    assert (down.kind, down.subject) == ("failover", S1S2)
    assert health.ports_seen(2.0, 1, {10: True}, "port") == []  # held: hold and wait
    assert health.ports_seen(20.0, 2, {10: False}, "port") == []  # still down (other end)


def test_bfd_is_enabled_once_per_fabric_port_and_its_flaps_are_ignored(config: Config
                                                                       ) -> None:
    from sdn_shadow.core.health import Health
    assert Health(config).bfd_to_enable(0.0, 1, {10: "s1-eth10"}) == []  # bfd off
    health = Health(with_failover(config, bfd=True, bfd_grace=3.0))
    assert health.bfd_to_enable(0.0, 1, {3: "s1-eth3", 10: "s1-eth10"}) == ["s1-eth10"]
    assert health.bfd_to_enable(1.0, 1, {10: "s1-eth10"}) == []
    assert health.ports_seen(1.0, 1, {10: False}, "port") == []  # in the grace


def test_probes_go_every_interval_to_synced_switches_and_misses_take_over(config: Config
                                                                          ) -> None:
    from sdn_shadow.core.health import Health
    health = Health(with_failover(config, probe_interval=1.0, probe_misses=2))
    targets = roles_of(config, frozenset()).probe_targets
    sent = health.probes_due(0.0, targets, lambda dpid: dpid == 1)
    assert [(dpid, port) for dpid, port, _ in sent] == [(1, 1)]
    assert health.probes_due(0.5, targets, lambda dpid: True) == []  # not due yet
    assert len(health.probes_due(1.0, targets, lambda dpid: dpid == 1)) == 1
    missed = health.due(2.5)
    assert [(d.kind, d.subject) for d in missed] == [("failover", ("host", *H1))]


def test_a_reload_keeps_what_capacity_learned_and_retunes_the_rest(config: Config) -> None:
    from sdn_shadow.core.capacity import Capacity
    from sdn_shadow.policy.allocation import Allocation
    plans = ShadowCore(config).plans
    capacity = Capacity(config, plans)
    capacity.demand.latest["network:tenant-a"] = 5.0
    capacity.allocations = {"tenant-a": Allocation("tenant-a", "conservative", 1.0, 1.0, 1.0,
                                                   1.0, 1.0, True, False),
                            "gone": Allocation("gone", "conservative", 1.0, 1.0, 1.0, 1.0,
                                               1.0, True, False)}
    new = capacity.reloaded(config, plans)
    assert new is not capacity and new.demand is not capacity.demand
    assert new.demand.latest == {"network:tenant-a": 5.0} and new.profiles is capacity.profiles
    assert set(new.allocations) == {"tenant-a"} and set(capacity.allocations) == {
        "tenant-a", "gone"}
    assert new.held() == {"tenant-a": 1.0}


def test_preemption_waits_for_routing_and_forecasts(config: Config) -> None:
    from sdn_shadow.core.planning import layout_of
    from sdn_shadow.core.preempt import Preemption
    from sdn_shadow.forecast.round import SeriesForecastView
    layout = layout_of(config)
    view = SeriesForecastView(1e12, 1e12, 1e12)
    off = replace(config, routing=replace(config.routing, enabled=False))
    assert Preemption(off).round(1.0, layout_of(off), {"link:s1:s2": view}, frozenset(),
                                 {}) == ([], [])
    assert Preemption(config).round(1.0, layout, {}, frozenset(), {}) == ([], [])


# --- client policy -----------------------------------------------------------------------

def test_client_policy_needs_a_primary_host_of_a_shadowed_network(config: Config) -> None:
    from sdn_shadow.core.clients import client_path, client_service
    assert client_path(config, Intents(), *H1, "shadow").shadow_path == {H1}
    with pytest.raises(ValueError, match="no primary host h1s"):
        client_path(config, Intents(), "tenant-a", "h1s", "shadow")
    with pytest.raises(ValueError, match="no such network with a shadow"):
        client_path(config, Intents(), "tenant-b", "b1", "shadow")
    with pytest.raises(ValueError, match="no service hosts"):
        client_service(config, Intents(), *H1, "twin")
    assert client_service(config, Intents(), *H1, "primary") == Intents()
