"""What the dashboard's stream sends: the controller read through its service, and a history.

Everything here reads through `ControllerService`'s public methods (the
same ones the REST routes call), so a snapshot holds nothing a script could
not get from `/api/v1/...` too. `SeriesHistory` keeps the last snapshots'
series (measured rate, forecast interval, capacity, capacity held) so a page
opened now can draw the last minutes, not only what arrives after it.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Any, Protocol

from sdn_shadow.api.redact import for_viewer
from sdn_shadow.config import ConfigError, validate_config
from sdn_shadow.config.model import RoutingSettings

Point = tuple[float | None, ...]  # measured, lower, point, upper, capacity, held


class Service(Protocol):
    """The reads of `api.service.ControllerService` the dashboard uses."""

    def fabric(self) -> dict[str, Any]: ...
    def forecasts(self) -> dict[str, Any]: ...
    def routing(self) -> dict[str, Any]: ...
    def networks(self) -> list[dict[str, Any]]: ...
    def sessions(self, network: str) -> list[dict[str, Any]]: ...
    def blocks(self) -> list[dict[str, Any]]: ...
    def profiles(self) -> list[dict[str, Any]]: ...
    def alerts(self, network: str | None = None, state: str | None = None,
               limit: int = 100) -> list[dict[str, Any]]: ...
    def events(self, since: int = 0, limit: int = 100) -> dict[str, Any]: ...


class Thresholds:
    """The preemptive-routing thresholds of the service's configuration document."""

    def __init__(self) -> None:
        self._document: object = None
        self._settings = RoutingSettings()

    def of(self, service: object) -> dict[str, Any]:
        """`upper`, `lower` (shares of capacity), `hold` and `enabled` (defaults without one)."""
        document = getattr(service, "document", None)
        if document is not self._document:  # a change replaces the document: parse it again
            self._document = document
            try:
                self._settings = (validate_config(document).routing
                                  if isinstance(document, dict) else RoutingSettings())
            except ConfigError:
                self._settings = RoutingSettings()
        s = self._settings
        return {"enabled": s.enabled, "upper": s.upper, "lower": s.lower, "hold": s.hold}


def snapshot(service: Service, thresholds: Thresholds) -> dict[str, Any]:
    """The fabric, forecasts, routing, networks with their sessions, blocks, recent alerts,
    resource profiles, the routing thresholds and each series' point (`series_points`)."""
    fabric = service.fabric()
    networks = [for_viewer(n) for n in service.networks()]  # the dashboard is a viewer's
    sessions = {n["name"]: service.sessions(n["name"]) for n in networks if n["shadow"]}
    snap = {"at": fabric["at"], "fabric": fabric, "forecasts": service.forecasts(),
            "routing": service.routing(), "networks": networks, "sessions": sessions,
            "blocks": service.blocks(), "alerts": service.alerts(limit=50),
            "profiles": service.profiles(),
            "thresholds": thresholds.of(service)}
    snap["series"] = series_points(snap)
    return snap


def _r(value: float | None) -> float | None:
    return None if value is None else round(float(value), 1)


def series_points(snap: dict[str, Any]) -> dict[str, Point]:
    """Each series of a snapshot as [measured, lower, point, upper, capacity, held] (bytes/s).

    Links carry all six; networks and clients their forecast, and a network
    the capacity its shadow holds (the API gives no measured rate for them).
    """
    out: dict[str, Point] = {}
    for link in snap["fabric"]["links"]:
        f = link["forecast"] or {}
        out[f"link:{link['src']}:{link['dst']}"] = (
            _r(link["demand"]), _r(f.get("lower")), _r(f.get("point")), _r(f.get("upper")),
            _r(link["capacity"]), _r(link["held"]))
    held = {n["name"]: ((n["shadow"] or {}).get("allocation") or {}).get("held")
            for n in snap["networks"]}
    for key, (lower, point, upper) in snap["forecasts"].get("series", {}).items():
        if key.startswith(("network:", "client:")):
            hold = held.get(key.split(":")[1]) if key.startswith("network:") else None
            out[key] = (None, _r(lower), _r(point), _r(upper), None, _r(hold))
    return out


class SeriesHistory:
    """The series of the last `limit` snapshots at least `every` seconds apart (thread-safe)."""

    def __init__(self, limit: int = 240, every: float = 5.0) -> None:
        self.every = every
        self._frames: deque[tuple[float, dict[str, Point]]] = deque(maxlen=limit)
        self._lock = threading.Lock()

    def add(self, snap: dict[str, Any]) -> bool:
        """Keep `snap`'s series if the last kept frame is `every` seconds older; whether kept."""
        at = float(snap["at"])
        with self._lock:
            if self._frames and at - self._frames[-1][0] < self.every:
                return False
            self._frames.append((at, series_points(snap)))
            return True

    def frames(self) -> list[dict[str, Any]]:
        """The kept frames, oldest first: `{"at": t, "series": {key: point}}`."""
        with self._lock:
            return [{"at": at, "series": dict(points)} for at, points in self._frames]
