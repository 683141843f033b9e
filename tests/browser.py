"""Headless Debian chromium driven by Playwright, for the dashboard's and report's browser tests.

`need_browser()` skips a test when chromium or the playwright package is
missing, except under CI (`CI=true`), where it fails: CI installs both
(scripts/setup), so a missing browser there is a broken set-up, not a reason
to pass. `Watched` records what a page did: console errors, uncaught
exceptions, and every request that leaves the origin it was opened on.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

CHROMIUM = Path(os.environ.get("SDN_SHADOW_CHROMIUM", "/usr/bin/chromium"))
ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--disable-default-apps"]
LAPTOP = {"width": 1366, "height": 768}  # a common laptop screen


def in_ci() -> bool:
    """Whether the tests run in CI (where a missing browser is a failure)."""
    return os.environ.get("CI", "").lower() in {"true", "1", "yes"}


def need_browser() -> None:
    """Skip (fail under CI) unless the playwright package and Debian's chromium are here."""
    missing = []
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing.append("the playwright package (pip install -e '.[test]')")
    if not CHROMIUM.exists():
        missing.append(f"{CHROMIUM} (Debian's chromium: scripts/setup installs it)")
    if missing:
        why = "this browser test needs " + " and ".join(missing)
        if in_ci():
            pytest.fail(why + " (CI=true: not skipped)")
        pytest.skip(why)


def origin(url: str) -> str:
    """scheme://host:port of `url`."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


class Watched:
    """A page and what it did: console errors, page errors, requests to other origins."""

    def __init__(self, page: Any, home: str, artefacts: Path) -> None:
        self.page, self.home, self.artefacts = page, origin(home), artefacts
        self.errors: list[str] = []
        self.foreign: list[str] = []
        self.shots: list[Path] = []
        page.on("console", lambda m: self.errors.append(f"console: {m.text}")
                if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(f"page: {e}"))
        page.on("request", self._request)

    def _request(self, request: Any) -> None:
        url = request.url
        if url.startswith(("data:", "blob:", "about:")):
            return
        if origin(url) != self.home:
            self.foreign.append(url)

    def shot(self, name: str) -> Path:
        """A screenshot of the page kept as a test artefact; its path."""
        self.artefacts.mkdir(parents=True, exist_ok=True)
        safe = re.sub(r"[^\w.-]+", "-", name)
        path = self.artefacts / f"{len(self.shots) + 1:02d}-{safe}.png"
        self.page.screenshot(path=str(path), full_page=True)
        self.shots.append(path)
        return path

    def assert_clean(self) -> None:
        """No console error, no uncaught exception, no request to another origin."""
        assert self.errors == [], self.errors
        assert self.foreign == [], self.foreign


@contextmanager
def chromium(scheme: str = "light") -> Iterator[Any]:
    """A headless chromium (Debian's) and a context of a laptop's size in `scheme`."""
    need_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        try:
            context = browser.new_context(viewport=LAPTOP, color_scheme=scheme,
                                          service_workers="block")
            context.set_default_timeout(30_000)
            yield context
            context.close()
        finally:
            browser.close()


def artefacts_dir(tmp_path: Path, name: str) -> Path:
    """Where a test keeps its screenshots: $SDN_SHADOW_ARTEFACTS/<name> if set, else tmp_path."""
    root = os.environ.get("SDN_SHADOW_ARTEFACTS")
    return Path(root) / name if root else tmp_path / "artefacts"


@contextmanager
def watched_page(home: str, tmp_path: Path, name: str, scheme: str = "light"
                 ) -> Iterator[Watched]:
    """A watched page of a fresh chromium in `scheme`, keeping screenshots under `name`."""
    with chromium(scheme) as context:
        yield Watched(context.new_page(), home, artefacts_dir(tmp_path, name))


def log_in(page: Any, base: str, token: str) -> None:
    """Open the dashboard, give `token`, and wait until the stream's first snapshot shows."""
    page.goto(base + "/")
    page.fill("#token", token)
    page.click("#login-form button[type=submit]")
    page.wait_for_selector("#app:not([hidden])")
    wait_text(page, "#status", r"^Live", 60)


def wait_text(page: Any, selector: str, pattern: str, seconds: float = 30) -> None:
    """Wait until `selector`'s text matches `pattern` (a locator wait: no eval, which the
    page's Content-Security-Policy forbids)."""
    from playwright.sync_api import expect

    expect(page.locator(selector).first).to_have_text(re.compile(pattern, re.S),
                                                      timeout=seconds * 1000)


def open_report(path: Path, tmp_path: Path, scheme: str = "light") -> None:
    """Open a written demo report in chromium: every plot and timeline drawn, no console
    error, no request, nothing wider than a laptop (a screenshot kept)."""
    record_plots = path.read_text().count('class="plot" data-plot=')
    with chromium(scheme) as context:
        w = Watched(context.new_page(), path.as_uri(), artefacts_dir(tmp_path, "report"))
        page = w.page
        page.goto(path.as_uri())
        page.wait_for_selector("body[data-ready=yes]")
        plots = page.locator("[data-plot]")
        assert plots.count() == record_plots
        for i in range(plots.count()):
            plot = plots.nth(i)
            assert int(plot.get_attribute("data-drawn") or 0) > 0, i
            box = plot.locator("canvas").bounding_box()
            assert box is not None and box["width"] > 300 and box["height"] > 100, i
        for svg in page.locator("svg.timeline").all():
            assert svg.locator("g.mark").count() == int(svg.get_attribute("data-events"))
        assert page.evaluate("document.documentElement.scrollWidth") <= LAPTOP["width"]
        w.shot(f"report-{scheme}")
        w.foreign = [u for u in w.foreign if u != path.as_uri()]
        w.assert_clean()
