"""Networks and mirror sessions over the API: validated like the YAML, all-or-nothing, kept."""

from __future__ import annotations

import copy
import sqlite3

import pytest

from sdn_shadow.api.restore import layered, replay
from sdn_shadow.api.store import ApiStore
from sdn_shadow.config import parse_config
from tests.component.test_rest_api import Api, ring_document
from tests.component.test_twin_takeover import delivered
from tests.fakes.ring import udp

B = {"cidr": "10.0.1.0/24",
     "hosts": {"b1": {"switch": "s1", "port": 3, "mac": "00:00:00:00:0b:01", "ip": "10.0.1.1"},
               "b3": {"switch": "s3", "port": 3, "mac": "00:00:00:00:0b:03", "ip": "10.0.1.3"}},
     "shadow": {"hosts": {"b1s": {"twin": "b1", "switch": "s1", "port": 4},
                          "b3s": {"twin": "b3", "switch": "s3", "port": 4}}}}
SESSION = {"name": "h1-web", "hosts": ["h1"], "direction": "out", "to": ["h3s"],
           "match": {"proto": "udp"}}


def b_udp(a: int, b: int) -> dict:
    """A UDP packet from b<a> to b<b> in tenant-b."""
    return {"eth_src": f"00:00:00:00:0b:0{a}", "eth_dst": f"00:00:00:00:0b:0{b}",
            "eth_type": 0x0800, "ip_proto": 17, "ipv4_src": f"10.0.1.{a}",
            "ipv4_dst": f"10.0.1.{b}", "udp_src": 1000, "udp_dst": 7000, "length": 200}


def tables(api: Api) -> dict:
    """Every fake switch's flows, groups and meters (to compare states)."""
    return {d: (dict(s.flows), dict(s.groups), dict(s.meters))
            for d, s in api.fabric.switches.items()}


@pytest.fixture
def api() -> Api:
    return Api()


def test_an_admin_creates_a_network_and_traffic_flows_in_it(api) -> None:
    assert delivered(api.fabric, "s1", 3, b_udp(1, 3)) == set()
    r = api.http.post("/api/v1/networks", json={"name": "tenant-b", **B},
                      headers=api._auth("admin"))
    assert r.status_code == 201, r.text
    assert r.json()["name"] == "tenant-b" and r.json()["spec"] == B
    assert [t["name"] for t in r.json()["shadow"]["twins"]] == ["b1s", "b3s"]
    assert delivered(api.fabric, "s1", 3, b_udp(1, 3)) == {("s3", 3)}
    assert [n["name"] for n in api.get("/networks").json()] == ["tenant-a", "tenant-b"]
    event = api.get("/events").json()["events"][-1]
    assert event["kind"] == "config" and event["reason"].startswith(
        "network tenant-b created by admin-1: reloaded")


def test_an_operator_may_not_create_networks(api) -> None:
    r = api.post("/networks", {"name": "tenant-b", **B})
    assert r.status_code == 403 and api.sent == []


def test_a_bad_network_names_each_key_path_and_changes_nothing(api) -> None:
    before, config = tables(api), api.core.config
    bad = copy.deepcopy(B)
    bad["hosts"]["b1"]["ip"] = "10.9.9.9"
    bad["shadow"]["hosts"]["b3s"]["port"] = 1  # h3's port
    r = api.http.post("/api/v1/networks", json={"name": "tenant-b", **bad},
                      headers=api._auth("admin"))
    assert r.status_code == 400
    fields = {e["field"]: e["reason"] for e in r.json()["errors"]}
    assert fields["networks.tenant-b.hosts.b1.ip"] == "10.9.9.9 is not in 10.0.1.0/24"
    assert "networks.tenant-b.shadow.hosts.b3s" in " ".join(fields)
    assert api.sent == [] and tables(api) == before and api.core.config is config


@pytest.mark.parametrize(("body", "status", "field"), [
    ({**B}, 422, "body.name"),
    ({"name": "tenant-a", **B}, 409, "name"),
    ({"name": "bad name", **B}, 400, "networks.bad name"),
    ({"name": "tenant-b", **B, "colour": "red"}, 400, "networks.tenant-b.colour"),
])
def test_create_refusals(api, body, status, field) -> None:
    r = api.http.post("/api/v1/networks", json=body, headers=api._auth("admin"))
    assert r.status_code == status, r.text
    assert r.json()["errors"][0]["field"] == field


def test_replace_and_delete_a_network(api) -> None:
    api.http.post("/api/v1/networks", json={"name": "tenant-b", **B},
                  headers=api._auth("admin"))
    smaller = copy.deepcopy(B)
    del smaller["hosts"]["b3"], smaller["shadow"]["hosts"]["b3s"]
    r = api.http.put("/api/v1/networks/tenant-b", json=smaller, headers=api._auth("admin"))
    assert r.status_code == 200 and [h["name"] for h in r.json()["hosts"]] == ["b1"]
    assert delivered(api.fabric, "s1", 3, b_udp(1, 3)) == set()
    flows_with_b = sum(len(s.flows) for s in api.fabric.switches.values())
    r = api.http.delete("/api/v1/networks/tenant-b", headers=api._auth("admin"))
    assert r.status_code == 200 and r.json() == {"deleted": "tenant-b"}
    assert sum(len(s.flows) for s in api.fabric.switches.values()) < flows_with_b
    assert api.get("/networks/tenant-b").status_code == 404
    assert api.http.delete("/api/v1/networks/tenant-b",
                           headers=api._auth("admin")).status_code == 404


def test_a_network_whose_shadow_carries_clients_is_not_deleted(api) -> None:
    api.put("/networks/tenant-a/clients/h1", {"path": "shadow"})
    r = api.http.delete("/api/v1/networks/tenant-a", headers=api._auth("admin"))
    assert r.status_code == 409
    assert r.json()["errors"] == [{"field": "network", "reason":
                                   "tenant-a: its shadow carries clients (shadow path: h1); move "
                                   "them back and deactivate it first"}]
    api.put("/networks/tenant-a/clients/h1", {"path": "primary"})
    r = api.http.delete("/api/v1/networks/tenant-a", headers=api._auth("admin"))
    assert r.status_code == 200
    assert delivered(api.fabric, "s1", 1, _h1_to_h3()) == set(), "tenant-a is gone"


def test_a_change_one_switch_refuses_is_undone_everywhere(api) -> None:
    before, config = tables(api), api.core.config
    api.refuse = {3}
    r = api.http.post("/api/v1/networks", json={"name": "tenant-b", **B},
                      headers=api._auth("admin"))
    assert r.status_code == 409
    assert r.json()["errors"] == [{"field": "switches", "reason": "refused by s3: table full; "
                                   "the change was undone, the previous state stays"}]
    assert tables(api) == before, "the switches that took the change were put back"
    assert api.core.config == config and "tenant-b" not in api.service.document["networks"]
    assert api.get("/events").json()["events"][-1]["result"] == "undone"
    api.refuse = set()
    r = api.put("/networks/tenant-a/clients/h1", {"path": "shadow"})
    assert r.status_code == 200, "the controller is fine afterwards"


def test_a_refused_client_move_leaves_the_client_where_it_was(api) -> None:
    before = tables(api)
    api.refuse = {1}
    r = api.put("/networks/tenant-a/clients/h1", {"path": "shadow", "service": "twin"})
    assert r.status_code == 409
    assert tables(api) == before
    assert api.get("/networks/tenant-a/clients/h1").json()["path"] == "primary"


def test_mirror_sessions_crud_with_counters(api) -> None:
    assert api.get("/networks/tenant-a/mirror-sessions").json() == []
    r = api.post("/networks/tenant-a/mirror-sessions", SESSION)
    assert r.status_code == 201, r.text
    assert r.json()["counters"] == {"packets": 0, "bytes": 0}
    assert r.json()["spec"] == SESSION and r.json()["direction"] == "out"
    copies = [d for d in api.fabric.send("s1", 1, _h1_to_h3())
              if (d.switch, d.port) == ("s3", 2)]
    assert copies, "the session copies h1's UDP to h3s"
    assert api.post("/networks/tenant-a/mirror-sessions", SESSION).status_code == 409
    r = api.put("/networks/tenant-a/mirror-sessions/h1-web",
                {**SESSION, "direction": "both", "sample": 0.5})
    assert r.status_code == 200 and r.json()["direction"] == "both", r.text
    r = api.put("/networks/tenant-a/mirror-sessions/h1-web", {**SESSION, "to": ["h9s"]})
    assert r.status_code == 400
    assert r.json()["errors"][0]["field"] == "networks.tenant-a.shadow.mirror[0].to[0]"
    assert api.get("/networks/tenant-a/mirror-sessions/h1-web").json()["direction"] == "both"
    r = api.http.delete("/api/v1/networks/tenant-a/mirror-sessions/h1-web",
                        headers=api._auth("operator"))
    assert r.status_code == 200
    assert not [d for d in api.fabric.send("s1", 1, _h1_to_h3()) if (d.switch, d.port)
                == ("s3", 2)], "no copies once deleted"
    assert api.get("/networks/tenant-a/mirror-sessions/h1-web").status_code == 404


def _h1_to_h3() -> dict:
    return udp(1, 3)


def test_changes_are_kept_and_come_back_after_a_restart(tmp_path) -> None:
    store = ApiStore(tmp_path / "api.sqlite")
    first = Api(store=store)
    assert first.http.post("/api/v1/networks", json={"name": "tenant-b", **B},
                           headers=first._auth("admin")).status_code == 201
    first.post("/networks/tenant-a/mirror-sessions", SESSION)
    first.put("/networks/tenant-a/clients/h1", {"path": "shadow", "service": "twin"})
    first.post("/networks/tenant-a/shadow/activate")
    store.close()

    store = ApiStore(tmp_path / "api.sqlite")
    document, config, problems = layered(ring_document(), store, "ring.yaml")
    assert problems == [] and {n.name for n in config.networks} == {"tenant-a", "tenant-b"}
    second = Api(document=document, store=store)
    lines = replay(second.core, store, 200.0)
    assert lines == ["tenant-a: shadow active", "tenant-a/h1: path shadow, service twin"]
    h1 = second.get("/networks/tenant-a/clients/h1").json()
    assert (h1["path"], h1["service"]) == ("shadow", "twin")
    assert second.get("/networks/tenant-a").json()["shadow"]["active"] is True
    assert [s["name"] for s in second.get("/networks/tenant-a/mirror-sessions").json()] == [
        "h1-web"]


def test_kept_networks_that_no_longer_fit_the_file_are_set_aside(tmp_path) -> None:
    store = ApiStore(tmp_path / "api.sqlite")
    store.put_network("tenant-b", {**B, "hosts": {**B["hosts"], "b1": {
        **B["hosts"]["b1"], "switch": "s9"}}}, "admin-1")
    document, config, problems = layered(ring_document(), store, "ring.yaml")
    assert config is None and document == ring_document()
    assert problems == ["networks.tenant-b.hosts.b1.switch: unknown switch s9"]
    assert store.conflicts == ["the API's kept changes no longer fit the file and were not "
                               "laid over it: networks.tenant-b.hosts.b1.switch: unknown "
                               "switch s9"]  # shown by GET /health
    parse_config(document)


def test_ldap_mirroring_is_not_set_over_the_api(api) -> None:
    spec = copy.deepcopy(B)
    spec["shadow"]["ldap"] = {"url": "ldap://192.0.2.1", "bind_dn": "cn=x",
                              "password_file": "/etc/shadow", "primary_base": "dc=a",
                              "shadow_base": "dc=b"}
    r = api.http.post("/api/v1/networks", json={"name": "tenant-b", **spec},
                      headers=api._auth("admin"))
    assert r.status_code == 400 and api.sent == []
    assert r.json()["errors"][0]["field"] == "networks.tenant-b.shadow.ldap"


class FailingStore(ApiStore):
    """A store whose every write fails, as a full disk or a locked database would."""

    def _write(self, *statements: tuple) -> None:
        raise sqlite3.OperationalError("database or disk is full")


@pytest.mark.parametrize("change", ["client", "activate", "network", "session"])
def test_a_change_the_store_cannot_keep_is_undone_everywhere(tmp_path, change) -> None:
    api = Api(store=FailingStore(tmp_path / "api.sqlite"))
    before = tables(api)
    if change == "client":
        r = api.put("/networks/tenant-a/clients/h1", {"path": "shadow"})
    elif change == "activate":
        r = api.post("/networks/tenant-a/shadow/activate")
    elif change == "network":
        r = api.http.post("/api/v1/networks", json={"name": "tenant-b", **B},
                          headers=api._auth("admin"))
    else:
        r = api.post("/networks/tenant-a/mirror-sessions", SESSION)
    assert r.status_code == 503, r.text
    assert r.json()["errors"] == [{"field": "store", "reason": (
        "the change could not be kept (OperationalError: database or disk is full); it was "
        "undone, the previous state stays")}]
    assert api.sent, "the change went to the switches before the store was written"
    assert tables(api) == before  # the switches hold what they held
    assert api.get("/networks/tenant-a/clients/h1").json()["path"] == "primary"
    assert [n["name"] for n in api.get("/networks").json()] == ["tenant-a"]
    assert api.get("/networks/tenant-a").json()["shadow"]["active"] is False
    assert api.get("/networks/tenant-a/mirror-sessions").status_code == 200
    assert "h1-web" not in [s["name"] for s in api.get(
        "/networks/tenant-a/mirror-sessions").json()]
    last = api.get("/events").json()["events"][-1]
    assert last["result"] == "undone" and last["reason"].startswith("not saved: ")


def test_detection_baselines_are_files_the_api_may_not_name(api) -> None:
    spec = copy.deepcopy(B)
    spec["shadow"]["detect"] = {"baseline": ["/etc/shadow"]}
    r = api.http.post("/api/v1/networks", json={"name": "tenant-b", **spec},
                      headers=api._auth("admin"))
    assert r.status_code == 400 and api.sent == []
    assert r.json()["errors"][0]["field"] == "networks.tenant-b.shadow.detect.baseline"
    spec["shadow"]["detect"] = {"learn": 30, "on": ["b1s"]}  # the rest of detect is fine
    r = api.http.post("/api/v1/networks", json={"name": "tenant-b", **spec},
                      headers=api._auth("admin"))
    assert r.status_code == 201, r.text
