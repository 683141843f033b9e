"""Network and mirror-session changes over the API: edits of the configuration document.

Each edit is validated by the same parser as the YAML file, taken live as
one commit (`ControllerService._commit`) and kept in the `ApiStore`. Templates
are rendered into a network here; their `ldap` block is refused over the API.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from sdn_shadow.api.errors import Conflict, Invalid, NotFound, Rejected, TemplateRefused
from sdn_shadow.api.store import ApiStore
from sdn_shadow.config import ConfigError, validate_config
from sdn_shadow.config.model import Config, Network
from sdn_shadow.config.partial import with_network
from sdn_shadow.core import CoreCommands, MirrorCounters, ReloadRefused, Updates
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

LDAP_OVER_API = ("only in the configuration file: it names a password file the controller "
                 "reads and a server it sends that password to; render this template into "
                 "the configuration with `sdn-shadow template render --config`")
BASELINE_OVER_API = ("set or changed only in the configuration file: it names files the "
                     "controller opens and reads (over the API it may only stay as it is)")


def _baseline(spec: Any) -> Any:
    """The `shadow.detect.baseline` of a network definition (None when it has none)."""
    shadow = spec.get("shadow") if isinstance(spec, dict) else None
    detect = shadow.get("detect") if isinstance(shadow, dict) else None
    return detect.get("baseline") if isinstance(detect, dict) else None


EVENT_NEEDS_LDAP = ("required with fidelity: event (the shadow mirrors configuration events, "
                    "not traffic), and ldap is set " + LDAP_OVER_API)


class DocumentChanges:
    """The configuration-document half of `ControllerService` (networks, sessions, templates)."""

    core: CoreCommands
    lock: AbstractContextManager[Any]
    changing: threading.Lock
    document: dict[str, Any] | None
    store: ApiStore | None

    def _commit(self, decide: Callable[[float], Updates],
                undo: Callable[[float], Updates],
                save: Callable[[], None] | None = None) -> None:
        raise NotImplementedError

    def _network(self, name: str) -> dict[str, Any]:
        raise NotImplementedError

    def _shadowed(self, name: str) -> Network:
        raise NotImplementedError

    def _with_network(self, name: str, spec: Any = None, drop: bool = False
                      ) -> dict[str, Any]:
        """A new document: this one with network `name` defined by `spec` (or dropped).

        The running document is never edited in place: the new one shares
        every part the edit leaves alone (Invalid without a document).
        """
        networks = dict(self._doc_networks())
        if drop:
            del networks[name]
        else:
            networks[name] = spec
        return {**(self.document or {}), "networks": networks}

    def _mirror(self, network: str) -> list[Any]:
        """The running configuration's mirror sessions of shadowed network `network`."""
        shadow = self._shadowed(network).shadow
        return list(shadow.mirror) if shadow is not None else []

    def _doc_networks(self) -> dict:
        if self.document is None:
            raise Invalid("networks", "this controller was started without its configuration "
                                      "document; networks cannot be changed over the API")
        return self.document.setdefault("networks", {})

    def _reconfigure(self, document: dict, reason: str,
                     save: Callable[[], None] | None, network: str) -> Config:
        """Validate `document` as a whole configuration and take it live, then `save` it
        (Rejected, Conflict; Unsaved when the store fails and the change is undone).

        `network` is the one network the edit changed: the others are taken as
        they run, and only it is parsed (`config.partial`); whenever that cannot
        say, the whole document is validated, so the outcome is the same.
        """
        with self.lock:
            old = self.core.config()
        config = with_network(old, document, network)
        if config is None:
            try:
                config = validate_config(document)
            except ConfigError as err:
                raise Rejected(err.problems) from None

        def decide(now: float) -> Updates:
            try:
                return self.core.reload(now, config, reason)
            except ReloadRefused as err:
                raise Conflict("fabric", str(err)) from None

        self._commit(decide, lambda now: self.core.reload(now, old), save)
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
        detect = shadow.get("detect") if isinstance(shadow, dict) else None
        if isinstance(detect, dict) and "baseline" in detect \
                and detect["baseline"] != _baseline(self._doc_networks().get(name)):
            raise Invalid(f"networks.{name}.shadow.detect.baseline", BASELINE_OVER_API)
        document = self._with_network(name, spec)
        store = self.store
        self._reconfigure(document, reason,
                          None if store is None else lambda: store.put_network(name, spec, by),
                          name)
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
            document = self._with_network(name, drop=True)
            store = self.store
            self._reconfigure(document, f"network {name} deleted by {by}",
                              None if store is None else lambda: store.drop_network(name, by),
                              name)
            return {"deleted": name}

    def _shadow_busy(self, name: str) -> str:
        """What of network `name` runs on its shadow now ('' when nothing)."""
        return "; ".join(self.core.shadow_use(name))

    def sessions(self, network: str) -> list[dict]:
        """Network `network`'s mirror sessions with their live counters."""
        with self.lock:
            self._shadowed(network)
            counters = self.core.mirror_counters()
            return [self._session(network, s.name, counters) for s in self._mirror(network)]

    def session(self, network: str, name: str) -> dict:
        """One mirror session with its live counters (NotFound)."""
        with self.lock:
            self._shadowed(network)
            if name not in {s.name for s in self._mirror(network)}:
                raise NotFound(f"no mirror session {name} in {network}")
            return self._session(network, name, self.core.mirror_counters((name,)))

    def _session(self, network: str, name: str, counters: dict) -> dict:
        spec = next((item for i, item in enumerate(self._doc_sessions(network))
                     if isinstance(item, dict)
                     and item.get("name", f"{network}.mirror{i}") == name), None)
        running = next(s for s in self._mirror(network) if s.name == name)
        return {"name": name, "network": network, "spec": spec,
                "direction": running.direction, "deliver": running.deliver,
                "to": list(running.to),
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
        spec = networks[network]
        shadow = spec.get("shadow") if isinstance(spec, dict) else None
        if not isinstance(shadow, dict):
            raise Invalid("network", f"{network} has no shadow")
        mirror = shadow.get("mirror")
        items = list(mirror) if isinstance(mirror, list) else []
        edit(items)  # on copies of the network's definition, its shadow and their list
        spec = {**spec, "shadow": {**shadow, "mirror": items}}
        store = self.store
        self._reconfigure(self._with_network(network, spec), reason, None if store is None else
                          lambda: store.put_network(network, spec, by), network)

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
