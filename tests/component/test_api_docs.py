"""The API's docs pages: offline assets, and a token (bearer or Basic) like every other route."""

from __future__ import annotations

import asyncio
import base64
import re

import pytest
from fastapi.testclient import TestClient

from sdn_shadow.api.auth import Holder, TokenBook
from sdn_shadow.api.rest import PREFIX, create_app
from tests.component.test_rest_api import Api

CHALLENGE = 'Basic realm="sdn-shadow"'
PAGES = ("/docs", "/redoc")
SCRIPT_OR_STYLE = ("text/javascript", "application/javascript", "text/css")


def basic(user: str, password: str) -> dict[str, str]:
    """An HTTP Basic Authorization header."""
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def referenced(html: str) -> dict[str, str]:
    """What a docs page loads, by URL: the kind of reference (src, href, spec-url, url)."""
    refs = {url: kind for kind, url in re.findall(r'\b(src|href|spec-url)="([^"]+)"', html)}
    refs.update({url: "url" for url in re.findall(r"\burl: '([^']+)'", html)})
    return refs


@pytest.fixture
def api() -> Api:
    return Api()


@pytest.mark.parametrize("path", [*PAGES, "/openapi.json", "/docs/assets/swagger-ui-bundle.js"])
def test_without_credentials_the_browser_is_asked_to_log_in(api: Api, path: str) -> None:
    r = api.http.get(path)
    assert r.status_code == 401, r.text
    assert r.headers["www-authenticate"] == CHALLENGE
    assert r.json()["errors"][0]["field"] == "authorization"
    r = api.http.get(path, headers=basic("someone", "not-a-token"))
    assert r.status_code == 401 and r.headers["www-authenticate"] == CHALLENGE
    r = api.http.get(path, headers={"Authorization": "Bearer not-a-token"})
    assert r.status_code == 401 and r.headers["www-authenticate"] == CHALLENGE


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("how", ["bearer", "basic"])
def test_the_pages_load_only_local_assets_that_answer(api: Api, page: str, how: str) -> None:
    token = api.token["viewer"]
    auth = {"Authorization": f"Bearer {token}"} if how == "bearer" else basic("any", token)
    r = api.http.get(page, headers=auth)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/html")
    html = r.text
    assert "http://" not in html and "https://" not in html, "a page must not load from a CDN"
    refs = referenced(html)
    assert "/openapi.json" in refs
    scripts = [url for url, kind in refs.items() if kind == "src"]
    assert scripts, html
    for url, kind in refs.items():
        assert url.startswith("/") and not url.startswith("//"), url
        got = api.http.get(url, headers=auth)
        assert got.status_code == 200, (url, got.text[:200])
        kind_of = got.headers["content-type"]
        if url == "/openapi.json":
            assert kind_of.startswith("application/json")
        elif kind == "src" or url.endswith(".css"):
            assert kind_of.startswith(SCRIPT_OR_STYLE), (url, kind_of)
            assert len(got.content) > 10_000, url
        else:  # the favicon
            assert kind_of.startswith("image/"), (url, kind_of)
    if page == "/docs":
        assert any(u.endswith(".css") for u in refs)


def test_the_openapi_document_needs_a_token(api: Api) -> None:
    assert api.http.get("/openapi.json").status_code == 401
    for auth in ({"Authorization": f"Bearer {api.token['viewer']}"},
                 basic("", api.token["viewer"]), basic("me", api.token["admin"])):
        r = api.http.get("/openapi.json", headers=auth)
        assert r.status_code == 200, r.text
        assert f"{PREFIX}/networks" in r.json()["paths"]
    paths = r.json()["paths"]
    assert not {"/docs", "/redoc", "/openapi.json"} & set(paths), "the docs are not API routes"


def test_an_unknown_asset_is_404_and_needs_a_token_first(api: Api) -> None:
    assert api.http.get("/docs/assets/nothing.js").status_code == 401
    r = api.http.get("/docs/assets/nothing.js", headers=basic("x", api.token["viewer"]))
    assert r.status_code == 404


def test_api_routes_take_the_token_as_a_basic_password_too(api: Api) -> None:
    r = api.http.get(f"{PREFIX}/networks", headers=basic("browser", api.token["viewer"]))
    assert r.status_code == 200 and [n["name"] for n in r.json()] == ["tenant-a"]
    r = api.http.post(f"{PREFIX}/networks/tenant-a/shadow/activate",
                      headers=basic("browser", api.token["viewer"]))
    assert r.status_code == 403, "the token's role still counts"
    r = api.http.get(f"{PREFIX}/networks", headers=basic("browser", "wrong"))
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"


class FakeLdap:
    """LDAP roles without a directory: alice/secret is a viewer."""

    def holder(self, user: str, password: str) -> Holder | None:
        return Holder(user, "viewer") if (user, password) == ("alice", "secret") else None


def test_ldap_users_log_in_to_the_docs_with_basic(api: Api) -> None:
    book = TokenBook()
    token = book.add("ci", "viewer")
    http = TestClient(create_app(api.service, book, ldap=FakeLdap()))
    assert http.get("/docs", headers=basic("alice", "secret")).status_code == 200
    assert http.get("/docs", headers=basic("anyone", token)).status_code == 200
    r = http.get("/docs", headers=basic("alice", "wrong"))
    assert r.status_code == 401 and r.headers["www-authenticate"] == CHALLENGE
    r = http.get("/redoc")
    assert r.status_code == 401 and r.headers["www-authenticate"] == CHALLENGE
    assert "LDAP" in r.json()["errors"][0]["reason"]


def test_the_token_is_checked_before_the_body_is_read(api: Api) -> None:
    app = api.http.app
    read: list[bytes] = []

    async def receive() -> dict:
        read.append(b"{not json")
        return {"type": "http.request", "body": b"{not json", "more_body": False}

    async def call(headers: list[tuple[bytes, bytes]]) -> int:
        status: list[int] = []

        async def send(message: dict) -> None:
            if message["type"] == "http.response.start":
                status.append(message["status"])

        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
                 "method": "POST", "scheme": "http", "path": f"{PREFIX}/networks",
                 "raw_path": f"{PREFIX}/networks".encode(), "root_path": "",
                 "query_string": b"", "server": ("testserver", 80), "client": ("test", 1),
                 "headers": [(b"content-type", b"application/json"), *headers]}
        await app(scope, receive, send)
        return status[0]

    assert asyncio.run(call([])) == 401
    assert read == [], "no body is read for a caller without a token"
    auth = f"Bearer {api.token['admin']}".encode()
    assert asyncio.run(call([(b"authorization", auth)])) == 422
    assert read, "with a token the body is read (and found malformed)"
