"""The dashboard's mirror form in headless chromium: an edit keeps what the session matches.

Sessions made over the REST API with every filter field (protocol, source,
destination and their ports) or with sources given by switch port are edited
through the form; the API then answers with everything the edit did not change.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser import log_in, wait_text, watched_page
from tests.system import test_dashboard_browser as board

pytestmark = pytest.mark.system
served = board.served  # the fixture: the fake ring's API with the dashboard, on loopback

MATCH = {"proto": "udp", "src": "10.0.0.0/24", "dst": "10.0.0.3", "src_port": 5000,
         "dst_port": 5201}
SESSIONS = [{"name": "h1-udp", "hosts": ["h1"], "direction": "both", "match": MATCH,
             "to": ["h3s"]},
            {"name": "s2-port", "ports": ["s2:1"], "direction": "in", "to": ["h4s"]}]


def edit(page, network: str, name: str, reason: str) -> None:
    """Save session `name` as the form shows it after a change of its sample."""
    page.click(f"[data-key='edit-{network}/{name}']")
    page.fill("#mirror-sample", "0.5")
    page.click(".mirror-form button[type=submit]")
    board.confirm(page, reason)
    wait_text(page, "#outcome", rf"^Done: Replace mirror session {name}")


def test_editing_a_session_keeps_its_filter_and_its_ports(served, tmp_path: Path) -> None:
    api, base = served
    for session in SESSIONS:
        r = api.post("/networks/tenant-a/mirror-sessions", session)
        assert r.status_code == 201, r.text
    with watched_page(base, tmp_path, "fake-mirror-form") as w:
        page = w.page
        log_in(page, base, api.token["operator"])
        page.click("#tab-mirrors")
        page.wait_for_selector("[data-key='edit-tenant-a/s2-port']")

        edit(page, "tenant-a", "h1-udp", "half of it")
        got = api.get("/networks/tenant-a/mirror-sessions/h1-udp").json()["spec"]
        assert got["match"] == MATCH, "every filter field kept"
        assert (got["sample"], got["hosts"], got["to"]) == (0.5, ["h1"], ["h3s"])

        edit(page, "tenant-a", "s2-port", "half of that")
        got = api.get("/networks/tenant-a/mirror-sessions/s2-port").json()["spec"]
        assert (got["ports"], got["sample"], got["direction"]) == (["s2:1"], 0.5, "in")
        assert "hosts" not in got and "match" not in got

        page.click("[data-key='edit-tenant-a/h1-udp']")  # and the form shows them
        shown = {key: page.input_value(f"#mirror-{key}")
                 for key in ("proto", "src", "dst", "src-port", "port")}
        assert shown == {"proto": "udp", "src": "10.0.0.0/24", "dst": "10.0.0.3",
                         "src-port": "5000", "port": "5201"}
        w.shot("mirror-form-filter")
        w.assert_clean()
