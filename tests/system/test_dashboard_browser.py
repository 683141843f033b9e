"""The dashboard in headless chromium against the fake ring, served over a loopback socket.

Each tab is rendered for an operator and a viewer, in light and dark: no
console error, no request off the controller's origin, nothing wider than a
laptop's screen; an operator's move goes through the confirmation (kept by
keyboard), a viewer gets no control at all. Screenshots are kept as
artefacts (see tests/browser.py).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest

from sdn_shadow.api.server import ApiServer
from sdn_shadow.dashboard import StreamSettings, mount_dashboard
from sdn_shadow.lab.net import free_tcp_port
from tests.browser import LAPTOP, Watched, artefacts_dir, chromium, log_in, wait_text
from tests.component.test_rest_api import Api

pytestmark = pytest.mark.system

VIEWER_PUT = """async (token) => (await fetch('/api/v1/networks/tenant-a/clients/h1', {
    method: 'PUT', body: '{"path": "shadow"}',
    headers: {Authorization: 'Bearer ' + token, 'Content-Type': 'application/json'}})).status"""
TABS = ("fabric", "demand", "shadows", "mirrors", "alerts", "timeline")


@pytest.fixture
def served() -> Iterator[tuple[Api, str]]:
    """The fake ring's API with the dashboard, served on 127.0.0.1; (api, base URL)."""
    api = Api()
    api.service.clock = itertools.count(100.0).__next__  # read from the server's threads
    mount_dashboard(api.http.app, api.service, StreamSettings(tick=0.2, snapshot_every=1.0))
    port = free_tcp_port()
    server = ApiServer(api.http.app, "127.0.0.1", port).start()
    server.server.config.timeout_graceful_shutdown = 2
    try:
        yield api, f"http://127.0.0.1:{port}"
    finally:
        server.stop()


def fits(page) -> bool:
    """Whether the page needs no sideways scrolling on the laptop's screen."""
    return page.evaluate("document.documentElement.scrollWidth") <= LAPTOP["width"]


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_every_tab_renders_for_an_operator(served, tmp_path: Path, scheme: str) -> None:
    api, base = served
    with chromium(scheme) as context:
        w = Watched(context.new_page(), base, artefacts_dir(tmp_path, f"fake-{scheme}"))
        page = w.page
        log_in(page, base, api.token["operator"])
        assert page.inner_text("#who") == "operator-1 (operator)"
        assert "4 switches (4 connected)" in page.inner_text("#fabric .summary")
        assert page.locator("#fabric svg g.switch").count() == 4
        for tab in TABS:
            page.click(f"#tab-{tab}")
            page.wait_for_selector(f"#{tab}:not([hidden])")
            page.locator(f"#{tab} > *").first.wait_for()
            assert fits(page), tab
            w.shot(f"operator-{tab}")
        background = page.evaluate("getComputedStyle(document.body).backgroundColor")
        channels = [int(x) for x in background.strip("rgba()").split(",")[:3]]
        assert (sum(channels) < 3 * 128) == (scheme == "dark"), background
        assert page.locator("#demand .u-wrap").count() == 1, "the chart is drawn"
        w.assert_clean()


def test_an_operator_moves_a_client_after_confirming_by_keyboard(served, tmp_path) -> None:
    api, base = served
    with chromium() as context:
        w = Watched(context.new_page(), base, artefacts_dir(tmp_path, "fake-move"))
        page = w.page
        log_in(page, base, api.token["operator"])
        page.click("#tab-shadows")
        move = page.locator('[data-key="tenant-a/h1/path"]')
        move.focus()
        page.keyboard.press("Enter")
        page.wait_for_selector("#confirm[open]")
        assert "Move tenant-a/h1 to its shadow path?" in page.inner_text("#confirm-text")
        page.keyboard.press("Escape")  # cancelled: nothing changes
        page.wait_for_selector("#confirm", state="hidden")
        assert api.get("/networks/tenant-a").json()["hosts"][0]["path"] == "primary"
        move.focus()
        page.keyboard.press("Enter")
        page.fill("#confirm-reason", "browser drill")
        w.shot("confirm")
        page.click("#confirm-ok")
        wait_text(page, "#status", r"^Done")
        h1 = next(h for h in api.get("/networks/tenant-a").json()["hosts"] if h["name"] == "h1")
        assert h1["path"] == "shadow"
        events = api.get("/events").json()["events"]
        assert events[-1]["reason"] == "api (operator-1): browser drill"
        page.wait_for_selector('[data-key="tenant-a/h1/path"]:text("move to primary")')
        w.shot("moved")
        w.assert_clean()


def test_a_viewer_sees_every_tab_and_no_control(served, tmp_path) -> None:
    api, base = served
    with chromium() as context:
        w = Watched(context.new_page(), base, artefacts_dir(tmp_path, "fake-viewer"))
        page = w.page
        log_in(page, base, api.token["viewer"])
        for tab in TABS:
            page.click(f"#tab-{tab}")
            page.locator(f"#{tab} > *").first.wait_for()
            actions = page.locator(f"#{tab} [data-key$='/path'], #{tab} [data-key$='/swap'],"
                                   f" #{tab} [data-key$='/activate'], #{tab} [data-key^='lift-']")
            assert actions.count() == 0, tab
        assert "Read only" in page.inner_text("#shadows")
        w.shot("viewer-shadows")
        status = page.evaluate(VIEWER_PUT, api.token["viewer"])
        assert status == 403
        assert api.sent == [], "nothing reached the switches"
        w.errors = [e for e in w.errors if "403" not in e]  # the refused fetch above, logged
        w.assert_clean()
