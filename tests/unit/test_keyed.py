"""API changes as keys (api.keyed): a round trip gives the API's definition back, and file
edits to keys the API did not change survive the laying."""

from __future__ import annotations

import copy
import json

from hypothesis import given, settings
from hypothesis import strategies as st

from sdn_shadow.api.keyed import Item, decode, encode, merge, network_changes, show

KEYS = st.sampled_from(["a", "b", "c", "hosts", "shadow", "mirror", "x.y", "[1]"])
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.sampled_from(["s", "t"]))
SESSIONS = st.lists(st.fixed_dictionaries({"name": st.sampled_from(["m1", "m2", "m3"]),
                                           "sample": st.sampled_from([0.5, 1])}),
                    max_size=3, unique_by=lambda d: d["name"])
VALUES = st.recursive(st.one_of(SCALARS, SESSIONS),
                      lambda inner: st.dictionaries(KEYS, inner, max_size=3)
                      | st.lists(inner, max_size=2), max_leaves=12)
NETWORKS = st.dictionaries(KEYS, VALUES, max_size=4)


def _doc(net: dict | None) -> dict:
    return {"fabric": {}, "networks": {} if net is None else {"n": net}}


@settings(max_examples=300, deadline=None)
@given(file_net=st.one_of(st.none(), NETWORKS), api_net=st.one_of(st.none(), NETWORKS))
def test_the_api_s_definition_comes_back_over_the_file_it_was_made_on(file_net, api_net) -> None:
    file = _doc(file_net)
    changes = network_changes(file, "n", api_net, 10.0, "admin")
    merged = merge(copy.deepcopy(file), changes, file_time=5.0)
    assert merged.conflicts == []
    assert merged.document["networks"].get("n") == api_net
    for change in changes:  # paths survive their JSON form
        assert decode(encode(change.path)) == change.path


@settings(max_examples=300, deadline=None)
@given(file_net=NETWORKS, api_net=NETWORKS, key=KEYS, value=SCALARS)
def test_a_file_edit_to_a_key_the_api_left_alone_applies(file_net, api_net, key, value) -> None:
    file = _doc(file_net)
    changes = network_changes(file, "n", api_net, 10.0, "admin")
    touched = {c.path[2] for c in changes if len(c.path) > 2} | {
        None for c in changes if len(c.path) == 2}
    if key in touched or None in touched:
        return
    edited = copy.deepcopy(file)
    edited["networks"]["n"][key] = value
    merged = merge(edited, changes, file_time=20.0)
    assert merged.conflicts == []
    got = merged.document["networks"]["n"]
    assert got[key] == value
    assert {k: v for k, v in got.items() if k != key} == {
        k: v for k, v in api_net.items() if k != key}


def test_a_mirror_session_is_one_key_and_reads_as_one() -> None:
    file = _doc({"shadow": {"mirror": [{"name": "m1", "sample": 1}]}})
    api = {"shadow": {"mirror": [{"name": "m1", "sample": 1}, {"name": "m2", "sample": 0.5}]}}
    [change] = network_changes(file, "n", api, 1.0, "op")
    assert change.path == ("networks", "n", "shadow", "mirror", Item("m2"))
    assert show(change.path) == "networks.n.shadow.mirror[m2]"
    assert json.loads(change.value) == {"name": "m2", "sample": 0.5} and change.base is None
