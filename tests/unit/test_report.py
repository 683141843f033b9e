"""The demo's HTML report: self-contained, every figure present, forecasts aligned, escaped."""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re

from sdn_shadow.report import act_span, aligned, counts, coverage, render, write
from tests.fakes.demo_record import T0, demo_record, ramp_samples


def test_the_report_needs_nothing_from_outside() -> None:
    page = render(demo_record())
    assert not re.search(r'(src|href)\s*=\s*"(https?:)?//', page), "no remote asset"
    assert "<link" not in page and "@import" not in page
    assert "uPlot" in page and "The MIT License" in page, "the library inlined, its licence"
    [csp] = [html.unescape(x) for x in
             re.findall(r'http-equiv="Content-Security-Policy" content="([^"]+)"', page)]
    assert "default-src 'none'" in csp and "connect-src" not in csp
    scripts = re.findall(r"<script>(.*?)</script>", page, re.S)
    assert len(scripts) == 2
    for code in scripts:  # each inline script is allowed by its hash, and nothing else is
        digest = base64.b64encode(hashlib.sha256(code.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in csp


def test_every_series_act_and_alert_is_in_the_report() -> None:
    page = render(demo_record())
    assert page.count('class="plot" data-plot=') == 2
    assert "network tenant-a tx" in page and "link s1 → s2" in page
    assert re.findall(r'data-events="(\d+)"', page) == ["1", "6", "3"]
    for text in ("tenant-a/h1 -&gt; shadow path", "link s1-s2", "tenant-a/h2 served by twin",
                 "port_scan", "blocked 10.0.0.3 in tenant-a for 8 s", "All checks passed"):
        assert text in page, text
    assert "sdn-shadow demo &lt;test&gt;" in page, "text is escaped"
    data = json.loads(re.search(r'id="report-data">(.*?)</script>', page, re.S)[1])
    assert [p["label"] for p in data["plots"]] == ["network tenant-a tx", "link s1 → s2"]


def test_a_failed_run_says_what_failed() -> None:
    page = render(demo_record(ok=False))
    assert "Some checks failed: the block did not expire" in page


def test_forecasts_are_drawn_at_the_time_they_were_for() -> None:
    series = {"horizon": 2.0, "samples": [[T0, 1e6, None, None, None],
                                          [T0 + 1, 2e6, 1.5e6, 2e6, 2.5e6]]}
    got = aligned(series)
    assert got["x"] == [T0, T0 + 1, T0 + 2, T0 + 3]
    assert got["measured"] == [8.0, 16.0, None, None]
    assert got["point"] == [None, None, None, 16.0]
    assert got["lower"][3] == 12.0 and got["upper"][3] == 20.0


def test_coverage_compares_each_measurement_with_the_forecast_made_for_it() -> None:
    samples = [[T0 + t, 100.0, 90.0, 100.0, 110.0] for t in range(10)]
    samples[6][1] = 200.0  # outside what was forecast for it at T0+4
    inside, compared = coverage({"horizon": 2.0, "samples": samples})
    assert (inside, compared) == (7, 8), "the first 2 s have no forecast made for them"


def test_counts_name_blocks_by_their_action() -> None:
    assert counts(demo_record()) == {"alert": 1, "block": 1, "config": 1, "failback": 1,
                                     "failover": 1, "move": 2, "restore": 1, "takeover": 1,
                                     "unblock": 1}


def test_write_keeps_the_record_beside_the_report(tmp_path) -> None:
    path = write(demo_record(), tmp_path / "out" / "report.html")
    assert path.read_text().startswith("<!doctype html>")
    assert json.loads(path.with_suffix(".json").read_text())["title"] == "sdn-shadow demo <test>"


def test_charts_mark_the_acts_moves_and_span_the_act_like_its_timeline() -> None:
    record = demo_record()
    ring = record["acts"][1]
    ring["series"] = [{"key": "link:s1:s4", "horizon": 2.0, "level": 0.9, "capacity": None,
                       "samples": ramp_samples(ring["start"] + 5, seconds=150)}]
    data = json.loads(re.search(r'id="report-data">(.*?)</script>', render(record), re.S)[1])
    plot = data["plots"][-1]
    assert [m["kind"] for m in plot["marks"]] == ["move", "move", "failover", "failback",
                                                  "takeover", "restore"]
    assert plot["start"] == ring["start"]
    assert plot["span"] == act_span(ring) == 5 + 149.5 + 2.0, "last sample's forecast"
    assert plot["top"] == 1.5 * max(v for v in plot["measured"] + plot["point"] if v)
