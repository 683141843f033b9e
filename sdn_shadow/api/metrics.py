"""Prometheus text exposition of the controller's state, rates, forecasts and mirror counters.

The collector reads one snapshot (a plain dict made by `ShadowCore.metrics()`)
per scrape, so a scrape never holds the core's lock while formatting. With a
token file (`telemetry.metrics_token`) a scrape must send
`Authorization: Bearer <token>` (Prometheus: `authorization: {credentials_file: ...}`),
else it gets 401; without one the endpoint is open to whoever reaches its port.
"""

from __future__ import annotations

import hmac
import socket
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import make_wsgi_app
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import ThreadingWSGIServer
from prometheus_client.registry import Collector, CollectorRegistry

#: Series key prefix -> (metric name, label names); the key's remaining parts are the labels.
SERIES_METRICS = {
    "port": ("sdn_shadow_port_bytes_per_second", ("switch", "port", "direction")),
    "client": ("sdn_shadow_client_bytes_per_second", ("network", "host", "direction")),
    "network": ("sdn_shadow_network_bytes_per_second", ("network", "direction")),
    "link": ("sdn_shadow_link_bytes_per_second", ("src", "dst")),
}


def split_series(key: str) -> tuple[str, tuple[str, ...]]:
    """`client:tenant-a:h1:tx` -> ("client", ("tenant-a", "h1", "tx"))."""
    kind, *labels = key.split(":")
    return kind, tuple(labels)


class ShadowCollector(Collector):
    """Turns a core snapshot into metric families."""

    def __init__(self, snapshot: Callable[[], dict]) -> None:
        self.snapshot = snapshot

    def collect(self) -> Iterator[Metric]:
        """Families for switches, mirror counters, rates and forecasts."""
        snap = self.snapshot()
        connected = GaugeMetricFamily("sdn_shadow_switch_connected",
                                      "1 if the switch is connected and synced", labels=["switch"])
        flows = GaugeMetricFamily("sdn_shadow_switch_flows", "Flows installed on the switch",
                                  labels=["switch"])
        for sw in snap.get("switches", {}).values():
            connected.add_metric([sw["name"]], float(sw["connected"] and sw["synced"]))
            flows.add_metric([sw["name"]], float(sw["flows"]))
        yield connected
        yield flows

        packets = CounterMetricFamily("sdn_shadow_mirror_packets", "Packets a session copied",
                                      labels=["session"])
        nbytes = CounterMetricFamily("sdn_shadow_mirror_bytes",
                                     "Bytes a session copied (before truncation)",
                                     labels=["session"])
        for name, c in snap.get("mirror", {}).items():
            packets.add_metric([name], float(c["packets"]))
            nbytes.add_metric([name], float(c["bytes"]))
        yield packets
        yield nbytes

        policed = CounterMetricFamily(
            "sdn_shadow_best_effort_dropped_bytes",
            "Bytes a best-effort meter dropped to keep a shadow's hold free",
            labels=["network", "link"])
        for key, c in snap.get("policed", {}).items():
            network, _, link = key.partition("@")
            policed.add_metric([network, link], float(c["dropped_bytes"]))
        yield policed

        families: dict[str, GaugeMetricFamily] = {}
        for key, value in snap.get("rates", {}).items():
            kind, labels = split_series(key)
            if kind not in SERIES_METRICS:
                continue
            name, label_names = SERIES_METRICS[kind]
            if name not in families:
                families[name] = GaugeMetricFamily(name, f"Measured {kind} rate",
                                                   labels=list(label_names))
            families[name].add_metric(list(labels[:len(label_names)]), float(value))
        yield from families.values()

        forecast = GaugeMetricFamily(
            "sdn_shadow_forecast_bytes_per_second",
            "Forecast rate at the horizon: point, and the interval's lower and upper bounds",
            labels=["series", "bound"])
        horizon = GaugeMetricFamily("sdn_shadow_forecast_horizon_seconds",
                                    "How far ahead forecasts look")
        level = GaugeMetricFamily("sdn_shadow_forecast_interval_level",
                                  "Nominal coverage of the forecast intervals")
        fc = snap.get("forecast", {})
        for key, f in fc.get("series", {}).items():
            for bound in ("point", "lower", "upper"):
                forecast.add_metric([key, bound], float(f[bound]))
        if fc:
            horizon.add_metric([], float(fc.get("horizon_s", 0.0)))
            level.add_metric([], float(fc.get("level", 0.0)))
        yield forecast
        yield horizon
        yield level

        held = GaugeMetricFamily("sdn_shadow_allocation_bytes_per_second",
                                 "Capacity held on the shadow for a network",
                                 labels=["network", "strategy"])
        for name, a in snap.get("allocation", {}).items():
            held.add_metric([name, a["strategy"]], float(a["bytes_per_second"]))
        yield held


class _Server6(ThreadingWSGIServer):
    address_family = socket.AF_INET6


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base's name
        """No line per scrape on stderr."""


def read_token(path: str) -> str:
    """The bearer token in file `path` (OSError; ValueError when it is empty)."""
    from sdn_shadow.config.document import read_regular

    token = read_regular(path).decode("utf-8").strip()
    if not token or any(c.isspace() for c in token):
        raise ValueError(f"{path}: the metrics token must be one word")
    return token


def guarded(app: Callable[..., Iterable[bytes]], token: str | None
            ) -> Callable[..., Iterable[bytes]]:
    """`app` answering 401 to a request without `Authorization: Bearer <token>`."""
    if token is None:
        return app
    expected = f"Bearer {token}".encode()

    def check(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        given = environ.get("HTTP_AUTHORIZATION", "").encode("latin-1", "replace")
        if hmac.compare_digest(given, expected):
            return app(environ, start_response)
        start_response("401 Unauthorized", [("Content-Type", "text/plain"),
                                             ("WWW-Authenticate", 'Bearer realm="metrics"')])
        return [b"401: send Authorization: Bearer <telemetry.metrics_token>\n"]

    return check


def serve(listen: str, snapshot: Callable[[], dict], token_file: str | None = None
          ) -> WSGIServer:
    """Serve /metrics on `host:port` in a daemon thread; returns the server (shutdown()).
    With `token_file`, only to requests bearing its token."""
    token = read_token(token_file) if token_file else None
    host, _, port = listen.rpartition(":")
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ShadowCollector(snapshot))
    server = make_server(host.strip("[]"), int(port), guarded(make_wsgi_app(registry), token),
                         _Server6 if ":" in host else ThreadingWSGIServer,
                         handler_class=_Quiet)
    threading.Thread(target=server.serve_forever, daemon=True, name="metrics").start()
    return server
