"""The demo's report opened from disk in headless chromium: every plot drawn, nothing fetched."""

from __future__ import annotations

from pathlib import Path

import pytest

from sdn_shadow.report import write
from tests.browser import LAPTOP, Watched, artefacts_dir, chromium
from tests.fakes.demo_record import demo_record

pytestmark = pytest.mark.system


def open_report(path: Path, tmp_path: Path, scheme: str = "light") -> None:
    """Open a written report in chromium and check every plot and timeline is drawn."""
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


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_report_opens_with_every_plot_present(tmp_path: Path, scheme: str) -> None:
    path = write(demo_record(), tmp_path / "report.html")
    open_report(path, tmp_path, scheme)
