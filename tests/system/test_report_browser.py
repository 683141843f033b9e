"""The demo's report opened from disk in headless chromium: every plot drawn, nothing fetched."""

from __future__ import annotations

from pathlib import Path

import pytest

from sdn_shadow.report import write
from tests.browser import open_report
from tests.fakes.demo_record import demo_record

pytestmark = pytest.mark.system


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_report_opens_with_every_plot_present(tmp_path: Path, scheme: str) -> None:
    path = write(demo_record(), tmp_path / "report.html")
    open_report(path, tmp_path, scheme)
