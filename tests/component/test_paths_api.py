"""GET /networks/{name}/paths over the fake ring: both paths, the one taken now, errors."""

from __future__ import annotations

import re

from sdn_shadow.dashboard.routes import STATIC
from tests.component.test_rest_api import Api
from tests.fakes.ring import apply


def paths(api: Api, src: str, dst: str, role: str | None = "viewer", network: str = "tenant-a"):
    return api.get(f"/networks/{network}/paths", role, params={"src": src, "dst": dst})


def test_a_viewer_reads_both_paths_and_the_primary_is_taken() -> None:
    api = Api()
    r = paths(api, "h1", "h2")
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["primary"], body["shadow"]) == (["s1", "s2"], ["s1", "s4", "s3", "s2"])
    assert (body["src"]["switch"], body["dst"]["switch"]) == ("s1", "s2")
    assert (body["current"], body["disjoint"]) == ("primary", "nodes")
    back = paths(api, "h2", "h1").json()
    assert (back["primary"], back["shadow"]) == (["s2", "s1"], ["s2", "s3", "s4", "s1"])


def test_a_moved_client_takes_the_shadow_both_ways() -> None:
    api = Api()
    assert api.put("/networks/tenant-a/clients/h1", {"path": "shadow"}).status_code == 200
    for src, dst in (("h1", "h2"), ("h2", "h1")):
        body = paths(api, src, dst).json()
        assert body["current"] == "shadow", body
        assert "h1" in body["reason"]
    assert paths(api, "h3", "h2").json()["current"] == "primary"


def test_a_failed_link_pins_traffic_to_the_shadow_and_the_answer_says_so() -> None:
    api = Api()
    apply(api.fabric, api.core.port_status(0.0, 1, 10, False))  # s1-s2 down
    body = paths(api, "h1", "h2").json()
    assert body["current"] == "shadow"
    assert body["failed"] == {"primary": ["s1-s2"], "shadow": []}
    assert paths(api, "h4", "h3").json()["current"] == "primary", "s4-s3 did not fail"


def test_unknown_network_and_hosts_are_404_naming_the_field() -> None:
    api = Api()
    r = paths(api, "h1", "h2", network="nope")
    assert r.status_code == 404 and r.json()["errors"][0]["field"] == "path"
    for src, dst, field in (("hx", "h2", "query.src"), ("h1", "hy", "query.dst")):
        r = paths(api, src, dst)
        assert r.status_code == 404, r.text
        assert r.json()["errors"][0]["field"] == field
        assert "no primary host" in r.json()["errors"][0]["reason"]


def test_missing_or_equal_hosts_are_422_naming_the_field() -> None:
    api = Api()
    r = api.get("/networks/tenant-a/paths", params={"src": "h1"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "query.dst"
    r = paths(api, "h1", "h1")
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "query.dst"


def test_paths_need_a_token_and_viewer_is_enough() -> None:
    api = Api()
    assert paths(api, "h1", "h2", role=None).status_code == 401
    for role in ("viewer", "operator", "admin"):
        assert paths(api, "h1", "h2", role=role).status_code == 200


def test_the_dashboard_asks_the_route_the_api_serves() -> None:
    script = (STATIC / "js" / "paths.js").read_text()
    [asked] = re.findall(r"api\.get\(`([^`]*)`\)", script)
    route = re.sub(r"\$\{enc\((\w+)\)\}", lambda m: {"network": "tenant-a", "src": "h1",
                                                      "dst": "h4"}[m.group(1)], asked)
    api = Api()
    r = api.get(route)
    assert r.status_code == 200, (asked, r.text)
    assert {"primary", "shadow", "current", "reason"} <= set(r.json())
