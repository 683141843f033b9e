"""The dashboard in headless chromium against the real controller and the Mininet lab.

examples/lab.yaml (two switches, one trunk, fast telemetry and forecasts)
with a watch on h2s that blocks what it alerts on. An operator logs in with
a token, sees the two switches and the trunk, a forecast band for the trunk
while h1 sends UDP to h2 (and the Scaling tab's advice to add an instance, and
the mirror counters the switches report), moves h1 to the shadow from the page (confirmed),
which the API and `ovs-ofctl dump-flows` show, and sees the alert and the
block after h3 scans h2 with nmap. A viewer sees the same and can change
nothing. Every page logs no console error and asks nothing of another origin.
Screenshots are kept (tests/browser.py: `artefacts_dir`).
"""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from sdn_shadow.api.auth import TokenBook
from sdn_shadow.lab.net import free_tcp_port
from sdn_shadow.lab.session import Lab, running_lab
from tests.browser import Watched, artefacts_dir, chromium, log_in, need_browser, wait_text

pytestmark = pytest.mark.integration

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
ACTIONS = ("[data-key$='/path'], [data-key$='/service'], [data-key$='/swap'], "
           "[data-key$='/activate'], [data-key$='/deactivate'], [data-key^='lift-'], "
           "[data-key^='edit-'], [data-key^='delete-'], form.mirror-form:visible")


def config() -> dict:
    """examples/lab.yaml with a watch on h2s whose live response blocks a scanner."""
    data = yaml.safe_load((EXAMPLES / "lab.yaml").read_text())
    data["networks"]["tenant-a"]["shadow"]["detect"] = {
        "on": ["h2s"], "learn": 0, "response": {"mode": "live", "ttl": 300}}
    return data


@pytest.fixture(scope="module")
def lab(tmp_path_factory) -> Iterator[tuple[Lab, str, dict[str, str]]]:
    """The lab with the API and dashboard on 127.0.0.1; (lab, base URL, token per role)."""
    need_browser()  # before starting a lab that could not be looked at
    from topologies.lab import LabTopo

    tmp = tmp_path_factory.mktemp("dashboard-lab")
    book, tokens = TokenBook(), tmp / "tokens.yaml"
    token = {role: book.add(f"{role}-user", role) for role in ("viewer", "operator")}
    book.save(tokens)
    port = free_tcp_port()
    args = ("--api", f"127.0.0.1:{port}", "--tokens", str(tokens))
    with running_lab(LabTopo(), config(), tmp, args) as lab_:
        yield lab_, f"http://127.0.0.1:{port}", token


def until(what: str, check: Callable[[], Any], seconds: float = 60.0) -> Any:
    """`check()`'s first truthy answer, polled until a generous deadline (then fail)."""
    deadline = time.monotonic() + seconds
    while True:
        got = check()
        if got:
            return got
        if time.monotonic() > deadline:
            pytest.fail(f"not within {seconds:g} s: {what}")
        time.sleep(0.5)


def flows(switch: str) -> list[str]:
    """`ovs-ofctl -O OpenFlow13 dump-flows` of `switch`, without the counters."""
    out = subprocess.run(["ovs-ofctl", "-O", "OpenFlow13", "--no-stats", "dump-flows", switch],
                         capture_output=True, text=True, check=True).stdout
    return sorted(line.strip() for line in out.splitlines() if "cookie=" in line)


def api(base: str, token: str) -> httpx.Client:
    return httpx.Client(base_url=f"{base}/api/v1", timeout=10,
                        headers={"Authorization": f"Bearer {token}"})


class Udp:
    """UDP h1 -> h2 at `rate` until stopped (iperf3; the server answers one client)."""

    def __init__(self, lab: Lab, rate: str, seconds: int = 120, port: int = 5311) -> None:
        h1, h2 = lab.host("h1"), lab.host("h2")
        self.server = h2.popen(["iperf3", "-s", "-1", "-p", str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        until("iperf3 listens on h2", lambda: str(port) in h2.cmd(f"ss -Hltn sport = :{port}"),
              10)
        self.client = h1.popen(["iperf3", "-c", "10.0.0.2", "-p", str(port), "-u", "-b", rate,
                                "-t", str(seconds)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def stop(self) -> None:
        for proc in (self.client, self.server):
            if proc.poll() is None:
                proc.kill()
            proc.wait()


def test_an_operator_watches_moves_a_client_and_sees_a_scan_blocked(lab, tmp_path) -> None:
    lab_, base, token = lab
    with chromium() as context, api(base, token["viewer"]) as http:
        w = Watched(context.new_page(), base, artefacts_dir(tmp_path, "dashboard-lab"))
        page = w.page
        log_in(page, base, token["operator"])
        assert page.inner_text("#who") == "operator-user (operator)"
        wait_text(page, "#fabric .summary", r"^2 switches \(2 connected\), 1 links, 0 failed")
        assert page.locator("#fabric svg g.switch").count() == 2
        assert page.locator("#fabric svg g.link").count() == 1
        w.shot("fabric")

        udp = Udp(lab_, "40M")
        try:
            page.click("#tab-demand")
            page.select_option("#series", "link:s1:s2")
            chart = page.locator("#demand .chart")
            until("a forecast band for the busy trunk s1 -> s2",
                  lambda: int(chart.get_attribute("data-band") or 0) >= 3, 90)
            assert chart.get_attribute("data-series") == "link:s1:s2"
            row = page.locator("#demand tr", has_text="link s1 → s2").first
            interval = row.locator("td").nth(3).inner_text()
            assert re.match(r"^[\d.]+ \S+ – [\d.]+ \S+$", interval), interval
            assert not row.locator("td").nth(1).inner_text().startswith("0.00"), "measured"
            w.shot("demand-band")
            page.click("#tab-scaling")  # 40 Mbit/s held needs 2 shadow instances of 20
            wait_text(page, "#scaling", r"instance capacity\s*20 Mbit/s", 30)
            wait_text(page, "#scaling", r"scale up by \d+", 60)
            w.shot("scaling")
            page.click("#tab-mirrors")
            h1_both = page.locator("#mirrors tr", has_text="h1-both").first
            until("h1-both's copies counted from the switches",
                  lambda: int(h1_both.locator("td").nth(7).inner_text() or 0) > 0, 30)
            w.shot("mirrors")
        finally:
            udp.stop()

        before = flows("s1")
        page.click("#tab-shadows")
        page.click('[data-key="tenant-a/h1/path"]')
        page.wait_for_selector("#confirm[open]")
        assert "Move tenant-a/h1 to its shadow path?" in page.inner_text("#confirm-text")
        page.fill("#confirm-reason", "dashboard e2e")
        w.shot("confirm-move")
        page.click("#confirm-ok")
        wait_text(page, "#outcome", r"^Done: Move tenant-a/h1")
        h1 = next(h for h in http.get("/networks/tenant-a").json()["hosts"] if h["name"] == "h1")
        assert h1["path"] == "shadow"
        moved = [e for e in http.get("/events").json()["events"] if e["kind"] == "move"]
        assert moved[-1]["reason"] == "api (operator-user): dashboard e2e"
        after = until("s1's flows change for h1's move", lambda: flows("s1") != before
                      and flows("s1"), 30)
        vlan = next(n["shadow"]["vlan"] for n in http.get("/networks").json()
                    if n["name"] == "tenant-a")
        added = sorted(set(after) - set(before))
        assert any(re.search(rf"\b(dl_vlan={vlan}|{vlan + 4096}->vlan_vid|vlan_vid:{vlan})\b",
                             f) for f in added), added
        page.wait_for_selector('[data-key="tenant-a/h1/path"]:text("move to primary")')
        w.shot("moved")

        h3 = lab_.host("h3")
        scan = h3.popen(["nmap", "-sS", "-Pn", "-n", "-T4", "--max-retries", "1", "-p", "1-200",
                         "10.0.0.2"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            page.click("#tab-alerts")
            wait_text(page, "#alerts", r"port_scan", 60)
            wait_text(page, "#alerts", r"10\.0\.0\.3.*drop", 60)
        finally:
            if scan.poll() is None:
                scan.kill()
            scan.wait()
        assert page.locator("[data-key='lift-tenant-a-10.0.0.3']").count() == 1
        alerts = http.get("/alerts").json()
        assert any("10.0.0.3" in a["sources"] for a in alerts), alerts
        assert any("nw_src=10.0.0.3" in f and "drop" in f for f in flows("s1"))
        w.shot("alert-and-block")
        page.click("#tab-timeline")
        wait_text(page, "#timeline", r"move")
        w.shot("timeline")
        w.assert_clean()


def test_a_viewer_sees_the_lab_and_can_change_nothing(lab, tmp_path) -> None:
    lab_, base, token = lab
    with chromium("dark") as context, api(base, token["viewer"]) as http:
        w = Watched(context.new_page(), base, artefacts_dir(tmp_path, "dashboard-lab-viewer"))
        page = w.page
        log_in(page, base, token["viewer"])
        wait_text(page, "#fabric .summary", r"^2 switches \(2 connected\), 1 links")
        for tab in ("shadows", "alerts", "mirrors", "scaling", "demand", "timeline"):
            page.click(f"#tab-{tab}")
            page.locator(f"#{tab} > *").first.wait_for()
            assert page.locator(f"#{tab}").locator(ACTIONS).count() == 0, tab
            w.shot(f"viewer-{tab}")
        assert "Read only" in page.inner_text("#shadows")
        before = {f for f in flows("s1")}
        r = http.put("/networks/tenant-a/clients/h3", json={"path": "shadow"})
        assert r.status_code == 403
        r = http.post("/networks/tenant-a/shadow/activate", json={"reason": "x"})
        assert r.status_code == 403
        assert set(flows("s1")) == before, "the switches did not change"
        w.assert_clean()
