"""The REST API over a real ShadowCore and the fake ring: auth, roles, reads, changes, errors."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml
from fastapi.testclient import TestClient

from sdn_shadow.api.auth import TokenBook, TokenFileError, hash_token
from sdn_shadow.api.rest import PREFIX, create_app
from sdn_shadow.api.service import ControllerService
from sdn_shadow.api.store import ApiStore
from sdn_shadow.config import parse_config
from tests.component.test_twin_takeover import delivered
from tests.fakes.ring import apply, reconciled, udp

RING = Path(__file__).resolve().parents[2] / "examples" / "ring.yaml"


def ring_document() -> dict:
    """The ring example with no mirror sessions and h2 as a service host."""
    data = yaml.safe_load(RING.read_text())
    data["networks"]["tenant-a"]["shadow"]["mirror"] = []
    data["networks"]["tenant-a"]["shadow"]["services"] = {"h2": {"capacity": 50}}
    return data


class Api:
    """A test client, the fake fabric the API's changes land on, and a token per role.

    `refuse` names switches (by dpid) that refuse every change, as a switch
    with a full table would, and apply none of it.
    """

    def __init__(self, document: dict | None = None, store: ApiStore | None = None) -> None:
        data = document or ring_document()
        if store is not None and store.file is None:  # as a start lays it over the file
            store.adopt(store.merge(data))
        self.core, self.fabric = reconciled(parse_config(data))
        for dpid in self.core.switches:
            self.core.switch_connected(0.0, dpid)
            self.core.switch_synced(0.0, dpid)
        self.sent: list[dict] = []
        self.refuse: set[int] = set()

        def send(updates: dict) -> Refusals | None:
            taken = {d: m for d, m in updates.items() if d not in self.refuse}
            self.sent.append(taken)
            apply(self.fabric, taken)
            refused = {d: "table full" for d in updates if d in self.refuse}
            return Refusals(refused, set(taken)) if refused else None

        self.clock = iter(float(t) for t in range(100, 10_000))
        service = ControllerService(self.core, send, clock=lambda: next(self.clock),
                                    document=data, store=store)
        self.service = service
        book = TokenBook()
        self.token = {role: book.add(f"{role}-1", role)
                      for role in ("viewer", "operator", "admin")}
        self.http = TestClient(create_app(service, book))

    def get(self, path: str, role: str | None = "viewer", **kw):
        return self.http.get(PREFIX + path, headers=self._auth(role), **kw)

    def put(self, path: str, body: dict, role: str | None = "operator"):
        return self.http.put(PREFIX + path, json=body, headers=self._auth(role))

    def post(self, path: str, body: dict | None = None, role: str | None = "operator"):
        return self.http.post(PREFIX + path, json=body, headers=self._auth(role))

    def _auth(self, role: str | None) -> dict:
        return {} if role is None else {"Authorization": f"Bearer {self.token[role]}"}


@dataclass
class Refusals:
    """What the fake switches answered to one change."""

    refused: dict[int, str]
    applied: set[int]
    unknown: set[int] = field(default_factory=set)

    def wait(self, timeout: float) -> dict[int, str]:
        return self.refused


@pytest.fixture
def api() -> Api:
    return Api()


def test_health_answers_without_a_token_and_nothing_else_does(api) -> None:
    r = api.get("/health", role=None)
    assert r.status_code == 200
    assert (r.json()["switches"], r.json()["connected"], r.json()["synced"]) == (4, 4, 4)
    for path in ("/version", "/networks", "/networks/tenant-a", "/events", "/routing",
                 "/forecasts", "/networks/tenant-a/clients/h1"):
        r = api.get(path, role=None)
        assert r.status_code == 401, path
        assert r.headers["www-authenticate"] == "Bearer"
        assert r.json() == {"errors": [{"field": "authorization",
                                        "reason": "a bearer token is required"}]}
    r = api.http.get(PREFIX + "/networks", headers={"Authorization": "Bearer nope"})
    assert r.status_code == 401 and r.json()["errors"][0]["reason"] == "unknown token"


def test_a_viewer_reads_but_may_not_change(api) -> None:
    nets = api.get("/networks").json()
    assert [n["name"] for n in nets] == ["tenant-a"]
    h1 = next(h for h in nets[0]["hosts"] if h["name"] == "h1")
    assert (h1["path"], h1["service"], h1["served_by"]) == ("primary", "primary", "itself")
    assert api.get("/networks/tenant-a").json()["shadow"]["services"] == ["h2"]
    r = api.put("/networks/tenant-a/clients/h1", {"path": "shadow"}, role="viewer")
    assert r.status_code == 403
    assert r.json()["errors"][0]["reason"] == "viewer-1 is viewer; this needs operator"
    assert api.sent == [], "nothing was sent"


def test_an_operator_moves_a_client_and_the_switches_follow(api) -> None:
    r = api.put("/networks/tenant-a/clients/h1", {"path": "shadow", "reason": "maintenance"})
    assert r.status_code == 200, r.text
    assert r.json()["path"] == "shadow"
    [there] = [d for d in api.fabric.send("s1", 1, udp(1, 2)) if d.packet["vlan_vid"] == 0]
    assert there.packet["trail"] == ("s1", "s4", "s3", "s2")
    events = api.get("/events").json()
    assert events["next"] == 1
    [move] = events["events"]
    assert move["id"] == 0 and move["kind"] == "move"
    assert move["reason"] == "api (operator-1): maintenance"

    r = api.put("/networks/tenant-a/clients/h1", {"path": "primary", "service": "twin"},
                role="admin")
    assert r.json()["path"] == "primary" and r.json()["service"] == "twin"
    assert api.get("/events", params={"since": 1}).json()["next"] == 3
    assert api.get("/events", params={"since": 1, "limit": 1}).json()["next"] == 2


def test_shadow_activation_and_role_swap_over_the_api(api) -> None:
    r = api.post("/networks/tenant-a/shadow/activate", {"reason": "drill"})
    assert r.status_code == 200 and r.json()["shadow"]["active"] is True
    assert delivered(api.fabric, "s1", 2, udp(1, 2)) == {("s2", 2)}
    r = api.post("/networks/tenant-a/shadow/role-swap")
    assert r.status_code == 200
    assert all(h["role_swapped"] for h in r.json()["hosts"])
    assert delivered(api.fabric, "s1", 2, udp(1, 2)) == {("s2", 2)}, "nothing moved"
    r = api.post("/networks/tenant-a/shadow/deactivate")
    assert r.status_code == 200 and r.json()["shadow"]["active"] is False
    kinds = [e["kind"] for e in api.get("/events").json()["events"]]
    assert kinds == ["activate", "shadow_serving", "role_swap", "primary_serving"]


@pytest.mark.parametrize(("method", "path", "body", "status", "field", "reason"), [
    ("put", "/networks/tenant-a/clients/h1", {"path": "sideways"}, 422, "body.path",
     "Input should be 'primary' or 'shadow'"),
    ("put", "/networks/tenant-a/clients/h1", {}, 422, "body",
     "set path (primary|shadow), service (primary|twin) or both"),
    ("put", "/networks/tenant-a/clients/h1", {"path": "shadow", "colour": 1}, 422,
     "body.colour", "Extra inputs are not permitted"),
    ("put", "/networks/tenant-a/clients/h9", {"path": "shadow"}, 404, "path",
     "no primary host h9 in tenant-a"),
    ("put", "/networks/nope/clients/h1", {"path": "shadow"}, 404, "path", "no network nope"),
    ("get", "/networks/nope", None, 404, "path", "no network nope"),
    ("get", "/events?since=-1", None, 422, "query.since",
     "Input should be greater than or equal to 0"),
])
def test_bad_requests_name_the_field_and_the_reason(api, method, path, body, status, field,
                                                    reason) -> None:
    r = api.put(path, body) if method == "put" else api.get(path)
    assert r.status_code == status, r.text
    assert {"field": field, "reason": reason} in r.json()["errors"], r.json()
    assert api.sent == []


def test_a_change_the_controller_refuses_is_400_with_why() -> None:
    api = Api()
    # tenant-a's twins get their own MACs: none can stand in, so none can be activated.
    data = yaml.safe_load(RING.read_text())
    for i, twin in enumerate(data["networks"]["tenant-a"]["shadow"]["hosts"].values(), 1):
        twin["mac"] = f"00:00:00:00:0c:0{i}"
    data["networks"]["tenant-a"]["shadow"]["mirror"] = []
    core, _ = reconciled(parse_config(data))
    api.http.app.dependency_overrides.clear()
    service = ControllerService(core, api.sent.append)
    book = TokenBook()
    token = book.add("op", "operator")
    http = TestClient(create_app(service, book))
    r = http.post(PREFIX + "/networks/tenant-a/shadow/activate",
                  headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 400
    assert r.json()["errors"][0]["field"] == "active"
    assert "no twin has its primary host's MAC and IP" in r.json()["errors"][0]["reason"]
    # A request refused for one setting applies neither: h1 does not move either.
    r = http.put(PREFIX + "/networks/tenant-a/clients/h1",
                 json={"path": "shadow", "service": "twin"},
                 headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 400
    assert r.json()["errors"] == [{"field": "service", "reason": "tenant-a: no service hosts "
                                   "(shadow.services) to steer to"}]
    assert core.intents.shadow_path == frozenset() and core.events == []
    assert api.sent == []


def test_the_openapi_document_lists_every_route(api) -> None:
    doc = api.http.get("/openapi.json", headers=api._auth("viewer")).json()
    assert {f"{PREFIX}/networks/{{name}}/clients/{{host}}", f"{PREFIX}/events",
            f"{PREFIX}/networks/{{name}}/shadow/role-swap"} <= set(doc["paths"])


def test_token_files_keep_only_hashes_and_reject_bad_entries(tmp_path) -> None:
    book = TokenBook()
    token = book.add("ci", "operator")
    path = tmp_path / "tokens.yaml"
    book.save(path)
    text = path.read_text()
    assert token not in text and hash_token(token) in text
    assert path.stat().st_mode & 0o777 == 0o600
    loaded = TokenBook.load(path)
    assert loaded.holder(token).role == "operator" and loaded.holder("x" + token) is None
    with pytest.raises(ValueError, match="exists already"):
        loaded.add("ci", "viewer")
    path.write_text("tokens:\n  - {name: x, role: root, sha256: " + "0" * 64 + "}\n")
    with pytest.raises(TokenFileError, match=r"tokens\[0\]\.role: must be one of"):
        TokenBook.load(path)
    path.write_text("tokens:\n  - {name: x, role: admin, sha256: abc}\n")
    with pytest.raises(TokenFileError, match=r"tokens\[0\]\.sha256: must be 64 hex digits"):
        TokenBook.load(path)


def test_the_python_client_speaks_the_api(api) -> None:
    from sdn_shadow.client import ApiError, ShadowClient

    client = ShadowClient(token=api.token["operator"], http=api.http)
    assert client.health()["synced"] == 4
    assert client.set_client("tenant-a", "h1", path="shadow", reason="drill")["path"] == "shadow"
    assert client.client("tenant-a", "h1")["path"] == "shadow"
    assert client.activate("tenant-a")["shadow"]["active"] is True
    assert client.deactivate("tenant-a")["shadow"]["active"] is False
    kinds = [e["kind"] for e in client.iter_events(page=2)]
    assert kinds == ["move", "activate", "shadow_serving", "deactivate", "primary_serving"]
    with pytest.raises(ApiError) as err:
        client.set_client("tenant-a", "h9", path="shadow")
    assert err.value.status == 404
    assert err.value.errors == [{"field": "path", "reason": "no primary host h9 in tenant-a"}]
    viewer = ShadowClient(token=api.token["viewer"], http=api.http)
    with pytest.raises(ApiError, match="HTTP 403: authorization: viewer-1 is viewer"):
        viewer.role_swap("tenant-a")


def test_client_profiles_are_served_with_nan_as_null(api) -> None:
    api.core.profiles, _ = api.core.profiles.observe(100.0, {"client:tenant-a:h1:tx": 1000.0})
    [h1] = api.get("/profiles").json()
    assert h1["client"] == "client:tenant-a:h1:tx" and h1["samples"] == 1
    assert h1["mean"] == 1000.0 and h1["std"] is None, "one sample: no spread yet"
    api.core.profiles, _ = api.core.profiles.observe(101.0, {"client:tenant-a:h1:tx": 3000.0})
    [h1] = api.get("/profiles").json()
    assert h1["mean"] == 2000.0 and h1["peak"] == 3000.0 and h1["std"] > 0
