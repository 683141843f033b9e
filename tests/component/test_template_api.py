"""POST /templates/instantiate on a real ShadowCore over the fake lab: one step, or nothing."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from sdn_shadow.api.rest import PREFIX, TEMPLATE_EXAMPLE
from sdn_shadow.api.service import EVENT_NEEDS_LDAP, LDAP_OVER_API
from sdn_shadow.api.store import ApiStore
from tests.component.test_rest_api import Api
from tests.component.test_twin_takeover import delivered
from tests.fakes.ring import udp

ROOT = Path(__file__).resolve().parents[2]
LAB = ROOT / "examples" / "lab.yaml"
WEB_TIER = ROOT / "examples" / "templates" / "web-tier.yaml"
ROUTE = f"{PREFIX}/templates/instantiate"


def example_template() -> dict[str, Any]:
    """The template of examples/templates/web-tier.yaml."""
    return yaml.safe_load(WEB_TIER.read_text())


def example_instance() -> dict[str, Any]:
    """The instance in the comment block of examples/templates/web-tier.yaml."""
    text = WEB_TIER.read_text()
    block = text.split("# --- instance ---\n", 1)[1].split("# --- end of instance ---", 1)[0]
    return yaml.safe_load("\n".join(line.removeprefix("#").removeprefix(" ")
                                    for line in block.splitlines()))


def web(a: int, b: int) -> dict:
    """A UDP packet from w<a> to w<b> in the instantiated network `web`."""
    return {**udp(a, b), "eth_src": f"00:00:00:00:0c:0{a}", "eth_dst": f"00:00:00:00:0c:0{b}",
            "ipv4_src": f"10.1.0.{a}", "ipv4_dst": f"10.1.0.{b}"}


def tables(api: Api) -> dict:
    """Every fake switch's flows, groups and meters (to compare states)."""
    return {d: (dict(s.flows), dict(s.groups), dict(s.meters))
            for d, s in api.fabric.switches.items()}


def instantiate(api: Api, template: Any = None, instance: Any = None, role: str = "admin",
                body: dict | None = None):
    """POST the example template and instance (or the ones given) as `role`."""
    if body is None:
        body = {"template": example_template() if template is None else template,
                "instance": example_instance() if instance is None else instance}
    return api.http.post(ROUTE, json=body, headers=api._auth(role))


@pytest.fixture
def api() -> Api:
    """The lab (s1 and s2; s1 ports 5 and 6, s2 ports 2 and 5 free) on the fake fabric."""
    return Api(yaml.safe_load(LAB.read_text()))


def test_an_admin_instantiates_the_example_and_traffic_flows_and_is_mirrored(api) -> None:
    assert delivered(api.fabric, "s1", 5, web(1, 2)) == set()
    r = instantiate(api)
    assert r.status_code == 201, r.text
    network, profiles = r.json()["network"], r.json()["profiles"]
    assert set(r.json()) == {"network", "profiles"}
    assert network == api.get("/networks/web").json()
    assert (network["name"], network["cidr"]) == ("web", "10.1.0.0/24")
    assert [(h["name"], h["switch"], h["port"]) for h in network["hosts"]] == [
        ("w1", "s1", 5), ("w2", "s2", 2)]
    assert [(t["name"], t["twin"], t["switch"], t["port"]) for t in network["shadow"]["twins"]
            ] == [("w1s", "w1", "s1", 6), ("w2s", "w2", "s2", 5)]
    assert network["shadow"]["mirror"] == ["web.w1-both", "web.w2-both"]
    assert profiles == [
        {"host": "w1", "vm_type": "web",
         "capacity": {"cpu_cores": 1, "memory_gb": 1, "bandwidth_mbps": 100, "storage_gb": 40},
         "scaling": example_template()["scaling"]},
        {"host": "w2", "vm_type": "web-large",
         "capacity": {"cpu_cores": 4, "memory_gb": 8, "bandwidth_mbps": 1000,
                      "storage_gb": 100},
         "scaling": example_template()["scaling"]}]

    config = api.core.config
    assert [n.name for n in config.networks] == ["tenant-a", "tenant-b", "web"]
    mirror = config.network("web").shadow.mirror
    assert [(s.name, s.sources, s.direction, s.to) for s in mirror] == [
        ("web.w1-both", ("w1",), "both", ("w1s",)), ("web.w2-both", ("w2",), "both", ("w2s",))]
    assert config.network("web").shadow.allocation.instance_capacity == 20
    assert "web" in api.service.document["networks"]
    assert [s["name"] for s in api.get("/networks/web/mirror-sessions").json()] == [
        "web.w1-both", "web.w2-both"]

    # w1 -> w2 arrives at w2; w1's twin gets what w1 sends, w2's twin what w2 receives.
    assert delivered(api.fabric, "s1", 5, web(1, 2)) == {("s2", 2), ("s1", 6), ("s2", 5)}
    assert delivered(api.fabric, "s2", 2, web(2, 1)) == {("s1", 5), ("s1", 6), ("s2", 5)}
    assert delivered(api.fabric, "s1", 6, web(1, 2)) == set(), "the twin is receive-only"
    assert delivered(api.fabric, "s1", 1, udp(1, 2)) >= {("s2", 1)}, "tenant-a still works"
    event = api.get("/events").json()["events"][-1]
    assert event["kind"] == "config" and event["reason"].startswith(
        "network web created by admin-1: reloaded")


def test_the_instantiated_network_is_kept(tmp_path) -> None:
    store = ApiStore(tmp_path / "api.sqlite")
    api = Api(yaml.safe_load(LAB.read_text()), store=store)
    assert instantiate(api).status_code == 201
    kept = store.changes()
    assert [c.path for c in kept] == [("networks", "web")]  # a new network: one key
    assert json.loads(kept[0].value) == api.service.document["networks"]["web"]
    store.close()


@pytest.mark.parametrize("role", ["viewer", "operator"])
def test_only_an_admin_instantiates(api, role) -> None:
    before = tables(api)
    r = instantiate(api, role=role)
    assert r.status_code == 403
    assert r.json()["errors"] == [{"field": "authorization",
                                   "reason": f"{role}-1 is {role}; this needs admin"}]
    assert api.sent == [] and tables(api) == before and "web" not in api.service.document[
        "networks"]
    assert api.http.post(ROUTE, json={}).status_code == 401


def _template(**changes: Any) -> dict[str, Any]:
    data = example_template()
    data.update(changes)
    return data


@pytest.mark.parametrize(("template", "errors"), [
    (_template(fidelity="mirror-all"),
     [("template.fidelity", "must be one of: full, differential, event")]),
    (_template(colour="red", vm_types={"web": {"cpu_cores": 0, "memory_gb": 1,
                                               "bandwidth_mbps": 100}}),
     [("template.colour", "unknown key (expected one of: allocation, description, "
       "differential, fidelity, ldap, name, scaling, shadow_enabled, vm_types)"),
      ("template.vm_types.web.cpu_cores", "must be > 0")]),
    (_template(allocation={"strategy": "greedy"}),
     [("template.allocation.strategy", "must be one of: conservative, aggressive, dynamic")]),
    (_template(scaling={"cpu": {"above": 0.5, "for": 60, "below": 0.7}}),
     [("template.scaling.cpu.below", "must be below scaling.cpu.above (0.5)")]),
    (_template(ldap={"url": "ldap://192.0.2.1", "password_file": "/etc/shadow"}),
     [("template.ldap", LDAP_OVER_API)]),
    (_template(fidelity="event", ldap={"url": "ldap://192.0.2.1"}),
     [("template.ldap", LDAP_OVER_API)]),
    (_template(fidelity="event"), [("template.ldap", EVENT_NEEDS_LDAP)]),
    ({"vm_types": {}}, [("template.name", "required"),
                        ("template.vm_types", "must not be empty")]),
])
def test_a_bad_template_is_422_at_its_key_paths_and_changes_nothing(api, template,
                                                                    errors) -> None:
    before, config, document = tables(api), api.core.config, copy.deepcopy(api.service.document)
    r = instantiate(api, template)
    assert r.status_code == 422, r.text
    assert [(e["field"], e["reason"]) for e in r.json()["errors"]] == errors
    assert api.sent == [] and tables(api) == before
    assert api.core.config is config and api.service.document == document
    assert api.core.events == []


def _instance(edit) -> dict[str, Any]:
    data = example_instance()
    edit(data)
    return data


def _clash(data: dict) -> None:
    data["hosts"]["w1"]["port"] = 1           # h1's port on s1
    data["hosts"]["w2"]["ip"] = "10.9.0.2"    # outside 10.1.0.0/24
    data["hosts"]["w2"]["twin"]["port"] = 4   # h2s's port on s2


def _unparsed(data: dict) -> None:
    del data["cidr"]
    data["hosts"]["w1"]["vm_type"] = "huge"
    data["hosts"]["w2"]["twin"]["colour"] = "red"


@pytest.mark.parametrize(("instance", "errors"), [
    (_instance(_unparsed),
     [("instance.cidr", "required"),
      ("instance.hosts.w1.vm_type", "unknown VM type huge (template web-tier has: web, "
                                    "web-large)"),
      ("instance.hosts.w2.twin.colour", "unknown key (expected one of: mac, name, port, "
                                        "switch)")]),
    (_instance(_clash),  # found by the config parser, moved back to the instance
     [("instance.hosts.w1", "port s1:1 already used by networks.tenant-a.hosts.h1"),
      ("instance.hosts.w2.ip", "10.9.0.2 is not in 10.1.0.0/24"),
      ("instance.hosts.w2.twin", "port s2:4 already used by "
                                 "networks.tenant-a.shadow.hosts.h2s")]),
    (_instance(lambda d: d["hosts"]["w1"].update(switch="s9")),
     [("instance.hosts.w1.switch", "unknown switch s9")]),
    (_instance(lambda d: d.update(network="bad name")),
     [("instance.network", "must be a name matching [A-Za-z0-9][A-Za-z0-9_.-]*")]),
    (_instance(lambda d: d.update(hosts={})), [("instance.hosts", "must not be empty")]),
])
def test_a_bad_instance_is_422_at_its_key_paths_and_changes_nothing(api, instance,
                                                                    errors) -> None:
    before, config, document = tables(api), api.core.config, copy.deepcopy(api.service.document)
    r = instantiate(api, instance=instance)
    assert r.status_code == 422, r.text
    assert [(e["field"], e["reason"]) for e in r.json()["errors"]] == errors
    assert api.sent == [] and tables(api) == before
    assert api.core.config is config and api.service.document == document


@pytest.mark.parametrize(("body", "field", "reason"), [
    ({"template": {"name": "t"}}, "body.instance", "Field required"),
    ({"template": {}, "instance": {}, "colour": 1}, "body.colour",
     "Extra inputs are not permitted"),
    ({"template": [1], "instance": {}}, "body.template", "Input should be a valid dictionary"),
])
def test_a_malformed_body_is_422(api, body, field, reason) -> None:
    r = instantiate(api, body=body)
    assert r.status_code == 422
    assert {"field": field, "reason": reason} in r.json()["errors"]
    assert api.sent == []


def test_a_name_in_use_is_a_409_and_changes_nothing(api) -> None:
    before, config = tables(api), api.core.config
    r = instantiate(api, instance=_instance(lambda d: d.update(network="tenant-b")))
    assert r.status_code == 409
    assert r.json()["errors"] == [{"field": "instance.network", "reason":
                                   "network tenant-b exists; PUT /networks/tenant-b replaces it"}]
    assert api.sent == [] and tables(api) == before and api.core.config is config

    assert instantiate(api).status_code == 201
    after, config = tables(api), api.core.config
    r = instantiate(api)
    assert r.status_code == 409 and r.json()["errors"][0]["field"] == "instance.network"
    assert tables(api) == after and api.core.config is config


def test_a_switch_refusing_the_network_undoes_it_everywhere(api) -> None:
    before, config = tables(api), api.core.config
    api.refuse = {2}
    r = instantiate(api)
    assert r.status_code == 409
    assert r.json()["errors"] == [{"field": "switches", "reason": "refused by s2: table full; "
                                   "the change was undone, the previous state stays"}]
    assert tables(api) == before and api.core.config == config
    assert "web" not in api.service.document["networks"]
    assert api.get("/networks/web").status_code == 404
    api.refuse = set()
    assert instantiate(api).status_code == 201, "the controller is fine afterwards"


def test_the_openapi_example_is_the_example_template_and_instance(api) -> None:
    assert {"template": example_template(), "instance": example_instance()} == TEMPLATE_EXAMPLE
    doc = api.http.get("/openapi.json", headers=api._auth("viewer")).json()
    post = doc["paths"][ROUTE]["post"]
    assert "201" in post["responses"] and "422" in post["responses"]
    examples = post["requestBody"]["content"]["application/json"]["examples"]
    assert examples["web-tier"]["value"] == TEMPLATE_EXAMPLE
