"""The dashboard in headless chromium against the fake ring, served over a loopback socket.

Each tab is rendered for an operator and a viewer, in light and dark: no
console error, no request off the controller's origin, nothing wider than a
laptop's screen; an operator's move goes through the confirmation (kept by
keyboard), a viewer gets no control at all; the timeline shows a real
slapd's LDAP mirror rounds and configuration changes, and filters them.
Screenshots are kept as artefacts (see tests/browser.py).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest

from sdn_shadow.api.server import ApiServer
from sdn_shadow.config import parse_config
from sdn_shadow.dashboard import StreamSettings, mount_dashboard
from sdn_shadow.directory.service import DirectoryMirrors
from sdn_shadow.lab.net import free_tcp_port
from tests.browser import LAPTOP, Watched, artefacts_dir, chromium, log_in, wait_text, watched_page
from tests.component.test_paths_api import fail
from tests.component.test_rest_api import Api, ring_document
from tests.slapd import loaded_slapd

pytestmark = pytest.mark.system

VIEWER_PUT = """async (token) => (await fetch('/api/v1/networks/tenant-a/clients/h1', {
    method: 'PUT', body: '{"path": "shadow"}',
    headers: {Authorization: 'Bearer ' + token, 'Content-Type': 'application/json'}})).status"""
TABS = ("fabric", "demand", "shadows", "mirrors", "alerts", "scaling", "timeline")
ACTIONS = ("[data-key$='/path'], [data-key$='/service'], [data-key$='/swap'], "
           "[data-key$='/activate'], [data-key$='/deactivate'], [data-key^='lift-'], "
           "[data-key^='edit-'], [data-key^='delete-'], form.mirror-form:visible")


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
    with watched_page(base, tmp_path, f"fake-{scheme}", scheme) as w:
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
    with watched_page(base, tmp_path, "fake-move") as w:
        page = w.page
        log_in(page, base, api.token["operator"])
        page.focus("#tab-fabric")  # the arrow keys move between tabs
        for key, selected in (("ArrowRight", "demand"), ("ArrowRight", "shadows"),
                              ("ArrowLeft", "demand"), ("ArrowRight", "shadows")):
            page.keyboard.press(key)
            assert page.get_attribute(f"#tab-{selected}", "aria-selected") == "true", key
            assert page.evaluate("document.activeElement.id") == f"tab-{selected}"
        assert page.is_visible("#shadows") and not page.is_visible("#demand")
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
        wait_text(page, "#outcome", r"^Done")
        h1 = next(h for h in api.get("/networks/tenant-a").json()["hosts"] if h["name"] == "h1")
        assert h1["path"] == "shadow"
        events = api.get("/events").json()["events"]
        assert events[-1]["reason"] == "api (operator-1): browser drill"
        page.wait_for_selector('[data-key="tenant-a/h1/path"]:text("move to primary")')
        w.shot("moved")
        w.assert_clean()


def test_a_viewer_sees_every_tab_and_no_control(served, tmp_path) -> None:
    api, base = served
    with watched_page(base, tmp_path, "fake-viewer") as w:
        page = w.page
        log_in(page, base, api.token["viewer"])
        for tab in TABS:
            page.click(f"#tab-{tab}")
            page.locator(f"#{tab} > *").first.wait_for()
            assert page.locator(f"#{tab}").locator(ACTIONS).count() == 0, tab
        assert "Read only" in page.inner_text("#shadows")
        w.shot("viewer-shadows")
        status = page.evaluate(VIEWER_PUT, api.token["viewer"])
        assert status == 403
        assert api.sent == [], "nothing reached the switches"
        w.errors = [e for e in w.errors if "403" not in e]  # the refused fetch above, logged
        w.assert_clean()


def confirm(page, reason: str) -> None:
    """Confirm the dialog that is open, with `reason`."""
    page.wait_for_selector("#confirm[open]")
    page.fill("#confirm-reason", reason)
    page.click("#confirm-ok")
    page.wait_for_selector("#confirm", state="hidden")


def test_an_operator_creates_edits_and_deletes_a_mirror_session(served, tmp_path) -> None:
    api, base = served
    with watched_page(base, tmp_path, "fake-mirrors") as w:
        page = w.page
        log_in(page, base, api.token["operator"])
        page.click("#tab-mirrors")
        page.fill("#mirror-name", "h1-web")
        page.fill("#mirror-hosts", "h1")
        page.select_option("#mirror-direction", "out")
        page.select_option("#mirror-proto", "tcp")
        page.fill("#mirror-port", "80")
        page.fill("#mirror-truncate", "128")
        page.select_option("#mirror-deliver", "stack")
        page.fill("#mirror-to", "h3s")
        w.shot("mirror-form")
        page.click(".mirror-form button[type=submit]")
        confirm(page, "watch the web")
        wait_text(page, "#outcome", r"^Done: Create mirror session h1-web")
        got = api.get("/networks/tenant-a/mirror-sessions/h1-web").json()
        assert (got["direction"], got["to"]) == ("out", ["h3s"])
        assert got["spec"]["match"] == {"proto": "tcp", "dst_port": 80}
        assert got["spec"]["truncate"] == 128 and got["deliver"] == "stack"
        page.wait_for_selector("[data-key='edit-tenant-a/h1-web']")
        page.click("[data-key='edit-tenant-a/h1-web']")
        assert page.input_value("#mirror-name") == "h1-web"
        assert page.input_value("#mirror-port") == "80"
        assert page.input_value("#mirror-deliver") == "stack"
        page.fill("#mirror-sample", "0.5")
        page.fill("#mirror-truncate", "")  # OVS cannot truncate what it samples
        page.click(".mirror-form button[type=submit]")
        confirm(page, "half is enough")
        wait_text(page, "#outcome", r"^Done: Replace mirror session h1-web")
        got = api.get("/networks/tenant-a/mirror-sessions/h1-web").json()
        assert got["spec"]["sample"] == 0.5 and "truncate" not in got["spec"]
        assert got["spec"]["match"] == {"proto": "tcp", "dst_port": 80}, "the rest kept"
        assert got["deliver"] == "stack", "the delivery kept"
        w.shot("mirror-edited")
        page.click("[data-key='delete-tenant-a/h1-web']")
        confirm(page, "done")
        wait_text(page, "#outcome", r"^Done: Delete mirror session h1-web")
        assert api.get("/networks/tenant-a/mirror-sessions/h1-web").status_code == 404
        page.wait_for_selector("[data-key='edit-tenant-a/h1-web']", state="detached")
        w.assert_clean()


def test_the_scaling_tab_shows_the_numbers_behind_the_advice(served, tmp_path) -> None:
    api, base = served
    with watched_page(base, tmp_path, "fake-scaling") as w:
        page = w.page
        log_in(page, base, api.token["viewer"])
        page.click("#tab-scaling")
        wait_text(page, "#scaling", r"The numbers behind tenant-a's advice")
        text = page.inner_text("#scaling")
        for figure in ("forecast interval", "capacity held", "instance capacity",
                       "instances needed", "Scaling requested by preemptive routing",
                       "Resource profiles"):
            assert figure in text, figure
        w.shot("scaling")
        w.assert_clean()


def hops(page, kind: str) -> list[str]:
    """The hops the graph highlights as the pair's `kind` path, in order."""
    return page.eval_on_selector_all(f"#fabric svg line.path[data-path='{kind}']",
                                     "els => els.map(e => e.dataset.hop)")


def test_the_fabric_highlights_a_pairs_paths_and_follows_a_move_and_a_failover(
        served, tmp_path) -> None:
    api, base = served
    with watched_page(base, tmp_path, "fake-paths", "dark") as w:
        page = w.page
        log_in(page, base, api.token["viewer"])
        wait_text(page, "#pair-paths", r"Choose a source")
        assert page.locator("#fabric svg line.path").count() == 0
        page.focus("#pair-src")  # by keyboard: "choose", then h1
        page.keyboard.press("ArrowDown")
        assert page.input_value("#pair-src") == "h1"
        page.select_option("#pair-dst", "h2")
        page.wait_for_selector("#fabric svg g.paths[data-current='primary']")
        assert hops(page, "primary") == ["s1-s2"]
        assert hops(page, "shadow") == ["s1-s4", "s4-s3", "s3-s2"]
        styles = page.eval_on_selector_all(
            "#fabric svg line.path", "els => els.map(e => [e.dataset.path, "
            "getComputedStyle(e).strokeDasharray])")
        assert {p for p, dash in styles if dash != "none"} == {"shadow"}, styles
        text = page.inner_text("#pair-paths")
        assert "primary s1 → s2 (traffic takes it now)" in text, text
        assert "shadow s1 → s4 → s3 → s2;" not in text and "shadow s1 → s4 → s3 → s2" in text
        w.shot("pair-primary")
        r = api.put("/networks/tenant-a/clients/h1", {"path": "shadow", "reason": "drill"})
        assert r.status_code == 200  # the stream tells the page; it asks again
        page.wait_for_selector("#fabric svg g.paths[data-current='shadow']")
        wait_text(page, "#pair-paths", r"shadow s1 → s4 → s3 → s2 \(traffic takes it now\)")
        assert page.locator("#fabric svg line.path.shadow.current").count() == 3
        api.put("/networks/tenant-a/clients/h1", {"path": "primary", "reason": "back"})
        page.wait_for_selector("#fabric svg g.paths[data-current='primary']")
        with api.service.lock:  # s1-s2 goes down: traffic is pinned to the shadow
            api.core.port_status(0.0, 1, 10, False)
        page.wait_for_selector("#fabric svg g.paths[data-current='shadow']")
        wait_text(page, "#pair-paths", r"failed link on the primary path")
        w.shot("pair-failover")
        page.select_option("#pair-dst", "h1")  # the same host twice: nothing to draw
        wait_text(page, "#pair-paths", r"Choose two different hosts")
        assert page.locator("#fabric svg line.path").count() == 0
        w.assert_clean()


def test_the_fabric_follows_a_transit_switchs_group_to_where_traffic_is_lost(
        served, tmp_path) -> None:
    api, base = served
    with watched_page(base, tmp_path, "fake-lost") as w:
        page = w.page
        log_in(page, base, api.token["viewer"])
        page.select_option("#pair-src", "h4")
        page.select_option("#pair-dst", "h2")
        page.wait_for_selector("#fabric svg g.paths[data-current='primary']")
        assert page.locator("#fabric svg line.path.taken").count() == 0
        # s1-s2 and s3-s4 down cut the ring in two: s4 still sends on to s1 (its link
        # there is up), and s1's group has only the way back left
        fail(api, ("s1", "s2"))
        fail(api, ("s3", "s4"))
        page.wait_for_selector("#fabric svg g.paths[data-current='lost'][data-taken='s4 s1']")
        assert hops(page, "taken") == ["s4-s1"]
        assert page.locator("#fabric svg line.path.taken.current").count() == 1
        wait_text(page, "#pair-paths", r"traffic is lost: it gets as far as s4 → s1 · lost at s1")
        w.shot("pair-lost")
        w.assert_clean()


LDAP_P, LDAP_S = "ou=tenant-a,dc=example,dc=org", "ou=tenant-a-shadow,dc=example,dc=org"
PRIMARY = [(LDAP_P, {"objectClass": "organizationalUnit", "ou": "tenant-a"}),
           (f"cn=h1,{LDAP_P}", {"objectClass": ["device", "ipHost"], "cn": "h1",
                                "ipHostNumber": "10.0.0.1"})]


def mirroring(api: Api, slapd, tmp_path: Path) -> DirectoryMirrors:
    """tenant-a's LDAP mirror on `slapd`, started, each round going to the core as the
    controller's runner gives it (the core decides which rounds are events)."""
    password = tmp_path / "ldap-password"
    password.write_text(slapd.password + "\n")
    data = ring_document()
    data["networks"]["tenant-a"]["shadow"]["ldap"] = {
        "url": slapd.url, "bind_dn": slapd.bind_dn, "password_file": str(password),
        "primary_base": LDAP_P, "shadow_base": LDAP_S, "interval": 0.3}

    def report(network: str, round_report) -> None:
        with api.service.lock:
            api.core.ldap_round(api.service.clock(), network, round_report)

    return DirectoryMirrors(parse_config(data), report).start()


def listed(page, only: str, count: int | None = None) -> list[str]:
    """The timeline's entries, newest first, once all it shows match `only` (and there are
    `count`, if given): a filter is drawn on the next frame, so wait for it."""
    from playwright.sync_api import expect

    expect(page.locator(f"#timeline ol.timeline li:not({only})")).to_have_count(0)
    if count is not None:
        expect(page.locator("#timeline ol.timeline li")).to_have_count(count)
    return page.eval_on_selector_all("#timeline ol.timeline li",
                                     "els => els.map(e => e.textContent)")


def test_the_timeline_shows_ldap_rounds_and_config_changes_and_filters_them(
        served, tmp_path) -> None:
    api, base = served
    with loaded_slapd(tmp_path, PRIMARY) as slapd, chromium() as context:
        w = Watched(context.new_page(), base, artefacts_dir(tmp_path, "fake-timeline"))
        page = w.page
        log_in(page, base, api.token["viewer"])
        page.click("#tab-timeline")
        assert api.put("/networks/tenant-a/clients/h1", {"path": "shadow"}).status_code == 200
        mirrors = mirroring(api, slapd, tmp_path)
        try:
            page.wait_for_selector("li[data-kind=ldap][data-result=ok]")
            slapd.stop()  # a round fails; the first good one after it is shown too
            page.wait_for_selector("li[data-kind=ldap][data-result=failed].bad")
            slapd.start()
            page.wait_for_selector("li[data-kind=ldap][data-result=ok] >> nth=1")
        finally:
            assert mirrors.stop(10)
        session = {"name": "h1-web", "hosts": ["h1"], "direction": "out", "to": ["h3s"]}
        r = api.post("/networks/tenant-a/mirror-sessions", session)
        assert r.status_code in (200, 201), r.text
        with api.service.lock:  # the file read again: once good, once refused
            api.core.reload(api.service.clock(), api.core.config)
            api.core.reload_rejected(api.service.clock(), ["networks.tenant-a.cidr: bad"])
        page.wait_for_selector("li[data-kind=config][data-result=rejected].bad")
        w.shot("timeline-everything")
        page.select_option("#timeline-topic", "configuration")
        configs = listed(page, "[data-kind=config]", 3)
        assert len(configs) == 3 and all(" config configuration " in t for t in configs), configs
        assert "configuration rejected from the configuration file — networks." in configs[0]
        assert "configuration applied from the configuration file — reloaded: " in configs[1]
        assert ("configuration applied over the API: mirror session h1-web created by "
                "operator-1 — mirror session h1-web created by operator-1: reloaded") \
            in configs[2], configs[2]
        page.select_option("#timeline-topic", "directory")
        rounds = listed(page, "[data-kind=ldap]")
        results = [t.split(": round ")[1].split(" ")[0] for t in rounds]  # newest first
        assert results[0] == results[-1] == "ok" and set(results[1:-1]) == {"failed"}, rounds
        assert all("LDAP mirror of tenant-a" in t for t in rounds), rounds
        assert "added" in rounds[-1] and all("error: " in t for t in rounds[1:-1]), rounds
        w.shot("timeline-ldap")
        page.fill("#timeline-text", "error")  # within the topic, by text
        assert listed(page, "[data-result=failed]") == rounds[1:-1]
        page.select_option("#timeline-topic", "")
        page.select_option("#timeline-kind", "ldap")
        page.fill("#timeline-text", "")
        assert listed(page, "[data-kind=ldap]", len(rounds)) == rounds, "the kind: the same"
        page.select_option("#timeline-kind", "")
        page.select_option("#timeline-topic", "routing")
        routing = listed(page, "[data-kind=move]")
        assert len(routing) == 1 and " move tenant-a/h1 → shadow path — api " in routing[0]
        w.assert_clean()
