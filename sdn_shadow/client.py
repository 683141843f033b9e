"""A small typed client for the sdn-shadow REST API (httpx)."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx

from sdn_shadow.config.shapes import NAME_REASON, name_problem

PREFIX = "/api/v1"


class BadName(ValueError):
    """A name (or address) that cannot be a path segment: refused before anything is sent."""

    def __init__(self, field: str, value: object, reason: str) -> None:
        super().__init__(f"{field}: {value!r} {reason}")
        self.field, self.reason = field, f"{value!r} {reason}"


def _name(field: str, value: object) -> str:
    """`value` as one URL path segment when it is a valid name (`.` and `..` never are)."""
    problem = name_problem(value) if isinstance(value, str) else NAME_REASON
    if problem is not None or not isinstance(value, str):
        raise BadName(field, value if len(str(value)) <= 120 else f"{str(value)[:100]}...",
                      problem or NAME_REASON)
    return quote(value, safe="")


def _net(network: object, *rest: str) -> str:
    """`/networks/NETWORK[/...]`, the network's name checked and encoded."""
    return "/".join(("/networks", _name("network", network), *rest))


def _address(field: str, value: object) -> str:
    """An IP address as one URL path segment."""
    try:
        return quote(str(ipaddress.ip_address(str(value).strip())), safe="")
    except ValueError:
        raise BadName(field, value, "must be an IP address") from None


class ApiError(Exception):
    """A 4xx/5xx answer: the status and the API's `[{field, reason}]` errors."""

    def __init__(self, status: int, errors: list[dict[str, str]]) -> None:
        text = "; ".join(f"{e.get('field')}: {e.get('reason')}" for e in errors)
        super().__init__(f"HTTP {status}: {text}")
        self.status, self.errors = status, errors


class ShadowClient:
    """The API of one controller: `ShadowClient("http://127.0.0.1:8181", token)`.

    Names in paths must be valid names (networks, hosts, sessions; a block's
    source an IP address): anything else, `..` included, raises `BadName`
    before a request is made, so a name can never address another route.

    `http` replaces the transport (an `httpx.Client` with its own base URL, or a
    FastAPI `TestClient` in tests).
    """

    def __init__(self, base_url: str = "", token: str | None = None, *,
                 timeout: float = 10.0, http: httpx.Client | None = None,
                 verify: str | bool = True, auth: tuple[str, str] | None = None) -> None:
        self.http = http if http is not None else httpx.Client(
            base_url=base_url, timeout=timeout, verify=verify, auth=auth)
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.calls: list[str] = []
        """`METHOD /path -> status` of every call made, for a summary of what was done."""

    def close(self) -> None:
        """Close the connection pool."""
        self.http.close()

    def __enter__(self) -> ShadowClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _call(self, method: str, path: str, **kw: Any) -> Any:
        r = self.http.request(method, PREFIX + path, headers=self.headers, **kw)
        self.calls.append(f"{method} {PREFIX}{path} -> {r.status_code}")
        if r.status_code >= 400:
            try:
                errors = r.json().get("errors", [])
            except ValueError:
                errors = [{"field": "response", "reason": r.text[:200]}]
            raise ApiError(r.status_code, errors)
        return r.json()

    def health(self) -> dict[str, Any]:
        """Status, version and switch counts (no token needed)."""
        return self._call("GET", "/health")

    def networks(self) -> list[dict[str, Any]]:
        """Every network with hosts, policies and shadow state."""
        return self._call("GET", "/networks")

    def network(self, name: str) -> dict[str, Any]:
        """One network."""
        return self._call("GET", _net(name))

    def client(self, network: str, host: str) -> dict[str, Any]:
        """One client's path, service, served_by and role_swapped."""
        return self._call("GET", _net(network, "clients", _name("host", host)))

    def set_client(self, network: str, host: str, *, path: str | None = None,
                   service: str | None = None, reason: str = "api") -> dict[str, Any]:
        """Set a client's `path` (primary|shadow) and/or `service` (primary|twin)."""
        body: dict[str, str] = {"reason": reason}
        if path is not None:
            body["path"] = path
        if service is not None:
            body["service"] = service
        return self._call("PUT", _net(network, "clients", _name("host", host)), json=body)

    def activate(self, network: str, reason: str = "api") -> dict[str, Any]:
        """The twins serve the network; the primary stands by."""
        return self._call("POST", _net(network, "shadow", "activate"),
                          json={"reason": reason})

    def deactivate(self, network: str, reason: str = "api") -> dict[str, Any]:
        """The primary serves again."""
        return self._call("POST", _net(network, "shadow", "deactivate"),
                          json={"reason": reason})

    def role_swap(self, network: str, reason: str = "api") -> dict[str, Any]:
        """The twins become the primary hosts; the old primaries the twins."""
        return self._call("POST", _net(network, "shadow", "role-swap"),
                          json={"reason": reason})

    def events(self, since: int = 0, limit: int = 100) -> dict[str, Any]:
        """One page of events from cursor `since`; its `next` is the following cursor."""
        return self._call("GET", "/events", params={"since": since, "limit": limit})

    def iter_events(self, since: int = 0, page: int = 100) -> Iterator[dict[str, Any]]:
        """Every event from `since` on, page by page."""
        while True:
            chunk = self.events(since, page)
            yield from chunk["events"]
            if chunk["next"] == since:
                return
            since = chunk["next"]

    def routing(self) -> dict[str, Any]:
        """Failed links, moved/steered/served clients, scaling requests, health."""
        return self._call("GET", "/routing")

    def profiles(self) -> list[dict[str, Any]]:
        """Each client's learned profile (rates in bytes/s)."""
        return self._call("GET", "/profiles")

    def forecasts(self) -> dict[str, Any]:
        """The latest forecasts with their intervals (bytes/s)."""
        return self._call("GET", "/forecasts")

    def alerts(self, network: str | None = None, state: str | None = None) -> list[dict]:
        """Alerts the shadows' watch raised, newest first (state: open or closed)."""
        params = {k: v for k, v in (("network", network), ("state", state)) if v}
        return self._call("GET", "/alerts", params=params)

    def blocks(self) -> list[dict[str, Any]]:
        """Sources the response keeps out of primary networks now."""
        return self._call("GET", "/blocks")

    def lift_block(self, network: str, source: str) -> dict[str, Any]:
        """Lift a block before its TTL."""
        return self._call("DELETE", "/".join(("/blocks", _name("network", network),
                                              _address("source", source))))

    def create_network(self, name: str, spec: dict[str, Any]) -> dict[str, Any]:
        """Add a network (and its shadow) defined as under `networks.NAME` in the YAML."""
        return self._call("POST", "/networks", json={"name": name, **spec})

    def replace_network(self, name: str, spec: dict[str, Any]) -> dict[str, Any]:
        """Replace a network's definition."""
        return self._call("PUT", _net(name), json=spec)

    def delete_network(self, name: str) -> dict[str, Any]:
        """Remove a network (409 while its shadow carries clients)."""
        return self._call("DELETE", _net(name))

    def sessions(self, network: str) -> list[dict[str, Any]]:
        """A network's mirror sessions with live counters."""
        return self._call("GET", _net(network, "mirror-sessions"))

    def session(self, network: str, name: str) -> dict[str, Any]:
        """One mirror session with live counters."""
        return self._call("GET", _net(network, "mirror-sessions", _name("session", name)))

    def create_session(self, network: str, spec: dict[str, Any]) -> dict[str, Any]:
        """Add a mirror session (as under `shadow.mirror` in the YAML, with a name)."""
        return self._call("POST", _net(network, "mirror-sessions"), json=spec)

    def replace_session(self, network: str, name: str, spec: dict[str, Any]) -> dict[str, Any]:
        """Replace a mirror session's direction, filter, sampling, truncation or destinations."""
        return self._call("PUT", _net(network, "mirror-sessions", _name("session", name)),
                          json=spec)

    def delete_session(self, network: str, name: str) -> dict[str, Any]:
        """Remove a mirror session and its flows."""
        return self._call("DELETE", _net(network, "mirror-sessions", _name("session", name)))
