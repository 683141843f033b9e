"""The Prometheus endpoint serves the snapshot as text exposition (a real HTTP server)."""

from __future__ import annotations

import urllib.error
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

from sdn_shadow.api.metrics import serve
from sdn_shadow.lab.net import free_tcp_port

SNAPSHOT = {
    "switches": {"1": {"name": "s1", "connected": True, "synced": True, "flows": 28},
                 "2": {"name": "s2", "connected": False, "synced": False, "flows": 0}},
    "mirror": {"h1-both": {"packets": 5, "bytes": 700}},
    "rates": {"client:tenant-a:h1:tx": 1250.0, "port:s1:10:rx": 99.0, "link:s1:s2": 5.0,
              "network:tenant-a:tx": 1300.0, "unknown:thing": 1.0},
    "forecast": {"horizon_s": 30.0, "level": 0.9, "series": {
        "client:tenant-a:h1:tx": {"point": 1000.0, "lower": 800.0, "upper": 1400.0}}},
    "allocation": {"tenant-a": {"strategy": "conservative", "bytes_per_second": 1400.0}},
}


def test_endpoint_serves_every_family() -> None:
    port = free_tcp_port()
    server = serve(f"127.0.0.1:{port}", lambda: SNAPSHOT)
    try:
        text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read()
    finally:
        server.shutdown()
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for fam in text_string_to_metric_families(text.decode()) for s in fam.samples}
    assert samples[("sdn_shadow_switch_connected", (("switch", "s1"),))] == 1.0
    assert samples[("sdn_shadow_switch_connected", (("switch", "s2"),))] == 0.0
    assert samples[("sdn_shadow_mirror_packets_total", (("session", "h1-both"),))] == 5.0
    assert samples[("sdn_shadow_client_bytes_per_second",
                    (("direction", "tx"), ("host", "h1"), ("network", "tenant-a")))] == 1250.0
    assert samples[("sdn_shadow_link_bytes_per_second", (("dst", "s2"), ("src", "s1")))] == 5.0
    assert samples[("sdn_shadow_forecast_bytes_per_second",
                    (("bound", "upper"), ("series", "client:tenant-a:h1:tx")))] == 1400.0
    assert samples[("sdn_shadow_forecast_horizon_seconds", ())] == 30.0
    assert samples[("sdn_shadow_allocation_bytes_per_second",
                    (("network", "tenant-a"), ("strategy", "conservative")))] == 1400.0
    assert not [k for k in samples if "unknown" in str(k)]


def _get(url: str, token: str | None) -> int:
    request = urllib.request.Request(url)
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status
    except urllib.error.HTTPError as err:
        return err.code


def test_a_metrics_token_is_required_when_one_is_set(tmp_path) -> None:
    token_file = tmp_path / "metrics.token"
    token_file.write_text("s3cret-scrape\n")
    port = free_tcp_port()
    server = serve(f"127.0.0.1:{port}", lambda: SNAPSHOT, str(token_file))
    url = f"http://127.0.0.1:{port}/metrics"
    try:
        assert _get(url, None) == 401
        assert _get(url, "wrong") == 401
        assert _get(url, "s3cret-scrape") == 200
    finally:
        server.shutdown()


def test_an_empty_metrics_token_file_is_refused(tmp_path) -> None:
    import pytest

    empty = tmp_path / "empty.token"
    empty.write_text("  \n")
    with pytest.raises(ValueError, match="one word"):
        serve(f"127.0.0.1:{free_tcp_port()}", lambda: SNAPSHOT, str(empty))
