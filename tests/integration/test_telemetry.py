"""Live telemetry on real OVS: demand series vs iperf3, Prometheus, history across restarts."""

from __future__ import annotations

import statistics
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from sdn_shadow.lab.net import free_tcp_port
from sdn_shadow.lab.session import Lab, running_lab
from sdn_shadow.lab.traffic import iperf3_udp

pytestmark = pytest.mark.integration

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
NETWORK = "network:tenant-a:tx"


@pytest.fixture(scope="module")
def tlab(tmp_path_factory) -> Iterator[tuple[Lab, int]]:
    from topologies.lab import LabTopo

    workdir = tmp_path_factory.mktemp("telemetry")
    data = yaml.safe_load((EXAMPLES / "lab.yaml").read_text())
    metrics_port = free_tcp_port()
    data["telemetry"] = {"port_interval": 0.5, "flow_interval": 0.5,
                         "history": str(workdir / "history.sqlite"),
                         "metrics": f"127.0.0.1:{metrics_port}"}
    data["forecast"] = {"interval": 2, "horizon": 2, "window": 8}
    with running_lab(LabTopo(), data, workdir) as lab:
        yield lab, metrics_port


def _during(lab: Lab, rate: str, seconds: float) -> tuple[float, list[float]]:
    """Run iperf3 UDP h1 -> h2 at `rate`; (iperf3's sent bytes/s, our samples mid-run)."""
    result: dict = {}
    run = threading.Thread(target=lambda: result.update(
        iperf3_udp(lab.host("h1"), lab.host("h2"), rate, seconds=seconds)))
    run.start()
    samples = []
    time.sleep(seconds * 0.4)
    while run.is_alive() and len(samples) < 6:
        samples.append(lab.controller.state()["demand"].get(NETWORK, 0.0))
        time.sleep(0.5)
    run.join()
    return result["sent_bits_per_second"] / 8.0, samples


def test_series_track_a_rising_rate_within_ten_percent(tlab) -> None:
    lab, _ = tlab
    for rate in ("10M", "20M", "40M"):
        sent, samples = _during(lab, rate, 8)
        ours = statistics.median(samples)
        # Ours counts Ethernet frames, iperf3 UDP payload: 1502 vs 1460 bytes (+2.9%).
        assert abs(ours / sent - 1.0) < 0.10, (rate, sent, samples)


def test_prometheus_endpoint_serves_series_and_forecasts(tlab) -> None:
    lab, port = tlab
    deadline = time.time() + 60
    while not lab.controller.state()["forecast"]["series"].get(NETWORK):
        _during(lab, "20M", 5)
        assert time.time() < deadline, "no forecast for the network series"
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read()
    names = {(s.name, s.labels.get("network"), s.labels.get("series"), s.labels.get("bound"))
             for fam in text_string_to_metric_families(text.decode()) for s in fam.samples}
    assert ("sdn_shadow_network_bytes_per_second", "tenant-a", None, None) in names
    for bound in ("point", "lower", "upper"):
        assert ("sdn_shadow_forecast_bytes_per_second", None, NETWORK, bound) in names
    assert ("sdn_shadow_allocation_bytes_per_second", "tenant-a", None, None) in names


def test_restart_keeps_history_and_forecasts_at_once(tlab) -> None:
    lab, _ = tlab
    deadline = time.time() + 60
    while not lab.controller.state()["forecast"]["series"].get(NETWORK):
        _during(lab, "20M", 5)
        assert time.time() < deadline
    restarted = time.time()
    lab.restart(kill=True)
    while not lab.controller.state().get("forecast", {}).get("series", {}).get(NETWORK):
        assert time.time() - restarted < 10, "forecasts did not come back from the history"
        time.sleep(0.2)
    state = lab.controller.state()
    assert state["forecast"]["at"] >= restarted
    lower, point, upper = state["forecast"]["series"][NETWORK]
    assert lower <= point <= upper
    assert "tenant-a" in state["allocation"]
