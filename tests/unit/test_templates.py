"""Placement templates: validation with key paths, fidelity, rendering, merging, profiles, CLI."""

from __future__ import annotations

import argparse
import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from sdn_shadow.analytics.emulated_vm import Estimate, ResourceProfile
from sdn_shadow.config import AllocationSettings, load_config, parse_config, read_document
from sdn_shadow.openflow.compiler import compile_config
from sdn_shadow.templates import (
    ScaleRule,
    Scaling,
    Sources,
    TemplateError,
    VmType,
    check_alone,
    fit_verdict,
    host_profiles,
    instantiate,
    load_instance,
    load_template,
    mirror_sessions,
    parse_instance,
    parse_template,
    render,
)
from sdn_shadow.templates.command import add_parser, predict
from tests.datasets import CORPUS, SAMPLES

ROOT = Path(__file__).resolve().parents[2]
LAB = ROOT / "examples" / "lab.yaml"
WEB_TIER = ROOT / "examples" / "templates" / "web-tier.yaml"

VM_TYPES = {"web": {"cpu_cores": 2, "memory_gb": 4, "bandwidth_mbps": 1000, "storage_gb": 40}}


def _template(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"name": "web-tier", "vm_types": copy.deepcopy(VM_TYPES)}
    data.update(overrides)
    return data


def _instance(**overrides: Any) -> dict[str, Any]:
    """Two hosts in lab.yaml's fabric on free ports (s1: 5, 6; s2: 2, 5), each with a twin."""
    data: dict[str, Any] = {"network": "web", "cidr": "10.1.0.0/24", "hosts": {
        "w1": {"switch": "s1", "port": 5, "mac": "00:00:00:00:0c:01", "ip": "10.1.0.1",
               "vm_type": "web", "twin": {"switch": "s1", "port": 6}},
        "w2": {"switch": "s2", "port": 2, "mac": "00:00:00:00:0c:02", "ip": "10.1.0.2",
               "vm_type": "web", "twin": {"switch": "s2", "port": 5}},
    }}
    data.update(overrides)
    return data


def _problems(err: TemplateError) -> list[tuple[str, str]]:
    return [(path, reason) for _, path, reason in err.entries]


def _template_problems(data: Any) -> list[tuple[str, str]]:
    with pytest.raises(TemplateError) as info:
        parse_template(data)
    return _problems(info.value)


def _example_instance() -> dict[str, Any]:
    """The instance documented in the example template's comment block."""
    text = WEB_TIER.read_text()
    block = text.split("# --- instance ---\n", 1)[1].split("# --- end of instance ---", 1)[0]
    return yaml.safe_load("\n".join(line.removeprefix("#").removeprefix(" ")
                                    for line in block.splitlines()))


@pytest.fixture
def password_file(tmp_path: Path) -> str:
    path = tmp_path / "ldap-password"
    path.write_text("secret\n")
    return str(path)


def _ldap(password_file: str) -> dict[str, Any]:
    return {"url": "ldap://127.0.0.1:389", "bind_dn": "cn=admin,dc=example,dc=org",
            "password_file": password_file, "primary_base": "ou={network},dc=example,dc=org",
            "shadow_base": "ou={network}-shadow,dc=example,dc=org"}


# --- template validation ----------------------------------------------------------------------


def test_the_example_template_is_valid_and_complete() -> None:
    template = load_template(WEB_TIER)
    assert (template.name, template.shadow_enabled, template.fidelity) == (
        "web-tier", True, "full")
    assert [t.name for t in template.vm_types] == ["web", "web-large"]
    assert template.vm_type("web") == VmType("web", 1, 1, 100, 40)
    assert template.scaling.cpu == ScaleRule(0.8, 60, 0.3)
    assert template.scaling.memory == ScaleRule(0.85, 120, None)
    assert template.allocation == AllocationSettings("conservative", 0, 0.1, False, 20, 1)
    assert template.ldap is None


def test_defaults() -> None:
    template = parse_template(_template())
    assert template.shadow_enabled and template.fidelity == "full"
    assert template.allocation is None and template.scaling == Scaling()
    assert template.vm_type("web").storage_gb == 40


@pytest.mark.parametrize(("overrides", "path", "reason"), [
    ({"colour": "blue"}, "colour", "unknown key (expected one of: allocation, description, "
     "differential, fidelity, ldap, name, scaling, shadow_enabled, vm_types)"),
    ({"name": "web tier"}, "name", "must be a name matching [A-Za-z0-9][A-Za-z0-9_.-]*"),
    ({"shadow_enabled": "yes"}, "shadow_enabled", "must be true or false"),
    ({"fidelity": "mirror"}, "fidelity", "must be one of: full, differential, event"),
    ({"differential": {"sample": 0.5}}, "differential",
     "only used with fidelity: differential (this template has full)"),
    ({"fidelity": "differential", "differential": {"sample": 0}}, "differential.sample",
     "must be in (0, 1]"),
    ({"fidelity": "differential", "differential": {"sample": 0.001}}, "differential.sample",
     "must be at least 1/256"),
    ({"fidelity": "differential", "differential": {"truncate": 32}}, "differential.truncate",
     "must be in 64..65535"),
    ({"fidelity": "differential", "differential": {"sample": 0.5, "truncate": 128}},
     "differential.truncate", "cannot be combined with sample < 1 (Open vSwitch ignores "
     "truncation inside the select group that samples)"),
    ({"fidelity": "differential", "differential": {"every": 2}}, "differential.every",
     "unknown key (expected one of: sample, truncate)"),
    ({"fidelity": "event"}, "ldap", "required with fidelity: event (the shadow mirrors "
     "configuration events, not traffic)"),
    ({"shadow_enabled": False, "allocation": {"floor": 1}}, "allocation",
     "has no effect with shadow_enabled: false (leave it out)"),
    ({"allocation": {"strategy": "bold"}}, "allocation.strategy",
     "must be one of: conservative, aggressive, dynamic"),
    ({"allocation": {"floor": -1}}, "allocation.floor", "must be >= 0"),
    ({"allocation": {"size": 3}}, "allocation.size", "unknown key (expected one of: floor, "
     "forecast_only, hysteresis, instance_capacity, instances, strategy)"),
    ({"allocation": [1]}, "allocation", "must be a mapping"),
    ({"scaling": {"disk": {"above": 0.5, "for": 1}}}, "scaling.disk",
     "unknown key (expected one of: cpu, memory, network)"),
    ({"scaling": {"cpu": {"above": 1.5, "for": 60}}}, "scaling.cpu.above", "must be in (0, 1]"),
    ({"scaling": {"cpu": {"above": 0.8}}}, "scaling.cpu.for", "required"),
    ({"scaling": {"network": {"above": 0.8, "for": 0}}}, "scaling.network.for", "must be > 0"),
    ({"scaling": {"memory": {"above": 0.8, "for": 5, "below": 0.8}}}, "scaling.memory.below",
     "must be below scaling.memory.above (0.8)"),
    ({"scaling": {"cpu": {"above": True, "for": 5}}}, "scaling.cpu.above", "must be a number"),
    ({"vm_types": {}}, "vm_types", "must not be empty"),
    ({"vm_types": {"web": {"cpu_cores": 0, "memory_gb": 1, "bandwidth_mbps": 1}}},
     "vm_types.web.cpu_cores", "must be > 0"),
    ({"vm_types": {"web": {"cpu_cores": 1, "memory_gb": 1, "bandwidth_mbps": 1,
                           "storage_gb": -1}}}, "vm_types.web.storage_gb", "must be >= 0"),
    ({"vm_types": {"web": {"cpu_cores": 1, "memory_gb": 1}}}, "vm_types.web.bandwidth_mbps",
     "required"),
    ({"vm_types": {"web": {"cpu_cores": 1, "memory_gb": 1, "bandwidth_mbps": 1, "gpus": 1}}},
     "vm_types.web.gpus",
     "unknown key (expected one of: bandwidth_mbps, cpu_cores, memory_gb, storage_gb)"),
])
def test_template_problems_name_the_key_path(overrides: dict, path: str, reason: str) -> None:
    assert _template_problems(_template(**overrides)) == [(path, reason)]


def test_every_template_problem_is_reported_at_once() -> None:
    problems = _template_problems({"vm_types": {"x": {"cpu_cores": -1, "memory_gb": 1,
                                                      "bandwidth_mbps": 1}},
                                   "fidelity": "event", "scaling": {"cpu": []}})
    assert problems == [
        ("name", "required"),
        ("ldap", "required with fidelity: event (the shadow mirrors configuration events, "
                 "not traffic)"),
        ("scaling.cpu", "must be a mapping"),
        ("vm_types.x.cpu_cores", "must be > 0")]


def test_the_template_is_a_mapping_and_names_its_source() -> None:
    with pytest.raises(TemplateError) as info:
        parse_template(["name"], source="t.yaml")
    assert info.value.lines() == ["t.yaml: <root>: must be a mapping"]


def test_ldap_is_checked_by_the_config_parser(password_file: str) -> None:
    ldap = _ldap(password_file) | {"url": "http://x", "colour": 1}
    problems = _template_problems(_template(ldap=ldap))
    assert ("ldap.url", "expected ldap://HOST:PORT") in problems
    assert ("ldap.colour", "unknown key (expected one of: bind_dn, ca_file, interval, "
            "password_file, primary_base, revert_drift, rules, shadow_base, url)") in problems
    assert all(path.startswith("ldap.") for path, _ in problems)


def test_differential_defaults_sample_a_quarter_or_truncate_everything() -> None:
    sampled = parse_template(_template(fidelity="differential"))
    assert (sampled.differential.sample, sampled.differential.truncate) == (0.25, None)
    headers = parse_template(_template(fidelity="differential",
                                       differential={"truncate": 128}))
    assert (headers.differential.sample, headers.differential.truncate) == (1.0, 128)


# --- instances --------------------------------------------------------------------------------


def test_instance_problems_name_the_key_path() -> None:
    template = parse_template(_template(vm_types=VM_TYPES | {"big": VM_TYPES["web"]}))
    data = _instance()
    data["hosts"]["w1"].update(vm_type="huge", mac=1234, capture_ip="nope", colour="red")
    del data["hosts"]["w2"]["vm_type"]
    data["hosts"]["w2"]["twin"] = {"switch": "s2", "port": 5, "name": "w1s"}
    data["cidr"] = 24
    with pytest.raises(TemplateError) as info:
        parse_instance(data, template, source="i.yaml")
    assert info.value.lines() == [
        "i.yaml: cidr: must be an IPv4 network like 10.0.0.0/24",
        "i.yaml: hosts.w1.colour: unknown key (expected one of: capture_ip, ip, mac, port, "
        "switch, twin, vm_type)",
        'i.yaml: hosts.w1.mac: must be a quoted MAC address string like "00:00:00:00:00:01"',
        "i.yaml: hosts.w1.vm_type: unknown VM type huge (template web-tier has: web, big)",
        "i.yaml: hosts.w1.capture_ip: must be an IP address",
        "i.yaml: hosts.w2.vm_type: required",
        "i.yaml: hosts.w2.twin.name: twin name w1s already used by hosts.w1.twin",
    ]


def test_a_single_vm_type_is_the_default_and_twins_are_named_after_hosts() -> None:
    data = _instance()
    del data["hosts"]["w1"]["vm_type"]
    instance = parse_instance(data, parse_template(_template()))
    assert instance.host("w1").vm_type == "web"
    assert instance.host("w1").twin.name == "w1s"


def test_a_shadow_needs_a_twin_and_no_shadow_allows_none() -> None:
    data = _instance()
    for host in data["hosts"].values():
        del host["twin"]
    with pytest.raises(TemplateError) as info:
        parse_instance(data, parse_template(_template()))
    assert _problems(info.value) == [
        ("hosts", "template web-tier has a shadow: give at least one host a twin: "
                  "{switch, port}")]
    with pytest.raises(TemplateError) as info:
        parse_instance(_instance(), parse_template(_template(shadow_enabled=False)))
    assert _problems(info.value) == [
        ("hosts.w1.twin", "template web-tier has shadow_enabled: false"),
        ("hosts.w2.twin", "template web-tier has shadow_enabled: false")]


def test_instances_load_from_json(tmp_path: Path) -> None:
    path = tmp_path / "web.json"
    path.write_text(json.dumps(_instance()))
    instance = load_instance(path, parse_template(_template()))
    assert [h.name for h in instance.hosts] == ["w1", "w2"]
    assert instance.host("w2").twin.port == 5


# --- fidelity ---------------------------------------------------------------------------------


def _rendered(template: dict, instance: dict | None = None) -> dict:
    t = parse_template(template)
    return render(t, parse_instance(instance or _instance(), t))


def test_full_fidelity_mirrors_both_directions_of_each_host_with_a_twin() -> None:
    data = _instance()
    data["hosts"]["w3"] = {"switch": "s1", "port": 7, "mac": "00:00:00:00:0c:03",
                           "ip": "10.1.0.3", "vm_type": "web"}  # no twin: no session
    shadow = _rendered(_template(), data)["shadow"]
    assert shadow["mirror"] == [
        {"name": "web.w1-both", "hosts": ["w1"], "direction": "both", "to": ["w1s"]},
        {"name": "web.w2-both", "hosts": ["w2"], "direction": "both", "to": ["w2s"]}]
    assert shadow["hosts"] == {"w1s": {"twin": "w1", "switch": "s1", "port": 6},
                               "w2s": {"twin": "w2", "switch": "s2", "port": 5}}
    assert "ldap" not in shadow and "allocation" not in shadow


def test_differential_fidelity_samples_or_truncates_what_each_host_receives() -> None:
    sampled = _rendered(_template(fidelity="differential"))["shadow"]["mirror"]
    assert sampled[0] == {"name": "web.w1-in", "hosts": ["w1"], "direction": "in",
                          "to": ["w1s"], "sample": 0.25}
    headers = _rendered(_template(fidelity="differential", differential={"truncate": 96}))
    assert headers["shadow"]["mirror"][1] == {"name": "web.w2-in", "hosts": ["w2"],
                                              "direction": "in", "to": ["w2s"], "truncate": 96}


def test_event_fidelity_mirrors_no_traffic_only_ldap(password_file: str) -> None:
    shadow = _rendered(_template(fidelity="event", ldap=_ldap(password_file)))["shadow"]
    assert "mirror" not in shadow
    assert shadow["ldap"]["primary_base"] == "ou=web,dc=example,dc=org"
    assert shadow["ldap"]["shadow_base"] == "ou=web-shadow,dc=example,dc=org"


@pytest.mark.parametrize("fidelity", ["full", "differential"])
def test_ldap_goes_with_traffic_fidelities_too(fidelity: str, password_file: str) -> None:
    ldap = _ldap(password_file) | {"rules": [{"map": "ipHostNumber=10.0.0.1:{network}"}]}
    shadow = _rendered(_template(fidelity=fidelity, ldap=ldap))["shadow"]
    assert len(shadow["mirror"]) == 2
    assert shadow["ldap"]["rules"] == [{"map": "ipHostNumber=10.0.0.1:web"}]
    assert shadow["ldap"]["password_file"] == password_file


def test_no_shadow_means_no_shadow_key() -> None:
    template = parse_template(_template(shadow_enabled=False))
    data = _instance()
    for host in data["hosts"].values():
        del host["twin"]
    instance = parse_instance(data, template)
    document = render(template, instance)
    assert set(document) == {"cidr", "hosts"}
    assert mirror_sessions(template, instance) == []
    config = check_alone(template, instance)
    assert config.network("web").shadow is None


# --- merging into a config --------------------------------------------------------------------


def _sessions_by_switch(config) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for plan in compile_config(config).values():
        names = {info.session for info in plan.mirror_groups.values()}
        names |= set(plan.mirror_flows.values())
        out[plan.name] = names
    return out


def test_the_example_instance_merges_into_the_lab_and_compiles() -> None:
    template = load_template(WEB_TIER)
    instance = parse_instance(_example_instance(), template)
    original = read_document(LAB)
    before = copy.deepcopy(original)
    document, config = instantiate(template, instance, original)
    assert original == before  # the input document is not changed
    assert set(document["networks"]) == {"tenant-a", "tenant-b", "web"}
    assert parse_config(document) == config
    web = config.network("web")
    assert [(s.name, s.sources, s.direction, s.to, s.sample) for s in web.shadow.mirror] == [
        ("web.w1-both", ("w1",), "both", ("w1s",), 1.0),
        ("web.w2-both", ("w2",), "both", ("w2s",), 1.0)]
    assert web.shadow.allocation.instance_capacity == 20
    sessions = _sessions_by_switch(config)
    assert sessions["s1"] == {"h1-both", "h3-udp-out", "web.w1-both"}
    assert sessions["s2"] == {"h2-in", "web.w2-both"}


def test_differential_sessions_compile_to_sampling_groups_or_truncating_flows() -> None:
    lab = read_document(LAB)
    t = parse_template(_template(fidelity="differential"))
    _, config = instantiate(t, parse_instance(_instance(), t), lab)
    s1 = next(p for p in compile_config(config).values() if p.name == "s1")
    [group_id] = [g for g, info in s1.mirror_groups.items() if info.session == "web.w1-in"]
    assert s1.groups[group_id].type == "select" and len(s1.groups[group_id].buckets) == 4
    t = parse_template(_template(fidelity="differential", differential={"truncate": 128}))
    _, config = instantiate(t, parse_instance(_instance(), t), lab)
    assert "web.w2-in" in _sessions_by_switch(config)["s2"]
    s2 = next(p for p in compile_config(config).values() if p.name == "s2")
    assert "web.w2-in" in s2.mirror_flows.values()  # truncation copies inline


def test_a_bad_instance_is_reported_at_its_key_paths_and_changes_nothing() -> None:
    template = load_template(WEB_TIER)
    data = _example_instance()
    data["hosts"]["w1"]["port"] = 1          # h1's port on s1
    data["hosts"]["w2"]["ip"] = "10.9.0.2"   # outside 10.1.0.0/24
    data["hosts"]["w2"]["twin"]["port"] = 4  # h2s's port on s2
    original = read_document(LAB)
    before = copy.deepcopy(original)
    with pytest.raises(TemplateError) as info:
        instantiate(template, parse_instance(data, template), original,
                    Sources("web-tier.yaml", "web.yaml", "lab.yaml"))
    assert info.value.lines() == [
        "web.yaml: hosts.w1: port s1:1 already used by networks.tenant-a.hosts.h1",
        "web.yaml: hosts.w2.ip: 10.9.0.2 is not in 10.1.0.0/24",
        "web.yaml: hosts.w2.twin: port s2:4 already used by networks.tenant-a.shadow.hosts.h2s",
    ]
    assert original == before


def test_an_existing_network_name_is_refused() -> None:
    template = parse_template(_template())
    with pytest.raises(TemplateError) as info:
        instantiate(template, parse_instance(_instance(network="tenant-a"), template),
                    read_document(LAB))
    assert info.value.entries == [
        ("instance", "network", "tenant-a already exists in the config (networks.tenant-a)")]


def test_problems_land_on_the_right_host_even_with_similar_names() -> None:
    data = _instance()
    data["hosts"]["w1"]["twin"]["name"] = "t1"
    data["hosts"]["w10"] = {"switch": "s1", "port": 7, "mac": "00:00:00:00:0c:10",
                            "ip": "10.1.0.300", "vm_type": "web",
                            "twin": {"switch": "s1", "port": 8, "mac": "00:00:00:00:0c:01",
                                     "name": "t10"}}
    template = parse_template(_template())
    with pytest.raises(TemplateError) as info:
        check_alone(template, parse_instance(data, template))
    assert _problems(info.value) == [
        ("hosts.w10.ip", "must be an IPv4 address"),
        ("hosts.w10.twin.mac", "MAC 00:00:00:00:0c:01 already used by "
                               "networks.web.shadow.hosts.t1")]


def test_a_standalone_check_finds_the_networks_own_problems() -> None:
    template = parse_template(_template())
    config = check_alone(template, parse_instance(_instance(), template))
    assert {s.name for s in config.switches} == {"s1", "s2"}
    data = _instance(cidr="10.1.0.0/33")
    with pytest.raises(TemplateError) as info:
        check_alone(template, parse_instance(data, template))
    assert _problems(info.value) == [("cidr", "must be an IPv4 network like 10.0.0.0/24")]


def test_template_allocation_reaches_the_config() -> None:
    template = parse_template(_template(allocation={"strategy": "dynamic", "floor": 5}))
    _, config = instantiate(template, parse_instance(_instance(), template),
                            read_document(LAB))
    allocation = config.network("web").shadow.allocation
    assert (allocation.strategy, allocation.floor) == ("dynamic", 5.0)


# --- profiles ---------------------------------------------------------------------------------


def _profile(cpu: float, memory: float, mbps: float, disk: float) -> ResourceProfile:
    e = {name: Estimate(v / 2, v / 4, v) for name, v in (
        ("cpu_cores", cpu), ("memory_gb", memory), ("bandwidth_mbps", mbps),
        ("storage_gb", disk), ("latency_ms", 5), ("connection_rate", 1))}
    return ResourceProfile(**e, provisioned={}, level=0.9, horizon_seconds=1)


SCALING = Scaling(cpu=ScaleRule(0.8, 60, 0.3), memory=ScaleRule(0.85, 120),
                  network=ScaleRule(0.7, 30, 0.2))
SMALL = VmType("small", 2, 4, 100, 40)


@pytest.mark.parametrize(("profile", "verdict"), [
    (_profile(1.0, 2.0, 50, 20), "fits"),
    (_profile(3.1, 2.0, 50, 20), "scale out: cpu upper 3.1 cores > 0.8 x 2 cores"),
    (_profile(1.0, 3.5, 80, 41), "scale out: memory upper 3.5 GB > 0.85 x 4 GB; network upper "
                                 "80 Mbit/s > 0.7 x 100 Mbit/s; storage upper 41 GB > 40 GB"),
    (_profile(0.5, 2.0, 10, 20), "fits; could scale in: cpu upper 0.5 cores < 0.3 x 2 cores; "
                                 "network upper 10 Mbit/s < 0.2 x 100 Mbit/s"),
    (_profile(0.5, 2.0, 30, 20), "fits"),  # network not below its scale-in threshold
])
def test_fit_verdicts(profile: ResourceProfile, verdict: str) -> None:
    assert fit_verdict(SMALL, SCALING, profile) == verdict


def test_without_rules_a_resource_is_judged_at_full_capacity() -> None:
    assert fit_verdict(VmType("x", 2, 4, 100), Scaling(), _profile(1.9, 3.9, 99, 500)) == "fits"
    assert fit_verdict(VmType("x", 2, 4, 100), Scaling(), _profile(2.1, 1, 1, 1)) == (
        "scale out: cpu upper 2.1 cores > 1 x 2 cores")


def test_profiles_without_a_capture_are_capacities_and_rules() -> None:
    template = load_template(WEB_TIER)
    instance = parse_instance(_example_instance(), template)
    profiles = host_profiles(template, instance)
    assert [(p.host, p.vm_type.name, p.predicted, p.verdict) for p in profiles] == [
        ("w1", "web", None, ""), ("w2", "web-large", None, "")]
    assert profiles[1].to_dict()["capacity"] == {"cpu_cores": 4, "memory_gb": 8,
                                                 "bandwidth_mbps": 1000, "storage_gb": 100}
    assert profiles[0].to_dict()["scaling"]["cpu"] == {"above": 0.8, "for": 60, "below": 0.3}


@pytest.fixture(params=[
    # the lab's HTTP server h2, loaded by two users for 8 s (12 one-second samples)
    pytest.param((SAMPLES / "pcaps" / "normal" / "lab_http_users.pcap", "10.0.0.2"),
                 id="lab_http_users"),
    # the browser in the capture: it sends and receives the traffic
    pytest.param((CORPUS / "pcaps" / "normal" / "ppa3_http_espn.pcapng", "172.16.0.122"),
                 marks=pytest.mark.corpus, id="corpus/ppa3_http_espn"),
])
def real_capture(request: pytest.FixtureRequest) -> tuple[Path, str]:
    """A capture of web traffic, and the address whose load it shows."""
    return request.param


def test_profiles_from_a_real_capture(real_capture: tuple[Path, str]) -> None:
    capture, address = real_capture
    template = parse_template(_template(
        scaling={"cpu": {"above": 0.8, "for": 60}},
        vm_types={"big": {"cpu_cores": 2, "memory_gb": 4, "bandwidth_mbps": 1000},
                  "tiny": {"cpu_cores": 0.1, "memory_gb": 4, "bandwidth_mbps": 1000}}))
    data = _instance()
    data["hosts"]["w1"].update(vm_type="big", capture_ip=address)
    data["hosts"]["w2"].update(vm_type="tiny", capture_ip=address)
    data["hosts"]["w3"] = {"switch": "s1", "port": 7, "mac": "00:00:00:00:0c:03",
                           "ip": "10.1.0.3", "vm_type": "big"}  # not in the capture
    instance = parse_instance(data, template)
    predicted = predict(str(capture), instance, 1.0, 0.9)
    assert predicted["w1"] is predicted["w2"]  # one address, fitted once
    assert predicted["w3"] == "no traffic to or from 10.1.0.3 in the capture"
    w1, w2, w3 = host_profiles(template, instance, predicted)
    cpu = predicted["w1"].cpu_cores
    assert 0.08 < cpu.upper < 0.8 * 2, "between what the tiny and the big type hold"
    assert 0 < cpu.lower <= cpu.value <= cpu.upper
    assert (w1.address, w1.verdict) == (address, "fits")
    assert w2.verdict == f"scale out: cpu upper {cpu.upper:.3g} cores > 0.8 x 0.1 cores"
    assert (w3.predicted, w3.verdict) == (None, "no traffic to or from 10.1.0.3 in the capture")
    assert w1.to_dict()["predicted"]["cpu_cores"]["upper"] == cpu.upper


# --- the command ------------------------------------------------------------------------------


def _main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="sdn-shadow")
    add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


@pytest.fixture
def instance_file(tmp_path: Path) -> Path:
    path = tmp_path / "web.yaml"
    path.write_text(yaml.safe_dump(_example_instance()))
    return path


@pytest.fixture
def captured_instance(tmp_path: Path, real_capture: tuple[Path, str]) -> Path:
    """The example instance, its w1 at the address whose load the capture shows."""
    data = _example_instance()
    data["hosts"]["w1"]["capture_ip"] = real_capture[1]
    path = tmp_path / "web.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_check_ok(capsys) -> None:
    assert _main(["template", "check", str(WEB_TIER)]) == 0
    assert capsys.readouterr().out == (
        f"{WEB_TIER}: ok (template web-tier: shadow, fidelity full; VM types web, web-large; "
        "scaling cpu, memory, network)\n")


def test_check_bad_exits_2_with_key_paths(tmp_path: Path, capsys) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(_template(fidelity="all", colour=1)))
    assert _main(["template", "check", str(WEB_TIER), str(bad)]) == 2
    out, err = capsys.readouterr()
    assert "web-tier.yaml: ok" in out
    assert err.splitlines() == [
        f"{bad}: colour: unknown key (expected one of: allocation, description, differential, "
        "fidelity, ldap, name, scaling, shadow_enabled, vm_types)",
        f"{bad}: fidelity: must be one of: full, differential, event"]
    assert _main(["template", "check", str(tmp_path / "nope.yaml")]) == 2
    assert capsys.readouterr().err.startswith(f"{tmp_path / 'nope.yaml'}: <file>: cannot read")


def test_render_prints_yaml_that_loads_and_profiles_as_comments(instance_file: Path,
                                                                 capsys) -> None:
    assert _main(["template", "render", str(WEB_TIER), "--instance", str(instance_file)]) == 0
    out = capsys.readouterr().out
    data = yaml.safe_load(out)
    assert list(data["networks"]) == ["web"]
    assert data["networks"]["web"]["hosts"]["w1"] == {
        "switch": "s1", "port": 5, "mac": "00:00:00:00:0c:01", "ip": "10.1.0.1"}
    assert "# network web: valid on its own (2 hosts, 2 twins, 2 mirror sessions)" in out
    assert "# w2          web-large          4       8     1000      100" in out
    assert "# scaling: cpu out above 0.8 for 60 s, in below 0.3;" in out


def test_render_merges_validates_and_writes_the_config(instance_file: Path, tmp_path: Path,
                                                       capsys) -> None:
    merged = tmp_path / "lab-web.yaml"
    assert _main(["template", "render", str(WEB_TIER), "--instance", str(instance_file),
                  "--config", str(LAB), "--write", str(merged)]) == 0
    out = capsys.readouterr().out
    assert f"valid merged into {LAB} (2 hosts, 2 twins, 2 mirror sessions; 3 networks in " \
           f"all); merged config written to {merged}" in out
    config = load_config(merged)
    assert [n.name for n in config.networks] == ["tenant-a", "tenant-b", "web"]
    assert config.network("tenant-a") == load_config(LAB).network("tenant-a")


def test_render_refuses_a_bad_instance_and_writes_nothing(tmp_path: Path, capsys) -> None:
    data = _example_instance()
    data["hosts"]["w1"]["port"] = 1
    data["hosts"]["w2"]["ip"] = "10.9.0.2"
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(data))
    merged = tmp_path / "merged.yaml"
    assert _main(["template", "render", str(WEB_TIER), "--instance", str(bad), "--config",
                  str(LAB), "--write", str(merged), "--json", str(tmp_path / "out.json")]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines() == [
        f"{bad}: hosts.w1: port s1:1 already used by networks.tenant-a.hosts.h1",
        f"{bad}: hosts.w2.ip: 10.9.0.2 is not in 10.1.0.0/24"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.yaml"]


@pytest.mark.parametrize(("extra", "message"), [
    (["--write", "x.yaml"], "--write needs --config (the config to merge the network into)"),
    (["--level", "2"], "--level '2': must be between 0 and 1 (exclusive)"),
    (["--interval", "0"], "--interval: must be a positive number of seconds, not 0"),
    (["--capture", str(LAB)], "not a pcap or pcapng capture"),
])
def test_render_bad_options_exit_2_with_one_line(extra: list[str], message: str,
                                                 instance_file: Path, capsys) -> None:
    assert _main(["template", "render", str(WEB_TIER), "--instance", str(instance_file),
                  *extra]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith("sdn-shadow template render: ")
    assert message in err[0]


def test_render_with_a_capture_as_json(captured_instance: Path, real_capture: tuple[Path, str],
                                       capsys) -> None:
    capture, address = real_capture
    assert _main(["template", "render", str(WEB_TIER), "--instance", str(captured_instance),
                  "--capture", str(capture), "--json", "-"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["network"] == "web" and data["template"] == "web-tier"
    assert data["document"]["shadow"]["mirror"][0]["name"] == "web.w1-both"
    w1, w2 = data["profiles"]
    assert w1["address"] == address and w1["vm_type"] == "web"
    assert w1["verdict"].startswith("fits")
    assert 0 < w1["predicted"]["cpu_cores"]["upper"] < 0.8
    assert w2["predicted"] is None
    assert w2["verdict"] == "no traffic to or from 10.1.0.2 in the capture"


def test_render_with_a_capture_prints_the_verdicts_and_writes_json(
        captured_instance: Path, real_capture: tuple[Path, str], tmp_path: Path,
        capsys) -> None:
    capture, _ = real_capture
    out_json = tmp_path / "out.json"
    assert _main(["template", "render", str(WEB_TIER), "--instance", str(captured_instance),
                  "--capture", str(capture), "--json", str(out_json)]) == 0
    out = capsys.readouterr().out
    assert f"# predicted from {capture} (upper bounds of 90% intervals)" in out
    assert "# w2          10.1.0.2               -       -        -        -  no traffic to " \
           "or from 10.1.0.2 in the capture" in out
    assert yaml.safe_load(out)["networks"]["web"]["cidr"] == "10.1.0.0/24"
    assert json.loads(out_json.read_text())["capture"] == str(capture)
