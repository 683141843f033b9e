"""The incremental planner's merged plans equal a full compile, change after change."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
import yaml

from sdn_shadow.config import parse_config
from sdn_shadow.config.model import Config
from sdn_shadow.openflow.compiler import SourceLimit, SwitchPlan, compile_config, shadow_paths
from sdn_shadow.openflow.incremental import Inputs, Planner
from sdn_shadow.topology import Fabric
from tests.fakes.flowtable import FakeFabric

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _config(name: str) -> Config:
    if name == "services":  # the ring with service hosts and their twins
        from tests.component.test_service_steering import service_config

        return parse_config(service_config())
    data = yaml.safe_load((EXAMPLES / name).read_text())
    return parse_config(data)


def _random_inputs(rng: random.Random, config: Config, fabric: Fabric, paths) -> Inputs:
    shadowed = [n for n in config.networks if n.shadow is not None]
    clients = [(n.name, h.name) for n in shadowed for h in n.hosts]
    servable = [(n.name, h.name) for n in shadowed if n.shadow and n.shadow.services
                for h in n.hosts]
    links = [frozenset((lk.a.switch, lk.b.switch)) for lk in config.links]
    sources = [(n.name, str(h.ip)) for n in config.networks for h in n.hosts]
    sources += [(n.name, h.mac) for n in config.networks for h in n.hosts]

    def some(items: list) -> frozenset:
        return frozenset(x for x in items if rng.random() < 0.3)

    blocked = {key: rng.choice([None, SourceLimit(rng.randrange(1, 5), 1000)])
               for key in some(sources)}
    return Inputs(config, fabric, paths, {}, some(clients),
                  some(links) if rng.random() < 0.5 else frozenset(), some(servable), blocked)


def _same_plan(got: SwitchPlan, want: SwitchPlan) -> None:
    assert got.flows == want.flows
    assert got.groups == want.groups
    assert got.meters == want.meters
    assert got.mirror_groups == want.mirror_groups
    assert got.mirror_flows == want.mirror_flows
    assert got.demand == want.demand
    assert got.best_effort == want.best_effort
    assert got.holds == want.holds


@pytest.mark.parametrize("example", ["lab.yaml", "ring.yaml", "services"])
@pytest.mark.parametrize("seed", range(4))
def test_every_change_leaves_the_plans_and_the_switches_as_a_full_compile(example, seed):
    config = _config(example)
    fabric = Fabric(config)
    paths = shadow_paths(config, fabric)
    planner, switches = Planner(config), FakeFabric(config)
    rng = random.Random(seed)
    for _ in range(25):
        inputs = _random_inputs(rng, config, fabric, paths)
        deltas = planner.update(inputs)
        for name, delta in deltas.items():
            switches.by_name[name].apply(delta.messages())  # checks make-before-break
        want = compile_config(config, inputs.held, inputs.shadow_path, inputs.failed, fabric=fabric,
                              paths=paths, twin_service=inputs.twin_service, blocked=inputs.blocked)
        got = planner.by_dpid()
        assert got.keys() == want.keys()
        for dpid, plan in want.items():
            _same_plan(got[dpid], plan)
            switch = switches.switches[dpid]
            assert switch.flows == plan.flows, f"switch {plan.name} differs from its plan"
            assert switch.groups == plan.groups
            assert switch.meters.keys() == plan.meters.keys()


def test_a_client_move_rebuilds_one_part_and_touches_only_its_switches() -> None:
    config = _config("ring.yaml")
    fabric = Fabric(config)
    paths = shadow_paths(config, fabric)
    planner = Planner(config)
    still = Inputs(config, fabric, paths, {}, frozenset(), frozenset(), frozenset(), {})
    planner.update(still)
    assert planner.update(still) == {} and planner.rebuilt == 0, "nothing changed"
    moved = Inputs(config, fabric, paths, {}, frozenset({("tenant-a", "h1")}), frozenset(),
                   frozenset(), {})
    deltas = planner.update(moved)
    assert planner.rebuilt == 1, "only tenant-a's moved-client part"
    assert deltas and all(not d.removed_flows for d in deltas.values()), "make, then break"
    back = planner.update(still)
    assert planner.rebuilt == 0 and all(not d.flows for d in back.values())
    assert sum(len(d.removed_flows) for d in back.values()) == sum(
        len(d.flows) for d in deltas.values())


def test_a_fork_plans_a_new_configuration_and_leaves_the_old_plans_alone() -> None:
    data = yaml.safe_load((EXAMPLES / "ring.yaml").read_text())
    old = parse_config(data)
    del data["networks"]["tenant-a"]["shadow"]["mirror"][0]
    data["networks"]["tenant-a"]["shadow"]["clients"] = {"h1": {"path": "shadow"}}
    new = parse_config(data)
    planner, switches = Planner(old), FakeFabric(old)
    fabric = Fabric(old)
    old_paths, new_paths = shadow_paths(old, fabric), shadow_paths(new, Fabric(new))
    for name, delta in planner.update(Inputs(old, fabric, old_paths, {}, frozenset(),
                                             frozenset(), frozenset(), {})).items():
        switches.by_name[name].apply(delta.messages())
    twin = planner.fork(new)
    deltas = twin.update(Inputs(new, Fabric(new), new_paths, {}, frozenset({("tenant-a", "h1")}),
                                frozenset(), frozenset(), {}), keep_rates=False)
    assert 0 < twin.rebuilt < len(twin.parts), "only what the new configuration changed"
    for name, delta in deltas.items():
        switches.by_name[name].apply(delta.messages())
    for planned, config, moved in ((planner, old, frozenset()),
                                   (twin, new, frozenset({("tenant-a", "h1")}))):
        want = compile_config(config, {}, moved, fabric=Fabric(config))
        for dpid, plan in want.items():
            _same_plan(planned.by_dpid()[dpid], plan)
    for dpid, plan in compile_config(new, {}, frozenset({("tenant-a", "h1")})).items():
        assert switches.switches[dpid].flows == plan.flows


def _core_reference(core) -> dict:
    """A full compile of what the core's intents call for (layout as `ShadowCore` makes it)."""
    from sdn_shadow.policy.takeover import active_hosts, serving, swapped

    intents, config = core.intents, core.config
    roles = swapped(config, intents.roles_swapped)
    standing = core.standable
    served = (intents.taken_over | active_hosts(roles)
              | {c for c in standing if c[0] in intents.shadow_active})
    layout = serving(roles, served)
    fabric = Fabric(layout)
    return compile_config(layout, core.held(), intents.shadow_path, intents.failed_links,
                          fabric=fabric, paths=shadow_paths(layout, fabric),
                          twin_service=intents.twin_service, blocked=intents.blocks)


@pytest.mark.parametrize("seed", range(3))
def test_the_cores_changes_of_every_kind_leave_switches_as_a_full_compile(seed) -> None:
    from sdn_shadow.core import ShadowCore
    from tests.component.test_service_steering import service_config

    config = parse_config(service_config())
    core, switches = ShadowCore(config), FakeFabric(config)
    for dpid, switch in switches.switches.items():
        switch.apply(core.reconcile(0.0, dpid, [], []))
    rng = random.Random(seed)
    net = next(n for n in config.networks if n.shadow is not None)
    hosts = [h.name for h in net.hosts]
    applied: set[str] = set()
    for step in range(30):
        now = 1.0 + step
        kind = rng.choice(["path", "service", "served", "active", "swap", "link"])
        host = rng.choice(hosts)
        try:
            if kind == "path":
                out = core.set_client_path(now, net.name, host, rng.choice(["primary", "shadow"]),
                                           "test")
            elif kind == "service":
                out = core.set_client_service(now, net.name, host,
                                              rng.choice(["primary", "twin"]), "test")
            elif kind == "served":
                out = core.set_host_served(now, net.name, host, rng.choice(["primary", "twin"]),
                                           "test")
            elif kind == "active":
                out = core.set_shadow_active(now, net.name, rng.random() < 0.5, "test")
            elif kind == "swap":
                out = core.swap_roles(now, net.name, "test")
            else:
                link = rng.choice(config.links)
                end = rng.choice([link.a, link.b])
                dpid = config.switch(end.switch).dpid
                out = core.port_status(now, dpid, end.port, rng.random() < 0.5)
        except ValueError:
            continue  # a change this configuration cannot take: nothing happened
        for dpid, msgs in out.items():
            switches.switches[dpid].apply(msgs)
        for dpid, plan in _core_reference(core).items():
            assert switches.switches[dpid].flows == plan.flows, (kind, plan.name)
            assert switches.switches[dpid].groups == plan.groups, (kind, plan.name)
            _same_plan(core.plans[dpid], plan)
        applied.add(kind)
    assert {"served", "swap", "path"} <= applied, applied


def test_a_fork_with_a_link_on_other_ports_replans_what_names_them() -> None:
    data = yaml.safe_load((EXAMPLES / "ring.yaml").read_text())
    old = parse_config(data)
    link = data["fabric"]["links"][0]  # s1:10 - s2:11, now on other ports
    link["a"], link["b"] = "s1:20", "s2:21"
    new = parse_config(data)
    planner = Planner(old)
    fabric = Fabric(old)
    planner.update(Inputs(old, fabric, shadow_paths(old, fabric), {}, frozenset(),
                          frozenset(), frozenset(), {}))
    twin = planner.fork(new)
    new_fabric = Fabric(new)
    twin.update(Inputs(new, new_fabric, shadow_paths(new, new_fabric), {}, frozenset(),
                       frozenset(), frozenset(), {}))
    want = compile_config(new, {}, fabric=Fabric(new))
    for dpid, plan in twin.by_dpid().items():
        assert plan.flows == want[dpid].flows and plan.groups == want[dpid].groups
