"""GET /networks/{name}/paths over the fake ring: both paths, the one taken now, errors."""

from __future__ import annotations

import re

import pytest

from sdn_shadow.dashboard.routes import STATIC
from tests.component.test_rest_api import Api
from tests.fakes.ring import apply, udp

RING = {("s1", "s2"): (1, 10), ("s2", "s3"): (2, 10), ("s3", "s4"): (3, 10),
        ("s4", "s1"): (4, 10)}  # each link by the switches it joins: (dpid, port) at one end


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


def fail(api: Api, link: tuple[str, str]) -> None:
    """Take a ring link down: the switches' ports (what fast failover watches) and the
    controller's port status (what it pins by)."""
    dpid, port = RING[link]
    api.fabric.set_link(*link, False)
    with api.service.lock:
        apply(api.fabric, api.core.port_status(0.0, dpid, port, False))


def delivered(api: Api, a: int, b: int) -> tuple[str, ...] | None:
    """The switches a packet from h<a> to h<b> crossed on the fake fabric (None: lost)."""
    got = [d for d in api.fabric.send(f"s{a}", 1, udp(a, b)) if (d.switch, d.port) == (f"s{b}", 1)]
    assert len(got) <= 1, got
    return got[0].packet["trail"] if got else None


@pytest.mark.parametrize("link", sorted(RING))
@pytest.mark.parametrize("moved", [(), ("h1",), ("h2", "h3")])
def test_current_is_where_the_fabric_sends_each_pair_after_a_link_fails(link, moved) -> None:
    api = Api()
    for host in moved:
        assert api.put(f"/networks/tenant-a/clients/{host}", {"path": "shadow"}).status_code == 200
    fail(api, link)
    for a in range(1, 5):
        for b in (b for b in range(1, 5) if b != a):
            body = paths(api, f"h{a}", f"h{b}").json()
            trail, said = delivered(api, a, b), (body["current"], body["taken"])
            if trail is None:  # every group on the way was followed, not only the source's
                assert body["current"] == "lost", (a, b, said, body["reason"])
                assert body["reason"].startswith(f"lost at {body['taken'][-1]}: failed links")
                continue
            assert tuple(body["taken"]) == trail, (a, b, said)
            if body["current"] in ("primary", "shadow"):
                assert tuple(body[body["current"]]) == trail, (a, b, said)
            else:
                assert body["current"] == "detour", (a, b, said)


def test_the_ring_route_is_the_primary_and_fails_over_to_the_shadow() -> None:
    api = Api()  # s4 -> s2: forwarding's route is the pair's primary s4 s1 s2, not its shadow
    fail(api, ("s2", "s3"))
    body = paths(api, "h4", "h2").json()
    assert (body["primary"], body["shadow"]) == (["s4", "s1", "s2"], ["s4", "s3", "s2"])
    assert body["failed"] == {"primary": [], "shadow": ["s2-s3"]}
    assert (body["current"], body["taken"]) == ("primary", ["s4", "s1", "s2"]), body
    assert delivered(api, 4, 2) == ("s4", "s1", "s2")
    api = Api()  # the primary's link fails: s4's group sends it the other way round
    fail(api, ("s1", "s2"))
    body = paths(api, "h4", "h2").json()
    assert (body["current"], body["taken"]) == ("shadow", ["s4", "s3", "s2"]), body
    assert delivered(api, 4, 2) == ("s4", "s3", "s2")


@pytest.mark.parametrize("link", [("s3", "s4"), ("s2", "s3")])
def test_one_failed_ring_link_leaves_every_pair_a_way(link) -> None:
    api = Api()
    # forwarding's route is the pair's primary, the reverse of the way back
    assert api.core.layout.fabric.path("s4", "s2") == ["s4", "s1", "s2"]
    assert api.core.layout.fabric.path("s2", "s4") == ["s2", "s1", "s4"]
    assert api.core.layout.paths["tenant-a"][("s4", "s2")].primary == ("s4", "s1", "s2")
    fail(api, link)
    assert delivered(api, 4, 2) is not None, "h4 -> h2 has s4 s1 s2 left"
