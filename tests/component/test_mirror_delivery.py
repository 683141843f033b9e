"""Mirror session `deliver`: copies addressed to their twin reach its port, not its stack."""

from __future__ import annotations

import pytest

from sdn_shadow.config import ConfigError, parse_config
from sdn_shadow.openflow.messages import GroupAction
from sdn_shadow.openflow.mirrors import readdressed
from tests.component.test_fabric import MAC, PORT, build, lab_data, send, tcp, udp
from tests.component.test_rest_api import Api


def _with(**session) -> dict:
    data = lab_data()
    data["networks"]["tenant-a"]["shadow"]["mirror"] = [
        {"name": "test", "hosts": ["h1"], **session}]
    return data


def test_readdressed_flips_the_locally_administered_bit_only() -> None:
    assert readdressed("00:00:00:00:0a:01") == "02:00:00:00:0a:01"
    assert readdressed("02:00:00:00:0a:01") == "00:00:00:00:0a:01"
    assert readdressed("5e:00:00:00:00:01") == "5c:00:00:00:00:01"  # still unicast
    assert readdressed("5e:00:00:00:00:01") != "5e:00:00:00:00:01"


def test_default_readdresses_what_the_source_receives_to_its_own_twin() -> None:
    config = parse_config(_with(direction="both", to=["h1s"]))
    assert config.network("tenant-a").shadow.mirror[0].deliver == "port"
    _, fabric = build(_with(direction="both", to=["h1s"]))
    back = send(fabric, "h2", udp("h2", "h1"))
    [copy_] = back[PORT["h1s"]]
    assert copy_["eth_dst"] == "02:00:00:00:0a:01"  # not h1s's own MAC: its kernel drops it
    assert {k: copy_[k] for k in ("eth_src", "ipv4_src", "ipv4_dst", "udp_dst")} == {
        "eth_src": MAC["h2"], "ipv4_src": "10.0.0.2", "ipv4_dst": "10.0.0.1", "udp_dst": 5201}
    [original] = back[PORT["h1"]]
    assert original["eth_dst"] == MAC["h1"]
    out = send(fabric, "h1", udp("h1", "h2"))
    assert out[PORT["h1s"]][0]["eth_dst"] == MAC["h2"]  # addressed to h2: left exact
    assert out[PORT["h2"]][0]["eth_dst"] == MAC["h2"]


def test_stack_keeps_copies_byte_exact() -> None:
    _, fabric = build(_with(direction="both", to=["h1s"], deliver="stack"))
    back = send(fabric, "h2", udp("h2", "h1"))
    assert back[PORT["h1s"]][0]["eth_dst"] == MAC["h1"]


def test_what_a_source_sends_to_a_twins_primary_is_readdressed_across_the_fabric() -> None:
    _, fabric = build(_with(direction="out", to=["h2s"]))  # h2s shares h2's MAC and IP
    [to_h2] = send(fabric, "h1", udp("h1", "h2"))[PORT["h2s"]]
    assert to_h2["eth_dst"] == "02:00:00:00:0a:02" and to_h2["vlan_vid"] == 0
    [to_h3] = send(fabric, "h1", udp("h1", "h3"))[PORT["h2s"]]
    assert to_h3["eth_dst"] == MAC["h3"]
    assert send(fabric, "h1", udp("h1", "h2"))[PORT["h2"]][0]["eth_dst"] == MAC["h2"]


def test_only_the_twin_the_copy_is_addressed_to_gets_it_readdressed() -> None:
    _, fabric = build(_with(direction="in", to=["h2s", "h1s"]))
    got = send(fabric, "h3", udp("h3", "h1"))  # h3: s1, so the copy to h2s crosses to s2
    assert got[PORT["h1s"]][0]["eth_dst"] == "02:00:00:00:0a:01"
    assert got[PORT["h2s"]][0]["eth_dst"] == MAC["h1"]  # h2s has another address
    assert got[PORT["h1"]][0]["eth_dst"] == MAC["h1"]


def test_a_twin_with_a_mac_of_its_own_gets_exact_copies() -> None:
    data = _with(direction="both", to=["h1s"])
    data["networks"]["tenant-a"]["shadow"]["hosts"]["h1s"]["mac"] = "00:00:00:00:1a:01"
    _, fabric = build(data)
    assert send(fabric, "h2", udp("h2", "h1"))[PORT["h1s"]][0]["eth_dst"] == MAC["h1"]


def test_readdressing_keeps_which_of_overlapping_sessions_copies() -> None:
    data = lab_data()
    data["networks"]["tenant-a"]["shadow"]["mirror"] = [
        {"name": "udp", "hosts": ["h1"], "match": {"proto": "udp"}, "to": ["h2s"]},
        {"name": "udp-5201", "hosts": ["h1"], "match": {"proto": "udp", "dst_port": 5201},
         "to": ["h1s"]}]
    _, fabric = build(data)
    got = send(fabric, "h1", udp("h1", "h2"))  # both match: the more specific session copies
    assert PORT["h1s"] in got and PORT["h2s"] not in got
    [copy_] = send(fabric, "h1", udp("h1", "h2", dport=5202))[PORT["h2s"]]
    assert copy_["eth_dst"] == "02:00:00:00:0a:02"


@pytest.mark.parametrize("deliver,groups", [("port", 2), ("stack", 1)])
def test_both_directions_share_a_group_unless_readdressed(deliver, groups) -> None:
    core, _ = build(_with(direction="both", to=["h1s"], deliver=deliver))
    plan = core.plan(1)
    assert len(plan.groups) == groups
    assert {info.session for info in plan.mirror_groups.values()} == {"test"}
    assert set(plan.mirror_groups) == set(plan.groups)  # every copy group is counted
    used = {a.group_id for f in plan.flows.values() for i in f.instructions
            for a in getattr(i, "actions", ()) if isinstance(a, GroupAction)}
    assert used == set(plan.groups)


def test_truncated_copies_are_readdressed_and_the_original_restored() -> None:
    core, fabric = build(_with(direction="both", to=["h1s", "h2s"], truncate=64))
    back = send(fabric, "h3", udp("h3", "h1", length=1400))
    assert back[PORT["h1s"]][0]["eth_dst"] == "02:00:00:00:0a:01"
    assert back[PORT["h1s"]][0]["length"] == 64
    assert back[PORT["h2s"]][0]["eth_dst"] == MAC["h1"]
    assert back[PORT["h1"]][0]["eth_dst"] == MAC["h1"]
    assert back[PORT["h1"]][0]["length"] == 1400
    out = send(fabric, "h1", udp("h1", "h2", length=1400))
    assert out[PORT["h2s"]][0]["eth_dst"] == "02:00:00:00:0a:02"
    assert out[PORT["h1s"]][0]["eth_dst"] == MAC["h2"]
    assert out[PORT["h2"]][0]["eth_dst"] == MAC["h2"] and out[PORT["h2"]][0]["length"] == 1400
    flows = core.plan(1).mirror_flows
    assert set(flows.values()) == {"test"} and len(flows) == 3  # out, out to h2, in


def test_a_sampled_connection_is_copied_in_both_directions_or_not_at_all() -> None:
    _, fabric = build(_with(direction="both", to=["h1s"], sample=0.5))
    decisions = set()
    for sport in range(40000, 40064):
        there = PORT["h1s"] in send(fabric, "h1", tcp("h1", "h2", sport=sport))
        back = send(fabric, "h2", tcp("h2", "h1", sport=80, dport=sport))
        decisions.add((there, PORT["h1s"] in back))
    assert decisions == {(True, True), (False, False)}


@pytest.mark.parametrize("value", ["capture", True, 1])
def test_an_unknown_delivery_is_refused_with_its_key_path(value) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(_with(direction="both", to=["h1s"], deliver=value))
    [line] = info.value.lines()
    assert line.startswith("networks.tenant-a.shadow.mirror[0].deliver: must be one of: "
                           "port, stack")


def test_the_api_shows_and_changes_a_sessions_delivery() -> None:
    api = Api()
    session = {"name": "h1-web", "hosts": ["h1"], "direction": "both", "to": ["h3s"]}
    r = api.post("/networks/tenant-a/mirror-sessions", session)
    assert r.status_code == 201 and r.json()["deliver"] == "port", r.text
    assert "deliver" not in r.json()["spec"]  # the default, in force
    r = api.put("/networks/tenant-a/mirror-sessions/h1-web", {**session, "deliver": "stack"})
    assert r.status_code == 200 and r.json()["deliver"] == "stack", r.text
    r = api.put("/networks/tenant-a/mirror-sessions/h1-web", {**session, "deliver": "pcap"})
    assert r.status_code == 400
    assert r.json()["errors"][0]["field"] == "networks.tenant-a.shadow.mirror[0].deliver"
    assert api.get("/networks/tenant-a/mirror-sessions/h1-web").json()["deliver"] == "stack"
