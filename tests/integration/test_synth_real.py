"""`sdn-shadow synth` on real OVS: users follow the pattern and the forecaster sees them."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from sdn_shadow.analytics.synth_pattern import parse_pattern
from sdn_shadow.lab.traffic import start_ping

pytestmark = pytest.mark.integration

SERIES = "network:tenant-a:tx"


def test_synthetic_users_follow_a_flash_crowd_and_the_forecaster_sees_it(
        lab, lab_data, tmp_path) -> None:
    lab.restart(lab_data)
    # The forecaster needs about 15 s of a series before it forecasts it; a
    # slow ping starts the series so that the crowd meets a warm forecaster
    # however slowly a loaded machine gets there (the calm is ~100x the ping).
    warmup = start_ping(lab.host("h1"), lab.host("h2").IP(), count=10_000, interval=0.2)
    warm = lab.wait_state(lambda s: SERIES in s.get("forecast", {}).get("series", {}),
                          timeout=120, poll=0.25)
    if warm is None:
        warmup.stop()
        pytest.fail(f"no forecast of {SERIES} within 120 s of steady ping traffic")
    samples: list[tuple[float, float, float | None]] = []
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            state = lab.controller.state()
            forecast = state["forecast"]["series"].get(SERIES)
            samples.append((time.time(), state["demand"].get(SERIES, 0.0),
                            forecast[1] if forecast else None))
            time.sleep(0.25)

    poller = threading.Thread(target=watch)
    poller.start()
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "sdn_shadow.cli", "synth", "--config",
             str(lab.controller.config_path), "--network", "tenant-a", "--users", "4",
             "--pattern", "flash-crowd", "--peak", "80", "--duration", "20",
             "--target", "http://h2:8080/", "--json", str(tmp_path / "synth.json")],
            capture_output=True, text=True, timeout=120)
    finally:
        stop.set()
        poller.join()
        warmup.stop()
    assert proc.returncode == 0, proc.stderr
    assert "fit           correlation" in proc.stdout
    report = json.loads((tmp_path / "synth.json").read_text())
    assert sorted(set(report["hosts"])) == ["h1", "h3"], "users on the other primary hosts"
    assert report["errors"] == {} and report["successes"] == report["requests"]
    assert report["correlation"] >= 0.9 and abs(report["total_error"]) <= 0.12, report
    assert report["latency_ms"]["p99"] < 500

    # what the controller measured follows the same curve, a poll or two behind
    pattern = parse_pattern("flash-crowd", 80, 20)
    start = report["start_at"]
    during = [(t - start, d) for t, d, _ in samples if 1.0 <= t - start <= 20.0]
    offsets, demand = np.array(during).T
    expected = pattern.rate(np.clip(offsets - 0.75, 0, None))
    assert np.corrcoef(demand, expected)[0, 1] >= 0.8, list(zip(offsets, demand, strict=True))
    calm = np.median([d for o, d in during if o < 5.0])
    forecasts = [f for t, _, f in samples if f is not None and t - start >= 8.0]
    assert forecasts, "the network's demand was forecast during the crowd"
    assert max(forecasts) >= 2 * calm, (calm, forecasts)
