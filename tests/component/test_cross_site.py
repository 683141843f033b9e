"""Changes a page on another site could send with a browser's saved credentials are refused."""

from __future__ import annotations

import pytest

from sdn_shadow.api.rest import PREFIX
from tests.component.test_rest_api import Api


@pytest.fixture
def api() -> Api:
    return Api()


def _basic(api: Api) -> tuple[str, str]:
    return ("anyone", api.token["operator"])  # what a browser keeps after a Basic login


def test_a_cross_site_form_cannot_activate_a_shadow(api: Api) -> None:
    url = f"{PREFIX}/networks/tenant-a/shadow/activate"
    for kind, body in [("application/x-www-form-urlencoded", "reason=x"),
                       ("multipart/form-data; boundary=b", "--b--\r\n"),
                       ("text/plain", '{"reason": "x"}'),
                       ("application/x-www-form-urlencoded", "")]:
        answer = api.http.post(url, content=body, auth=_basic(api),
                               headers={"Content-Type": kind, "Origin": "https://evil.example"})
        assert answer.status_code in (403, 415), (kind, answer.text)
        answer = api.http.post(url, content=body, auth=_basic(api),
                               headers={"Content-Type": kind})
        assert answer.status_code == 415, (kind, answer.text)
        assert answer.json()["errors"][0]["field"] == "content-type"
    assert api.get("/networks/tenant-a").json()["shadow"]["active"] is False


def test_a_foreign_origin_is_refused_even_with_json(api: Api) -> None:
    url = f"{PREFIX}/networks/tenant-a/shadow/role-swap"
    answer = api.http.post(url, json={"reason": "x"}, auth=_basic(api),
                           headers={"Origin": "https://evil.example"})
    assert answer.status_code == 403
    assert answer.json()["errors"] == [{"field": "origin", "reason": (
        "a change from https://evil.example (not http://testserver) is refused")}]
    answer = api.http.delete(f"{PREFIX}/networks/tenant-a", auth=("a", api.token["admin"]),
                             headers={"Origin": "null"})
    assert answer.status_code == 403
    assert [n["name"] for n in api.get("/networks").json()] == ["tenant-a"]


def test_same_site_json_bodyless_changes_and_reads_pass(api: Api) -> None:
    own = {"Origin": "http://testserver"}
    url = f"{PREFIX}/networks/tenant-a/shadow/"
    assert api.http.post(url + "activate", json={"reason": "x"}, auth=_basic(api),
                         headers=own).status_code == 200
    assert api.http.post(url + "deactivate", auth=_basic(api)).status_code == 200  # no body
    assert api.http.get(f"{PREFIX}/networks", auth=_basic(api),
                        headers={"Origin": "https://evil.example"}).status_code == 200
    assert api.http.post(url + "activate", content=b'{"reason": "y"}', auth=_basic(api),
                         headers={"Content-Type": "application/json; charset=utf-8"}
                         ).status_code == 200


def test_basic_credentials_are_utf8() -> None:
    import base64

    from fastapi.testclient import TestClient

    from sdn_shadow.api.auth import Holder, TokenBook
    from sdn_shadow.api.rest import create_app

    class Directory:
        """An LDAP stand-in: one user whose password is not ASCII."""

        def holder(self, user: str, password: str) -> Holder | None:
            return Holder(user, "viewer") if (user, password) == ("jürgen", "pässwörd€") \
                else None

    http = TestClient(create_app(Api().service, TokenBook(), Directory()))  # type: ignore[arg-type]

    def version(raw: bytes) -> int:
        header = "Basic " + base64.b64encode(raw).decode()
        return http.get(f"{PREFIX}/version", headers={"Authorization": header}).status_code

    assert version("jürgen:pässwörd€".encode()) == 200
    assert version("jürgen:wrong".encode()) == 401
    assert version(b"\xff\xfe:x") == 401  # not UTF-8
    assert http.get(f"{PREFIX}/version", headers={"Authorization": "Basic !!"}).json() == {
        "errors": [{"field": "authorization",
                    "reason": "Basic credentials must be base64 of UTF-8 user:password"}]}
