"""Directory login on the dashboard in headless chromium: a real slapd, `api.ldap` set.

A directory operator and a directory viewer log in on the page; the
credential travels as the Authorization header the page's script sets on
every request (the browser holds no cookie), the roles apply (a viewer sees
no control and the API refuses it 403), and a wrong password shows a clear
message. No console error beyond the refused logins' own, nothing off the
controller's origin.
"""

from __future__ import annotations

import base64
import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sdn_shadow.api.auth import TokenBook
from sdn_shadow.api.ldap_roles import LdapRoles
from sdn_shadow.api.rest import create_app
from sdn_shadow.api.server import ApiServer
from sdn_shadow.config.model import LdapRoleSettings
from sdn_shadow.dashboard import StreamSettings, mount_dashboard
from sdn_shadow.lab.net import free_tcp_port
from tests.browser import wait_text, watched_page
from tests.component.test_rest_api import Api
from tests.slapd import loaded_slapd
from tests.system.test_dashboard_browser import ACTIONS, TABS, VIEWER_PUT, confirm

pytestmark = pytest.mark.system

SUFFIX = "dc=example,dc=org"
PEOPLE = f"ou=people,{SUFFIX}"
GROUPS = f"ou=groups,{SUFFIX}"
PASSWORDS = {"carol": "carol-secret", "bob": "bob-secret", "dave": "dave-secret"}
DIRECTORY: list[tuple[str, dict]] = [
    (PEOPLE, {"objectClass": "organizationalUnit", "ou": "people"}),
    (GROUPS, {"objectClass": "organizationalUnit", "ou": "groups"}),
    *((f"uid={uid},{PEOPLE}", {"objectClass": "inetOrgPerson", "uid": uid, "cn": uid,
                               "sn": uid, "userPassword": password})
      for uid, password in PASSWORDS.items()),
    (f"cn=operators,{GROUPS}", {"objectClass": "posixGroup", "cn": "operators",
                                "gidNumber": "500", "memberUid": ["carol"]}),
    (f"cn=noc,{GROUPS}", {"objectClass": "groupOfNames", "cn": "noc",
                          "member": [f"uid=bob,{PEOPLE}"]}),
]
GROUP_DNS = {"viewer": f"cn=noc,{GROUPS}", "operator": f"cn=operators,{GROUPS}"}
REFUSED = "Failed to load resource: the server responded with a status of 401"


@pytest.fixture
def served(tmp_path) -> Iterator[tuple[Api, str]]:
    """The fake ring's API with `api.ldap` on a private slapd and the dashboard, served
    on 127.0.0.1; (api, base URL). No API token exists: only directory users log in."""
    with loaded_slapd(tmp_path, DIRECTORY) as slapd:
        api = Api()
        api.service.clock = itertools.count(100.0).__next__  # read from the server's threads
        ldap = LdapRoles(LdapRoleSettings(slapd.url, f"uid={{user}},{PEOPLE}", GROUP_DNS,
                                          timeout=5.0, cache_seconds=30.0))
        app = create_app(api.service, TokenBook(), ldap)
        mount_dashboard(app, api.service, StreamSettings(tick=0.2, snapshot_every=1.0))
        port = free_tcp_port()
        server = ApiServer(app, "127.0.0.1", port).start()
        server.server.config.timeout_graceful_shutdown = 2
        try:
            yield api, f"http://127.0.0.1:{port}"
        finally:
            server.stop()


def basic(user: str) -> str:
    """The Authorization header value the page should send for `user`."""
    return "Basic " + base64.b64encode(f"{user}:{PASSWORDS[user]}".encode()).decode()


def log_in_as(page: Any, base: str, user: str, password: str) -> None:
    """Open the page and submit the directory user form (no token)."""
    page.goto(base + "/")
    page.click("#login-form summary")  # "Directory user instead"
    page.fill("#user", user)
    page.fill("#password", password)
    page.click("#login-form button[type=submit]")


class Sent:
    """The headers of every request the page made to the API."""

    def __init__(self, page: Any) -> None:
        self.requests: list[Any] = []
        page.on("requestfinished", lambda r: self.requests.append(r)
                if "/api/v1/" in r.url else None)

    def headers(self) -> list[dict[str, str]]:
        return [r.all_headers() for r in self.requests]


def assert_header_only(context: Any, sent: Sent, user: str) -> None:
    """Every API request carried `user`'s credential in the header the script sets, and
    nothing went as a cookie (the browser holds none)."""
    headers = sent.headers()
    assert headers, "the page asked the API nothing"
    assert {h.get("authorization") for h in headers} == {basic(user)}, user
    assert all("cookie" not in h for h in headers), [h for h in headers if "cookie" in h]
    assert context.cookies() == []


def test_a_directory_operator_logs_in_and_moves_a_client(served, tmp_path: Path) -> None:
    api, base = served
    with watched_page(base, tmp_path, "ldap-operator") as w:
        page, sent = w.page, Sent(w.page)
        log_in_as(page, base, "carol", "wrong-secret")
        wait_text(page, "#login-error", r"^The directory refused carol: wrong user name or "
                  r"password, or no role here \(authorization: LDAP refused")
        assert page.is_visible("#login") and not page.is_visible("#app")
        w.shot("wrong-password")
        assert [e for e in w.errors if REFUSED not in e] == [], w.errors
        w.errors.clear()  # the refused login's fetch, logged by chromium itself
        sent.requests.clear()
        page.fill("#password", PASSWORDS["carol"])
        page.click("#login-form button[type=submit]")
        page.wait_for_selector("#app:not([hidden])")
        wait_text(page, "#status", r"^Live", 60)
        assert page.inner_text("#who") == "carol (operator)"
        assert page.input_value("#password") == "", "the form keeps no password"
        page.click("#tab-shadows")
        page.click('[data-key="tenant-a/h1/path"]')
        confirm(page, "directory drill")
        wait_text(page, "#outcome", r"^Done")
        h1 = next(h for h in api.get("/networks/tenant-a").json()["hosts"] if h["name"] == "h1")
        assert h1["path"] == "shadow"
        assert api.get("/events").json()["events"][-1]["reason"] == "api (carol): directory drill"
        w.shot("operator-moved")
        assert_header_only(w.page.context, sent, "carol")
        w.assert_clean()


def test_a_directory_viewer_sees_no_control_and_is_refused_a_change(served, tmp_path) -> None:
    api, base = served
    with watched_page(base, tmp_path, "ldap-viewer") as w:
        page, sent = w.page, Sent(w.page)
        log_in_as(page, base, "bob", PASSWORDS["bob"])
        page.wait_for_selector("#app:not([hidden])")
        wait_text(page, "#status", r"^Live", 60)
        assert page.inner_text("#who") == "bob (viewer)"
        for tab in TABS:
            page.click(f"#tab-{tab}")
            page.locator(f"#{tab} > *").first.wait_for()
            assert page.locator(f"#{tab}").locator(ACTIONS).count() == 0, tab
        w.shot("viewer-shadows")
        assert_header_only(w.page.context, sent, "bob")
        status = page.evaluate(VIEWER_PUT.replace("'Bearer ' + token", "token"), basic("bob"))
        assert status == 403
        assert api.sent == [], "nothing reached the switches"
        w.errors = [e for e in w.errors if "403" not in e]  # the refused fetch above, logged
        w.assert_clean()


def test_a_user_in_no_group_and_an_unknown_user_are_refused_clearly(served, tmp_path) -> None:
    _, base = served
    with watched_page(base, tmp_path, "ldap-refused") as w:
        page = w.page
        for user, password in (("dave", PASSWORDS["dave"]), ("mallory", "x")):
            log_in_as(page, base, user, password)
            wait_text(page, "#login-error", rf"^The directory refused {user}: wrong user name")
            assert not page.is_visible("#app")
        assert page.evaluate("sessionStorage.length") == 0, "no refused credential kept"
        assert len(w.errors) == 2 and all(REFUSED in e for e in w.errors), w.errors
        w.errors.clear()
        w.assert_clean()
        assert w.page.context.cookies() == []

