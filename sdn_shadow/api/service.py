"""What the REST API may ask of a running controller: reads and changes, under its lock.

The HTTP layer (`api.rest`) only translates; this class holds the core, the
controller's lock and the function that sends messages to the switches, so
every change is one core decision (pure, returns messages) sent as one batch,
exactly as the OS-Ken app does for its own events.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager

from sdn_shadow import __version__
from sdn_shadow.config.model import Network
from sdn_shadow.core import ShadowCore

Send = Callable[[dict[int, list]], None]


class NotFound(LookupError):
    """No such network, host or resource."""


class Invalid(ValueError):
    """A request the controller refuses: `field` names what is wrong, `reason` why."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field, self.reason = field, reason


class ControllerService:
    """Reads and changes on a live ShadowCore; `send` takes {dpid: [messages]}."""

    def __init__(self, core: ShadowCore, send: Send,
                 lock: AbstractContextManager | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.core, self.send, self.clock = core, send, clock
        self.lock = lock if lock is not None else threading.RLock()

    def health(self) -> dict:
        """Liveness and how many switches are connected and synced."""
        with self.lock:
            switches = list(self.core.switches.values())
        return {"status": "ok", "version": __version__, "switches": len(switches),
                "connected": sum(s.connected for s in switches),
                "synced": sum(s.synced for s in switches)}

    def networks(self) -> list[dict]:
        """Every primary network with its shadow's state."""
        with self.lock:
            return [self._network(n.name) for n in self.core.config.networks]

    def network(self, name: str) -> dict:
        """One network (NotFound)."""
        with self.lock:
            return self._network(name)

    def _net(self, name: str) -> Network:
        """The running configuration's network `name` (NotFound)."""
        net = next((n for n in self.core.config.networks if n.name == name), None)
        if net is None:
            raise NotFound(f"no network {name}")
        return net

    def _shadowed(self, name: str) -> Network:
        """Network `name`, which must have a shadow (NotFound, Invalid)."""
        net = self._net(name)
        if net.shadow is None:
            raise Invalid("network", f"{name} has no shadow")
        return net

    def _network(self, name: str) -> dict:
        core = self.core
        net = self._net(name)
        shadow = None
        if net.shadow is not None:
            sh = net.shadow
            shadow = {
                "vlan": sh.vlan,
                "active": name in core.active_networks(),
                "twins": [{"name": t.name, "twin": t.twin, "switch": t.switch, "port": t.port,
                           "mac": t.mac, "ip": str(t.ip)} for t in sh.hosts],
                "mirror": [s.name for s in sh.mirror],
                "services": [s.host for s in sh.services],
                "allocation": self._allocation(name),
            }
        return {"name": net.name, "cidr": str(net.cidr), "vlan": net.vlan,
                "hosts": [{"name": h.name, "switch": h.switch, "port": h.port, "mac": h.mac,
                           "ip": str(h.ip), **self._client(name, h.name)} for h in net.hosts],
                "shadow": shadow}

    def _client(self, network: str, host: str) -> dict:
        core, key = self.core, (network, host)
        return {"path": "shadow" if key in core.moved else "primary",
                "service": "twin" if key in core.steered else "primary",
                "served_by": "twin" if key in core.served else "itself",
                "role_swapped": key in core.swapped}

    def _allocation(self, network: str) -> dict | None:
        a = self.core.allocations.get(network)
        if a is None:
            return None
        return {"strategy": a.strategy, "held": a.held, "point": a.point, "upper": a.upper,
                "recommendation": a.recommendation.text() if a.recommendation else None}

    def client(self, network: str, host: str) -> dict:
        """One client's policy (NotFound)."""
        with self.lock:
            self._host(network, host)
            return {"network": network, "host": host, **self._client(network, host)}

    def _host(self, network: str, host: str) -> Network:
        net = self._net(network)
        if host not in {h.name for h in net.hosts}:
            raise NotFound(f"no primary host {host} in {network}")
        if net.shadow is None:
            raise Invalid("network", f"{network} has no shadow: its clients have no policy")
        return net

    def set_client(self, network: str, host: str, path: str | None, service: str | None,
                   reason: str) -> dict:
        """Set a client's path and/or service; the changes go to the switches in one batch.

        Both settings are checked before either is applied, so a refused
        request changes nothing.
        """
        with self.lock:
            net = self._host(network, host)
            if path not in (None, "primary", "shadow"):
                raise Invalid("path", f"must be primary or shadow, not {path!r}")
            if service not in (None, "primary", "twin"):
                raise Invalid("service", f"must be primary or twin, not {service!r}")
            if service == "twin" and not net.shadow.services:
                raise Invalid("service", f"{network}: no service hosts (shadow.services) to "
                                         "steer to")
            now, updates = self.clock(), {}
            if path is not None:
                _merge(updates, self.core.set_client_path(now, network, host, path, reason))
            if service is not None:
                _merge(updates, self.core.set_client_service(now, network, host, service,
                                                             reason))
            self.send(updates)
            return {"network": network, "host": host, **self._client(network, host)}

    def set_active(self, network: str, active: bool, reason: str) -> dict:
        """Activate or deactivate a network's shadow."""
        with self.lock:
            self._shadowed(network)
            try:
                updates = self.core.set_shadow_active(self.clock(), network, active, reason)
            except ValueError as err:
                raise Invalid("active", str(err)) from None
            self.send(updates)
            return self._network(network)

    def swap_roles(self, network: str, reason: str) -> dict:
        """Swap every host of `network` with its twin."""
        with self.lock:
            self._shadowed(network)
            try:
                updates = self.core.swap_roles(self.clock(), network, reason)
            except ValueError as err:
                raise Invalid("network", str(err)) from None
            self.send(updates)
            return self._network(network)

    def events(self, since: int = 0, limit: int = 100) -> dict:
        """Events from cursor `since` (their index), at most `limit`; `next` is the next cursor."""
        with self.lock:
            chunk = self.core.events[since:since + limit]
        out = [{"id": since + i, **e} for i, e in enumerate(chunk)]
        return {"events": out, "next": since + len(out)}

    def forecasts(self) -> dict:
        """Each series' latest forecast and interval (bytes/s)."""
        with self.lock:
            status = self.core.status()
        return status["forecast"]

    def routing(self) -> dict:
        """Failed links, moved, steered and taken-over clients, scaling requests, health."""
        with self.lock:
            return self.core.status()["routing"]


def _merge(into: dict[int, list], updates: dict[int, list]) -> None:
    for dpid, msgs in updates.items():
        into.setdefault(dpid, []).extend(msgs)
