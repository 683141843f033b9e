"""Frozen maps: changes are new maps, the old ones stay; order and equality as a dict's."""

from __future__ import annotations

import copy
import pickle
import random

import pytest

from sdn_shadow.frozen import SHARDS, FrozenMap, ShardedMap


@pytest.mark.parametrize("kind", [FrozenMap, ShardedMap])
def test_changes_are_new_maps_that_keep_a_dicts_order(kind: type) -> None:
    rng = random.Random(5)
    plain: dict[int, int] = {}
    m = kind()
    for _ in range(2000):
        key = rng.randrange(300)
        before, copied = m, dict(plain)
        if rng.random() < 0.3:
            plain.pop(key, None)
            m = m.without(key)
        else:
            plain[key] = rng.random()
            m = m.set(key, plain[key]) if rng.random() < 0.5 else m.updated({key: plain[key]})
        assert list(m.items()) == list(plain.items()) and len(m) == len(plain)
        assert before == copied  # the old map is as it was
    assert m == plain and m == kind(plain) and kind(plain) == m
    assert copy.deepcopy(m) == m and pickle.loads(pickle.dumps(m)) == m
    assert m.without(-1) is m and m.updated({}) is m


def test_a_sharded_change_copies_one_shard() -> None:
    m = ShardedMap({i: i for i in range(10 * SHARDS)})
    changed = m.set(3, -3)
    assert sum(a is not b for a, b in zip(m._shards, changed._shards, strict=True)) == 1
    assert changed[3] == -3 and m[3] == 3 and list(changed)[:4] == [0, 1, 2, 3]
