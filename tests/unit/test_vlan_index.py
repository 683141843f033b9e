"""One network's VLAN ids assigned alone equal the whole assignment's, or the whole one decides.

Random edits (networks added under names whose homes collide with ids in use,
removed, given explicit ids, replaced as they were) go through `with_network`;
after each, its answer must be the whole parse's (or None), the ids
`edited_ids` finds for the edited network must be the ones the whole parse
gives it, and the index kept for the new configuration must be the one built
from scratch.
"""

from __future__ import annotations

import copy
import random

import pytest

from bench import fabric_gen
from sdn_shadow.config import ConfigError, parse_config
from sdn_shadow.config.assemble import VLAN_BASE_MIRROR, VLAN_BASE_NETWORK, VLAN_BASE_SHADOW
from sdn_shadow.config.model import Config
from sdn_shadow.config.partial import with_network
from sdn_shadow.config.vlan_index import VlanIndex, edited_ids, home, vlans_of

RANGES = ((VLAN_BASE_NETWORK, VLAN_BASE_SHADOW), (VLAN_BASE_SHADOW, VLAN_BASE_MIRROR))


def _collider(rng: random.Random, config: Config, taken: set[str]) -> str:
    """A new network name whose network or shadow home is an id in use (or next to one)."""
    base, end = rng.choice(RANGES)
    used = {vlans_of(n)[0 if base == VLAN_BASE_NETWORK else 1] for n in config.networks
            if n.shadow is not None}
    targets = {v + d for v in used for d in (-1, 0) if base <= v + d < end}
    prefix = rng.choice(["a", "z"])  # sorts before or after the generated names
    return next(name for name in (f"{prefix}{i}" for i in range(10**6))
                if name not in taken and home(base, name) in targets)


def _edit(rng: random.Random, gen: fabric_gen.Fabric, doc: dict, config: Config
          ) -> tuple[dict, str]:
    networks = dict(doc["networks"])
    kind = rng.choice(["add", "add", "collide", "collide", "drop", "vlan", "same", "twin"])
    name = rng.choice(list(networks))
    if kind in ("add", "collide"):
        new, spec = gen.add_network(rng.choice([3, 4]))
        if kind == "collide":
            new = _collider(rng, config, set(networks))
        name, networks[new] = new, spec
    elif kind == "drop" and len(networks) > 2:
        del networks[name]
    elif kind == "vlan":  # explicit: an id in use, next to one, or any
        ids = [v for n in config.networks for v in vlans_of(n)]
        vid = rng.choice([rng.choice(ids), rng.choice(ids) + 1, rng.randrange(100, 4000)])
        networks[name] = {**networks[name], "vlan": vid}
    elif kind == "twin":  # a twin's mirror id explicit
        spec = copy.deepcopy(networks[name])
        twin = next(iter(spec["shadow"]["hosts"].values()))
        twin["mirror_vlan"] = rng.randrange(3000, 4095)
        networks[name] = spec
    else:  # replaced as it was (a session edit's VLAN claims)
        networks[name] = copy.deepcopy(networks[name])
    return {**doc, "networks": networks}, name


def _index_equal(a: VlanIndex, b: VlanIndex) -> None:
    assert a.owner == b.owner
    assert a.away == b.away
    assert {k: [s[:3] for s in v] for k, v in a.slots.items()} == \
        {k: [s[:3] for s in v] for k, v in b.slots.items()}


@pytest.mark.parametrize("seed", range(4))
def test_edited_ids_equal_the_whole_assignment(seed: int) -> None:
    rng = random.Random(seed)
    gen = fabric_gen.fabric(fabric_gen.ring(5), 60, hosts_per_network=4, seed=seed)
    doc = copy.deepcopy(gen.document)
    config = parse_config(doc)
    alone = whole_only = 0
    for _ in range(60):
        new_doc, name = _edit(rng, gen, doc, config)
        try:
            whole: Config | None = parse_config(new_doc)
        except ConfigError:
            whole = None
        index = VlanIndex.of(config, new_doc["networks"], name)
        ids = edited_ids(index, new_doc["networks"], name)
        if ids is not None and whole is not None and name in new_doc["networks"]:
            alone += 1
            assert ids == vlans_of(whole.network(name))
            assert all(vlans_of(n) == vlans_of(whole.network(n.name))
                       for n in config.networks if n.name != name)
        elif ids is None:
            whole_only += 1
        got = with_network(config, new_doc, name)
        assert got is None or got == whole
        if whole is None:
            continue
        doc, config = new_doc, got if got is not None else whole
        if got is not None:  # the index kept for it is the one built from scratch
            kept = VlanIndex.of(got, doc["networks"], "")
            fresh = VlanIndex({}, {}, {})
            for net in got.networks:
                fresh._add(net, [])
            _index_equal(kept, fresh)
    assert alone > 10 and whole_only > 0, (alone, whole_only)


def test_a_network_added_takes_the_ids_a_fresh_parse_gives() -> None:
    gen = fabric_gen.fabric(fabric_gen.ring(5), 40, hosts_per_network=4)
    config = parse_config(gen.document)
    doc = gen.document
    for _ in range(5):
        name, spec = gen.add_network()
        doc = {**doc, "networks": {**doc["networks"], name: spec}}
        got = with_network(config, doc, name)
        assert got is not None and got == parse_config(doc)
        assert all(a is b for a, b in zip(got.networks, config.networks, strict=False))
        config = got
