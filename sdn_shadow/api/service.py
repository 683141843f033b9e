"""What the REST API may ask of a running controller: reads and changes, under its lock.

The HTTP layer (`api.rest`) only translates. Every change is one core
decision (pure, returns messages) sent as one commit: `send` puts each
switch's part in a bundle and returns something to `wait` on, and a change
any switch refuses is undone on the switches that took it, so the fabric
and the core keep the previous state. Network and mirror-session changes
are edits of the configuration document validated by the same parser as
the YAML file; they and the runtime settings are kept in the `ApiStore`
once applied.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any, Protocol

from sdn_shadow import __version__
from sdn_shadow.api.store import ApiStore
from sdn_shadow.config import ConfigError, validate_config
from sdn_shadow.config.model import Config, Network
from sdn_shadow.core import CoreCommands, MirrorCounters, ReloadRefused, ShadowCore
from sdn_shadow.templates import (
    Instance,
    Template,
    TemplateError,
    host_profiles,
    parse_instance,
    parse_template,
    render,
)
from sdn_shadow.templates.render import locate

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


class NotFound(LookupError):
    """No such network, host or resource."""


class Invalid(ValueError):
    """A request the controller refuses: `field` names what is wrong, `reason` why."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field, self.reason = field, reason


class Rejected(ValueError):
    """A configuration change the parser refused: every (key path, reason)."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{p}: {r}" for p, r in problems))
        self.problems = problems


class Conflict(Exception):
    """A change the current state does not allow (HTTP 409); `field` and `reason` say why.

    Not a ValueError: the core's refusals are ValueErrors and become Invalid.
    """

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field, self.reason = field, reason


class TemplateRefused(ValueError):
    """A template or instance that cannot be instantiated (HTTP 422): every (field, reason).

    Fields name the document: `template.<key path>`, `instance.<key path>`, or
    a config key path for what the config parser found and neither document holds.
    """

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{p}: {r}" for p, r in problems))
        self.problems = problems


LDAP_OVER_API = ("only in the configuration file: it names a password file the controller "
                 "reads and a server it sends that password to; render this template into "
                 "the configuration with `sdn-shadow template render --config`")
EVENT_NEEDS_LDAP = ("required with fidelity: event (the shadow mirrors configuration events, "
                    "not traffic), and ldap is set " + LDAP_OVER_API)


class ControllerService:
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
                undo: Callable[[float], Updates]) -> None:
        """Make a change: decide and send under the lock, wait without it, undo if refused.

        The controller's hub takes the lock too, so waiting for the switches
        while holding it would stall the very handlers that read their answers.
        """
        with self.lock:
            pending = self.send(decide(self.clock()))
        if pending is None:
            return
        refused = pending.wait(self.commit_timeout)
        if not refused:
            return
        with self.lock:
            back = undo(self.clock())
            took = pending.applied | pending.unknown
            self.send({d: m for d, m in back.items() if d in took})
            self.core.undone(self.clock(), refused)
            names = self.core.switch_names(refused)
        raise Conflict("switches", f"refused by {names}; the change was undone, the previous "
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
                "twins": [{"name": t.name, "twin": t.twin, "switch": t.switch, "port": t.port,
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
                if service == "twin" and not net.shadow.services:
                    raise Invalid("service", f"{network}: no service hosts (shadow.services) "
                                             "to steer to")
                was = self._client(network, host)

            def to(new_path: str | None, new_service: str | None, why: str
                   ) -> Callable[[float], Updates]:
                return lambda now: self.core.set_client(now, network, host, new_path,
                                                        new_service, why)

            self._commit(to(path, service, reason),
                         to(path and was["path"], service and was["service"], "undone"))
            if self.store is not None:
                self.store.set_client(network, host, path, service)
            with self.lock:
                return {"network": network, "host": host, **self._client(network, host)}

    def set_active(self, network: str, active: bool, reason: str) -> dict:
        """Activate or deactivate a network's shadow."""
        with self.changing:
            with self.lock:
                self._shadowed(network)
                was = self.core.activated(network)
            try:
                self._commit(
                    lambda now: self.core.set_shadow_active(now, network, active, reason),
                    lambda now: self.core.set_shadow_active(now, network, was, "undone"))
            except ValueError as err:
                raise Invalid("active", str(err)) from None
            if self.store is not None:
                self.store.set_shadow(network, active=active)
            with self.lock:
                return self._network(network)

    def swap_roles(self, network: str, reason: str) -> dict:
        """Swap every host of `network` with its twin (again: swap back)."""
        with self.changing:
            with self.lock:
                self._shadowed(network)
            try:
                self._commit(lambda now: self.core.swap_roles(now, network, reason),
                             lambda now: self.core.swap_roles(now, network, "undone"))
            except ValueError as err:
                raise Invalid("network", str(err)) from None
            with self.lock:
                swapped = self.core.roles_swapped(network)
                if self.store is not None:
                    self.store.set_shadow(network, swapped=swapped, active=False)
                return self._network(network)

    # --- networks and mirror sessions: edits of the configuration document ------------

    def _doc_networks(self) -> dict:
        if self.document is None:
            raise Invalid("networks", "this controller was started without its configuration "
                                      "document; networks cannot be changed over the API")
        return self.document.setdefault("networks", {})

    def _reconfigure(self, document: dict, reason: str) -> Config:
        """Validate `document` as a whole configuration and take it live (Rejected, Conflict)."""
        try:
            config = validate_config(document)
        except ConfigError as err:
            raise Rejected(err.problems) from None
        with self.lock:
            old = self.core.config()

        def decide(now: float) -> Updates:
            try:
                return self.core.reload(now, config, reason)
            except ReloadRefused as err:
                raise Conflict("fabric", str(err)) from None

        self._commit(decide, lambda now: self.core.reload(now, old))
        self.document = document
        return config

    def create_network(self, name: str, spec: Any, by: str) -> dict:
        """Add network `name` defined by `spec` (its YAML mapping); Conflict if it exists."""
        with self.changing:
            if name in self._doc_networks():
                raise Conflict("name", f"network {name} exists; PUT /networks/{name} replaces it")
            return self._put_network(name, spec, f"network {name} created by {by}", by)

    def replace_network(self, name: str, spec: Any, by: str) -> dict:
        """Replace network `name`'s definition with `spec`; its clients' state carries over."""
        with self.changing:
            if name not in self._doc_networks():
                raise NotFound(f"no network {name}")
            return self._put_network(name, spec, f"network {name} replaced by {by}", by)

    def _put_network(self, name: str, spec: Any, reason: str, by: str) -> dict:
        shadow = spec.get("shadow") if isinstance(spec, dict) else None
        if isinstance(shadow, dict) and "ldap" in shadow:
            raise Invalid(f"networks.{name}.shadow.ldap", "only in the configuration file: it "
                          "names a password file the controller reads and a server it sends "
                          "that password to")
        document = copy.deepcopy(self.document)
        document["networks"][name] = spec
        self._reconfigure(document, reason)
        if self.store is not None:
            self.store.put_network(name, spec, by)
        with self.lock:
            return self._network(name)

    def instantiate_template(self, template: Any, instance: Any, by: str) -> dict:
        """Create the network an instance of a template describes; with its hosts' profiles.

        The rendered network goes through `create_network`: validated, applied
        in one commit, kept. Problems in either document raise TemplateRefused
        naming `template.<key path>` or `instance.<key path>`; a name in use, Conflict.
        """
        parsed, problems = _template_over_api(template)
        placed = None
        if parsed is not None:
            try:
                placed = parse_instance(instance, parsed, "instance")
            except TemplateError as err:
                problems += _fields(err)
        if problems:
            raise TemplateRefused(problems)
        assert parsed is not None and placed is not None
        try:
            network = self.create_network(placed.network, render(parsed, placed), by)
        except Conflict as err:
            if err.field != "name":
                raise
            raise Conflict("instance.network", err.reason) from None
        except Rejected as err:
            raise TemplateRefused([_located(path, reason, placed)
                                   for path, reason in err.problems]) from None
        profiles = [{"host": p.host, "vm_type": p.vm_type.name, "capacity": p.vm_type.to_dict(),
                     "scaling": p.scaling.to_dict()} for p in host_profiles(parsed, placed)]
        return {"network": network, "profiles": profiles}

    def delete_network(self, name: str, by: str) -> dict:
        """Remove network `name`; Conflict while its shadow carries clients."""
        with self.changing:
            if name not in self._doc_networks():
                raise NotFound(f"no network {name}")
            with self.lock:
                busy = self._shadow_busy(name)
            if busy:
                raise Conflict("network", f"{name}: its shadow carries clients ({busy}); move "
                                          "them back and deactivate it first")
            document = copy.deepcopy(self.document)
            del document["networks"][name]
            self._reconfigure(document, f"network {name} deleted by {by}")
            if self.store is not None:
                self.store.drop_network(name, by)
            return {"deleted": name}

    def _shadow_busy(self, name: str) -> str:
        """What of network `name` runs on its shadow now ('' when nothing)."""
        return "; ".join(self.core.shadow_use(name))

    def sessions(self, network: str) -> list[dict]:
        """Network `network`'s mirror sessions with their live counters."""
        with self.lock:
            net = self._shadowed(network)
            counters = self.core.mirror_counters()
            return [self._session(network, s.name, counters) for s in net.shadow.mirror]

    def session(self, network: str, name: str) -> dict:
        """One mirror session with its live counters (NotFound)."""
        with self.lock:
            net = self._shadowed(network)
            if name not in {s.name for s in net.shadow.mirror}:
                raise NotFound(f"no mirror session {name} in {network}")
            return self._session(network, name, self.core.mirror_counters())

    def _session(self, network: str, name: str, counters: dict) -> dict:
        spec = next((item for i, item in enumerate(self._doc_sessions(network))
                     if isinstance(item, dict)
                     and item.get("name", f"{network}.mirror{i}") == name), None)
        running = next(s for s in self.core.config().network(network).shadow.mirror
                       if s.name == name)
        return {"name": name, "network": network, "spec": spec,
                "direction": running.direction, "to": list(running.to),
                "counters": dataclasses.asdict(counters.get(name) or MirrorCounters())}

    def _doc_sessions(self, network: str) -> list[dict]:
        """The document's mirror list of `network` (empty when it has none)."""
        if self.document is None:
            return []
        shadow = self.document.get("networks", {}).get(network, {}).get("shadow") or {}
        mirror = shadow.get("mirror") if isinstance(shadow, dict) else None
        return mirror if isinstance(mirror, list) else []

    def _edit_sessions(self, network: str, edit: Callable[[list], None], reason: str,
                       by: str) -> None:
        networks = self._doc_networks()
        if network not in networks:
            raise NotFound(f"no network {network}")
        document = copy.deepcopy(self.document)
        spec = document["networks"][network]
        shadow = spec.get("shadow") if isinstance(spec, dict) else None
        if not isinstance(shadow, dict):
            raise Invalid("network", f"{network} has no shadow")
        if not isinstance(shadow.get("mirror"), list):
            shadow["mirror"] = []
        edit(shadow["mirror"])
        self._reconfigure(document, reason)
        if self.store is not None:
            self.store.put_network(network, document["networks"][network], by)

    def create_session(self, network: str, spec: dict, by: str) -> dict:
        """Add a mirror session to `network` (its name must be new anywhere)."""
        name = spec.get("name")
        if not isinstance(name, str):
            raise Invalid("name", "required: a name for the session")
        with self.changing:
            with self.lock:
                taken = {s.name: n.name for n in self.core.config().networks if n.shadow
                         for s in n.shadow.mirror}
            if name in taken:
                raise Conflict("name", f"mirror session {name} exists (in {taken[name]})")
            self._edit_sessions(network, lambda items: items.append(spec),
                                f"mirror session {name} created by {by}", by)
            return self.session(network, name)

    def replace_session(self, network: str, name: str, spec: dict, by: str) -> dict:
        """Replace mirror session `name` of `network` (direction, filter, sampling, ...)."""
        if spec.get("name", name) != name:
            raise Invalid("name", f"the session in the path is {name}; rename by deleting and "
                                  "creating")
        spec = {**spec, "name": name}
        with self.changing:
            self._edit_sessions(network, lambda items: _replace_named(items, name, spec),
                                f"mirror session {name} replaced by {by}", by)
            return self.session(network, name)

    def delete_session(self, network: str, name: str, by: str) -> dict:
        """Remove mirror session `name` of `network`: its flows and groups go with it."""
        with self.changing:
            self._edit_sessions(network, lambda items: _replace_named(items, name, None),
                                f"mirror session {name} deleted by {by}", by)
            return {"deleted": name}

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


def _template_over_api(data: Any) -> tuple[Template | None, list[tuple[str, str]]]:
    """The template parsed without its `ldap` block (refused over the API), and the problems.

    `ldap` is refused before anything reads it: its password file is the
    controller's to read, so its existence is not probed for an API caller.
    """
    problems: list[tuple[str, str]] = []
    if isinstance(data, dict) and data.get("ldap") is not None:
        problems.append(("template.ldap", LDAP_OVER_API))
        data = {key: value for key, value in data.items() if key != "ldap"}
    try:
        return parse_template(data, "template"), problems
    except TemplateError as err:
        for field, reason in _fields(err):
            if field == "template.ldap":  # only "required with fidelity: event" is left
                if problems:
                    continue
                reason = EVENT_NEEDS_LDAP
            problems.append((field, reason))
        return None, problems


def _fields(err: TemplateError) -> list[tuple[str, str]]:
    """(`<source>.<key path>`, reason) for each problem; the source alone at the root."""
    return [(source if path == "<root>" else f"{source}.{path}", reason)
            for source, path, reason in err.entries]


def _located(path: str, reason: str, instance: Instance) -> tuple[str, str]:
    """A config problem moved to the template or instance key that caused it, if one did."""
    found = locate(path, instance)
    return (path, reason) if found is None else (f"{found[0]}.{found[1]}", reason)


def _replace_named(items: list, name: str, spec: dict | None) -> None:
    """Put `spec` where the session `name` is in `items` (None: remove it); NotFound if absent."""
    for i, item in enumerate(items):
        if isinstance(item, dict) and item.get("name") == name:
            if spec is None:
                del items[i]
            else:
                items[i] = spec
            return
    raise NotFound(f"no mirror session {name}")


def _merge(into: dict[int, list], updates: dict[int, list]) -> None:
    for dpid, msgs in updates.items():
        into.setdefault(dpid, []).extend(msgs)
