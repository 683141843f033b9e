"""What the REST API may ask of a running controller: reads and changes, under its lock.

The HTTP layer (`api.rest`) only translates. Every change is one core
decision (pure, returns messages) sent as one commit: `send` puts each
switch's part in a bundle and returns something to `wait` on, and a change
any switch refuses is undone on the switches that took it, so the fabric
and the core keep the previous state. Network and mirror-session changes
are edits of the configuration document validated by the same parser as
the YAML file (`api.documents`); they and the runtime settings are kept
in the `ApiStore` once applied. The core is reached only through its
commands (`core.CoreCommands`).
"""

from __future__ import annotations

import math
import sqlite3
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Protocol

from sdn_shadow import __version__
from sdn_shadow.api.documents import EVENT_NEEDS_LDAP, LDAP_OVER_API, DocumentChanges
from sdn_shadow.api.errors import (
    Conflict,
    Invalid,
    NotFound,
    Rejected,
    TemplateRefused,
    Unsaved,
)
from sdn_shadow.api.store import ApiStore
from sdn_shadow.config.model import Network
from sdn_shadow.core import CoreCommands, ShadowCore

__all__ = ["EVENT_NEEDS_LDAP", "LDAP_OVER_API", "Conflict", "ControllerService", "Invalid",
           "NotFound", "Pending", "Rejected", "Send", "TemplateRefused", "Unsaved"]

Updates = dict[int, list]


class Pending(Protocol):
    """A change on its way to the switches."""

    def wait(self, timeout: float) -> dict[int, str]:
        """The switches that refused their part, with why (empty: all applied)."""

    @property
    def applied(self) -> set[int]:
        """The switches that applied their part (or some of it)."""

    @property
    def unknown(self) -> set[int]:
        """The switches that did not answer in time (they may have applied it)."""


Send = Callable[[Updates], Pending | None]  # None: applied already (the in-memory fakes)

class ControllerService(DocumentChanges):
    """Reads and changes on a live ShadowCore; `send` takes {dpid: [messages]}.

    `document` is the configuration as data (the YAML file with the kept
    network changes over it); `store`, when given, keeps applied changes.
    """

    def __init__(self, core: ShadowCore, send: Send,
                 lock: AbstractContextManager | None = None,
                 clock: Callable[[], float] = time.time, *,
                 document: dict | None = None, store: ApiStore | None = None,
                 commit_timeout: float = 5.0) -> None:
        self.core = CoreCommands(core)  # the core's commands; never its attributes
        self.send, self.clock = send, clock
        self.lock = lock if lock is not None else threading.RLock()
        self.document = document
        self.store = store
        self.commit_timeout = commit_timeout
        self.changing = threading.Lock()  # one change at a time; never held by the hub

    def _commit(self, decide: Callable[[float], Updates],
                undo: Callable[[float], Updates],
                save: Callable[[], None] | None = None) -> None:
        """Make a change: decide and send under the lock, wait without it, undo if refused;
        then `save` it (the API store), undoing it if that fails (Unsaved).

        The controller's hub takes the lock too, so waiting for the switches
        while holding it would stall the very handlers that read their answers.
        """
        with self.lock:
            pending = self.send(decide(self.clock()))
        refused = pending.wait(self.commit_timeout) if pending is not None else {}
        if pending is None or not refused:
            if save is not None:
                self._save_or_undo(save, undo)
            return
        with self.lock:
            back = undo(self.clock())
            took = pending.applied | pending.unknown
            self.send({d: m for d, m in back.items() if d in took})
            self.core.undone(self.clock(), refused)
            names = self.core.switch_names(refused)
        raise Conflict("switches", f"refused by {names}; the change was undone, the previous "
                                   "state stays")

    def _save_or_undo(self, save: Callable[[], None], undo: Callable[[float], Updates]
                      ) -> None:
        """Keep an applied change in the store; if the store fails, take the change back
        everywhere, so that what runs and what a restart brings back stay the same."""
        try:
            save()
            return
        except (sqlite3.Error, OSError) as err:
            why = f"{type(err).__name__}: {err}"
        with self.lock:
            pending = self.send(undo(self.clock()))
            self.core.unsaved(self.clock(), why)
        if pending is not None:
            pending.wait(self.commit_timeout)
        raise Unsaved(f"the change could not be kept ({why}); it was undone, the previous "
                      "state stays")

    def health(self) -> dict:
        """Liveness and how many switches are connected and synced."""
        with self.lock:
            counts = self.core.switch_counts()
        return {"status": "ok", "version": __version__, **counts}

    def networks(self) -> list[dict]:
        """Every primary network with its shadow's state."""
        with self.lock:
            return [self._network(n.name) for n in self.core.config().networks]

    def network(self, name: str) -> dict:
        """One network (NotFound)."""
        with self.lock:
            return self._network(name)

    def _net(self, name: str) -> Network:
        """The running configuration's network `name` (NotFound)."""
        net = next((n for n in self.core.config().networks if n.name == name), None)
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
        net = self._net(name)
        shadow = None
        if net.shadow is not None:
            sh = net.shadow
            shadow = {
                "vlan": sh.vlan,
                "active": self.core.shadow_active(name),
                "twins": [{"name": t.name, "twin": t.primary, "switch": t.switch, "port": t.port,
                           "mac": t.mac, "ip": str(t.ip)} for t in sh.hosts],
                "mirror": [s.name for s in sh.mirror],
                "services": [s.host for s in sh.services],
                "allocation": self._allocation(name),
            }
        spec = None if self.document is None else self.document.get("networks", {}).get(name)
        return {"name": net.name, "cidr": str(net.cidr), "vlan": net.vlan, "spec": spec,
                "hosts": [{"name": h.name, "switch": h.switch, "port": h.port, "mac": h.mac,
                           "ip": str(h.ip), **self._client(name, h.name)} for h in net.hosts],
                "shadow": shadow}

    def _client(self, network: str, host: str) -> dict:
        return self.core.client(network, host).to_dict()

    def _allocation(self, network: str) -> dict | None:
        a = self.core.allocation(network)
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
        """Set a client's path and/or service; the changes go to the switches in one commit.

        Both settings are checked before either is applied, so a refused
        request changes nothing.
        """
        with self.changing:
            with self.lock:
                net = self._host(network, host)
                if path not in (None, "primary", "shadow"):
                    raise Invalid("path", f"must be primary or shadow, not {path!r}")
                if service not in (None, "primary", "twin"):
                    raise Invalid("service", f"must be primary or twin, not {service!r}")
                if service == "twin" and net.shadow is not None and not net.shadow.services:
                    raise Invalid("service", f"{network}: no service hosts (shadow.services) "
                                             "to steer to")
                was = self._client(network, host)

            def to(new_path: str | None, new_service: str | None, why: str
                   ) -> Callable[[float], Updates]:
                return lambda now: self.core.set_client(now, network, host, new_path,
                                                        new_service, why)

            store = self.store
            self._commit(to(path, service, reason),
                         to(path and was["path"], service and was["service"], "undone"),
                         None if store is None else
                         lambda: store.set_client(network, host, path, service))
            with self.lock:
                return {"network": network, "host": host, **self._client(network, host)}

    def set_active(self, network: str, active: bool, reason: str) -> dict:
        """Activate or deactivate a network's shadow."""
        with self.changing:
            with self.lock:
                self._shadowed(network)
                was = self.core.activated(network)
            store = self.store
            try:
                self._commit(
                    lambda now: self.core.set_shadow_active(now, network, active, reason),
                    lambda now: self.core.set_shadow_active(now, network, was, "undone"),
                    None if store is None else
                    lambda: store.set_shadow(network, active=active))
            except ValueError as err:
                raise Invalid("active", str(err)) from None
            with self.lock:
                return self._network(network)

    def swap_roles(self, network: str, reason: str) -> dict:
        """Swap every host of `network` with its twin (again: swap back)."""
        with self.changing:
            with self.lock:
                self._shadowed(network)
            store = self.store

            def save() -> None:
                assert store is not None
                with self.lock:
                    swapped = self.core.roles_swapped(network)
                store.set_shadow(network, swapped=swapped, active=False)

            try:
                self._commit(lambda now: self.core.swap_roles(now, network, reason),
                             lambda now: self.core.swap_roles(now, network, "undone"),
                             None if store is None else save)
            except ValueError as err:
                raise Invalid("network", str(err)) from None
            with self.lock:
                return self._network(network)

    def events(self, since: int = 0, limit: int = 100) -> dict:
        """Events from cursor `since` (their index), at most `limit`; `next` is the next cursor."""
        with self.lock:
            return self.core.events(since, limit)

    def alerts(self, network: str | None = None, state: str | None = None,
               limit: int = 100) -> list[dict]:
        """Alerts the shadows' watch raised, newest first; by network and open/closed."""
        with self.lock:
            if network is not None:
                self._net(network)
            found = [a for a in self.core.alerts() if network in (None, a["network"])
                     and state in (None, "open" if a["closed"] is None else "closed")]
        return found[:limit]

    def alert(self, alert_id: int) -> dict:
        """One alert by id (NotFound)."""
        with self.lock:
            for a in self.core.alerts():
                if a["id"] == alert_id:
                    return a
        raise NotFound(f"no alert {alert_id} (kept: the open ones and the last "
                       "1000 closed)")

    def blocks(self) -> list[dict]:
        """Sources the response keeps out of primary networks now, and until when."""
        with self.lock:
            return self.core.blocks()

    def lift_block(self, network: str, source: str, by: str) -> dict:
        """Lift a block before its TTL: its drop or meter flows go (NotFound if there is none)."""
        with self.changing:
            with self.lock:
                self._net(network)
                if not self.core.blocked(network, source):
                    raise NotFound(f"{source} is not blocked in {network}")
            self._commit(lambda now: self.core.lift_block(now, network, source, by),
                         lambda now: {})
            return {"lifted": source, "network": network}

    def forecasts(self) -> dict:
        """Each series' latest forecast and interval (bytes/s)."""
        with self.lock:
            return self.core.forecasts()

    def profiles(self) -> list[dict]:
        """Each client's learned profile: rates (bytes/s), burstiness, peaks, samples."""
        with self.lock:
            book = self.core.profiles()
        out = []
        for key, p in sorted(book.items()):
            figures = {"mean": p.mean, "std": p.std, "peak": p.peak,
                       "recent_peak": p.recent_peak, "cv": p.cv,
                       "peak_to_mean": p.peak_to_mean}
            out.append({"client": key, "samples": p.n, "first_seen": p.first_seen,
                        "last_seen": p.last_seen,
                        **{k: None if math.isnan(v) else v for k, v in figures.items()}})
        return out

    def routing(self) -> dict:
        """Failed links, moved, steered and taken-over clients, scaling requests, health."""
        with self.lock:
            return self.core.routing()

    def fabric(self) -> dict:
        """Switches and links now (see `api.fabric`), the clock and the events cursor."""
        with self.lock:
            return self.core.fabric(self.clock())

    def paths(self, network: str, src: str, dst: str) -> dict:
        """Primary and shadow paths from host `src` to host `dst` now, and which one their
        traffic takes (NotFound naming `query.src`/`query.dst`; Invalid: no shadow)."""
        with self.lock:
            net = self._shadowed(network)
            names = {h.name for h in net.hosts}
            for field, host in (("query.src", src), ("query.dst", dst)):
                if host not in names:
                    raise NotFound(f"no primary host {host} in {network}", field)
            return self.core.paths(network, src, dst)
