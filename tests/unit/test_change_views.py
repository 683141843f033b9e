"""Views a configuration change derives per network equal the whole walks they replace.

Probe targets come in (network, host) order however the networks are listed;
a takeover reads only the networks with a taken-over host, and gives what
the standable hosts of the whole configuration give.
"""

from __future__ import annotations

import random

from bench import fabric_gen
from sdn_shadow.config import parse_config
from sdn_shadow.config.model import Config
from sdn_shadow.core.roles import roles_of
from sdn_shadow.policy.allocation import AllocationPolicy, Allocator
from sdn_shadow.policy.takeover import serving, standable, swapped


def _shuffled(seed: int) -> Config:
    """A generated configuration whose networks are not listed in name order."""
    gen = fabric_gen.fabric(fabric_gen.ring(5), 48, hosts_per_network=6, seed=seed)
    doc = gen.document
    names = list(doc["networks"])
    random.Random(seed).shuffle(names)
    renamed = {f"{'zab'[i % 3]}{name}": doc["networks"][name] for i, name in enumerate(names)}
    return parse_config({**doc, "networks": renamed})


def test_probe_targets_are_in_network_and_host_order() -> None:
    for seed in range(3):
        config = _shuffled(seed)
        assert [n.name for n in config.networks] != sorted(n.name for n in config.networks)
        targets = roles_of(config, frozenset()).probe_targets
        assert list(targets.items()) == sorted(targets.items(), key=lambda t: t[1][1:])
        assert len(targets) == len(standable(config))


def test_takeover_and_swap_change_only_the_networks_they_name() -> None:
    config = _shuffled(0)
    twins = standable(config)
    rng = random.Random(1)
    clients = frozenset(rng.sample(sorted(twins), 5))
    for change in (serving, swapped):
        got = change(config, clients)
        for old, new in zip(config.networks, got.networks, strict=True):
            mine = {host for net, host in clients if net == old.name}
            if not mine:
                assert new is old
                continue
            for host in mine:
                twin = next(t for t in old.shadow.hosts if t.name == twins[(old.name, host)])
                assert (new.host(host).switch, new.host(host).port) == (twin.switch, twin.port)


def test_a_retuned_allocator_keeps_the_state_of_the_networks_it_still_has() -> None:
    allocator = Allocator({"a": AllocationPolicy(strategy="dynamic"), "b": AllocationPolicy()})
    allocator._state["a"].weight = 0.25
    fresh = allocator.retuned({"a": AllocationPolicy(strategy="dynamic"),
                               "c": AllocationPolicy()})
    assert fresh.weight("a") == 0.25 and fresh.weight("c") == 1.0
    assert set(fresh.policies) == {"a", "c"} and "b" not in fresh._state
    assert fresh._state["a"] is allocator._state["a"]


def _fresh(config: Config) -> tuple[object, ...]:
    """Roles, standing hosts and clients of `config` worked out whole (caches emptied)."""
    from sdn_shadow.core import planning, reload, roles

    saved = (list(roles._LAST), dict(planning._STANDING), list(reload._CLIENTS_OF))
    roles._LAST.clear(), planning._STANDING.clear(), reload._CLIENTS_OF.clear()
    try:
        found = roles_of(config, frozenset())
        return (list(found.standable.items()), list(found.probe_targets.items()),
                list(planning.standing_of(config)[0].items()),
                planning.standing_of(config)[1], reload.clients_of(config))
    finally:
        roles._LAST[:], reload._CLIENTS_OF[:] = saved[0], saved[2]
        planning._STANDING.clear()
        planning._STANDING.update(saved[1])


def test_views_derived_from_the_last_configuration_equal_fresh_ones() -> None:
    import copy

    from sdn_shadow.config.partial import with_network
    from sdn_shadow.core.capacity import Capacity, allocation_policies
    from sdn_shadow.core.planning import standing_of
    from sdn_shadow.core.reload import clients_of

    gen = fabric_gen.fabric(fabric_gen.ring(5), 30, hosts_per_network=5, seed=3)
    doc = copy.deepcopy(gen.document)
    config = parse_config(doc)
    capacity = Capacity(config, {})
    rng = random.Random(3)
    derived = 0
    for step in range(24):
        networks = dict(doc["networks"])
        name = rng.choice(list(networks))
        kind = rng.choice(["add", "add_first", "same", "active", "fewer", "drop"])
        if kind.startswith("add"):
            new, spec = gen.add_network(4)
            name = f"a{step}" if kind == "add_first" else new
            networks[name] = spec
        elif kind == "same":  # a session edit: the same hosts
            networks[name] = copy.deepcopy(networks[name])
        elif kind == "active":
            spec = copy.deepcopy(networks[name])
            spec["shadow"]["active"] = not spec["shadow"].get("active", False)
            spec["shadow"]["allocation"] = {"floor": rng.choice([0, 5])}
            networks[name] = spec
        elif kind == "fewer":  # a twin less
            spec = copy.deepcopy(networks[name])
            twins = spec["shadow"]["hosts"]
            if len(twins) > 1:
                gone = list(twins)[-1]
                del twins[gone]
                spec["shadow"]["mirror"] = [s for s in spec["shadow"].get("mirror", [])
                                            if gone not in s["to"]]
            networks[name] = spec
        elif len(networks) > 2:
            del networks[name]
        doc = {**doc, "networks": networks}
        config = with_network(config, doc, name) or parse_config(doc)
        found = roles_of(config, frozenset())
        got = (list(found.standable.items()), list(found.probe_targets.items()),
               list(standing_of(config)[0].items()), standing_of(config)[1],
               clients_of(config))
        assert got == _fresh(config), (step, kind)
        capacity = capacity.reloaded(config, {})
        assert list(capacity.allocator.policies.items()) == list(
            allocation_policies(config).items())
        assert list(capacity.demand.networks.items()) == list(
            Capacity(config, {}).demand.networks.items())
        derived += kind in ("add", "same")
    assert derived > 5


def test_one_sessions_counters_are_its_share_of_all() -> None:
    from sdn_shadow.core import ShadowCore
    from sdn_shadow.core.model import GroupCounters

    gen = fabric_gen.fabric(fabric_gen.ring(5), 12, hosts_per_network=6)
    core = ShadowCore(parse_config(gen.document))
    for dpid, plan in core.plans.items():
        core.group_stats(0.0, dpid, [GroupCounters(gid, tuple((b, 10 * b + gid) for b in
                                                              range(1, 5)))
                                     for gid in plan.mirror_groups])
    every = core.mirror_counters()
    assert any(c.packets for c in every.values())
    for name, counters in every.items():
        assert core.mirror_counters((name,)) == {name: counters}


def test_networks_served_counted_from_the_served_side_equal_the_whole_walk() -> None:
    from sdn_shadow.core.planning import networks_served

    rng = random.Random(5)
    for _ in range(200):
        standable = {(f"n{rng.randrange(4)}", f"h{rng.randrange(6)}"): "t"
                     for _ in range(rng.randrange(12))}
        pool = [*standable, ("n9", "h1"), ("n0", "x")]
        served = frozenset(rng.sample(pool, rng.randrange(len(pool) + 1)))
        unserved = {c[0] for c in standable if c not in served}
        assert networks_served(standable, served) == frozenset(
            c[0] for c in standable if c[0] not in unserved)
