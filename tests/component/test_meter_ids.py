"""Best-effort meter ids depend on the set of meters, never on the order networks came in."""

from __future__ import annotations

import copy
import random

import pytest

from bench import fabric_gen
from sdn_shadow.config import parse_config
from sdn_shadow.openflow import incremental, meters
from sdn_shadow.openflow.compiler import compile_config, shadow_paths
from sdn_shadow.openflow.incremental import Inputs, Planner
from sdn_shadow.openflow.messages import content_hash
from sdn_shadow.openflow.meters import MeterIds
from sdn_shadow.topology import Fabric


@pytest.mark.parametrize("seed", range(40))
def test_ids_changed_a_few_at_a_time_are_the_ids_placed_all_at_once(seed: int) -> None:
    rng = random.Random(seed)
    size = rng.choice([5, 11, 23])  # few ids: clashes, runs of taken ids, wrapping round
    universe = [(far, port, net) for far, port in (("s2", 1), ("s3", 2))
                for net in "abcdefghijkl"]
    table, held = MeterIds(size), set()
    for _ in range(30):
        more = {k for k in universe if k not in held and rng.random() < 0.15}
        fewer = {k for k in held if rng.random() < 0.2}
        if len(held | more) - len(fewer) > size:
            continue
        before = dict(table.ids)
        moved = table.change(more, fewer)
        held = (held | more) - fewer
        want = MeterIds.of(held, size).ids
        assert table.ids == want
        assert table.keys == {i: k for k, i in want.items()}
        assert moved == {k for k in held if before.get(k) != want[k]}


def test_a_clash_goes_to_the_key_first_in_order_whichever_came_first() -> None:
    home = {("s2", 1, "a"): 3, ("s2", 1, "b"): 3, ("s2", 1, "c"): 4}

    class Fixed(MeterIds):
        def home(self, key):  # type: ignore[no-untyped-def]
            return home[key]

    late = Fixed(10)
    late.change([("s2", 1, "c")], [])
    late.change([("s2", 1, "b")], [])
    assert late.ids == {("s2", 1, "b"): 3, ("s2", 1, "c"): 4}
    moved = late.change([("s2", 1, "a")], [])  # sorts first: takes 3, b then c move on
    assert late.ids == {("s2", 1, "a"): 3, ("s2", 1, "b"): 4, ("s2", 1, "c"): 5}
    assert moved == {("s2", 1, "a"), ("s2", 1, "b"), ("s2", 1, "c")}
    late.change([], [("s2", 1, "a")])
    assert late.ids == {("s2", 1, "b"): 3, ("s2", 1, "c"): 4}


def _documents() -> tuple[dict, list[str]]:
    """Networks of 4 hosts on 2 of 5 ring switches (each holds a few links); two
    without a shadow (they hold nothing, yet are policed where others hold)."""
    gen = fabric_gen.fabric(fabric_gen.ring(5), 40, hosts_per_network=4, span=2)
    doc = gen.document
    names = sorted(doc["networks"])
    for name in names[:2]:
        del doc["networks"][name]["shadow"]
    return doc, names


@pytest.mark.parametrize("seed", range(4))
def test_networks_added_and_removed_plan_as_a_full_compile_with_clashing_ids(
        seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    # Seven home ids for every meter of a switch: most meters clash.
    monkeypatch.setattr(meters, "_home_id", lambda port, network, size: content_hash(
        "best-effort", port, network) % 7 + 1)
    doc, names = _documents()
    rng = random.Random(seed)
    planner = None
    held = {name: 2e8 for name in names if rng.random() < 0.4}  # bytes/s
    for step in range(12):
        subset = copy.deepcopy(doc)
        dropped = rng.choice([0.35, 0.35, 0.95])  # at times a few: a network's meters go
        for name in names:
            if rng.random() < dropped:
                del subset["networks"][name]
        config = parse_config(subset)
        planner = planner or Planner(config)
        fabric = Fabric(config)
        paths = shadow_paths(config, fabric)
        keep_rates = step % 3 == 1  # a reload sets rates anew; other changes keep them
        here = {n: r for n, r in held.items() if n in subset["networks"]}
        planner.update(Inputs(config, fabric, paths, here, frozenset(), frozenset(),
                              frozenset(), {}), keep_rates)
        want = compile_config(config, here, fabric=fabric, paths=paths)
        got = planner.by_dpid()
        for dpid, plan in want.items():
            assert got[dpid].best_effort == plan.best_effort, (step, plan.name)
            assert got[dpid].holds == plan.holds, (step, plan.name)
            if not keep_rates:
                assert got[dpid].meters == plan.meters, (step, plan.name)
            else:
                assert got[dpid].meters.keys() == plan.meters.keys(), (step, plan.name)
            assert got[dpid].flows == plan.flows, (step, plan.name)


def test_an_update_that_fails_leaves_the_meters_to_the_next_one(
        monkeypatch: pytest.MonkeyPatch) -> None:
    doc, names = _documents()
    fewer = copy.deepcopy(doc)
    for name in names[2:8]:
        del fewer["networks"][name]
    planner = None
    for data, fails in ((fewer, False), (doc, True), (doc, False)):
        config = parse_config(data)
        planner = planner or Planner(config)
        fabric = Fabric(config)
        paths = shadow_paths(config, fabric)
        inputs = Inputs(config, fabric, paths, {}, frozenset(), frozenset(), frozenset(), {})
        if fails:  # the first try at `doc` fails, late: after its meters are worked out
            with monkeypatch.context() as patched:
                patched.setattr(incremental, "_check_clashes", _refuse)
                with pytest.raises(RuntimeError):
                    planner.update(inputs)
            continue
        planner.update(inputs)
    want = compile_config(config, {}, fabric=fabric, paths=paths)
    for dpid, plan in want.items():
        got = planner.by_dpid()[dpid]
        assert (got.best_effort, got.holds, got.meters, got.flows) == (
            plan.best_effort, plan.holds, plan.meters, plan.flows), plan.name


def _refuse(*_: object) -> None:
    raise RuntimeError("refused")


def test_a_networks_crossed_links_are_the_links_it_holds() -> None:
    doc, _ = _documents()
    config = parse_config(doc)
    paths = shadow_paths(config, Fabric(config))
    holders = meters.link_holders(paths)
    assert paths
    for name, pairs in paths.items():
        assert meters.crossed_links(pairs) == {
            link for link, names in holders.items() if name in names}
