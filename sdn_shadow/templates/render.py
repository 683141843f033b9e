"""Template + instance -> the `networks.NAME` config document, merged and validated; profiles.

`render` is pure and decides nothing the config parser decides: it writes
the document, and `instantiate` merges it into a whole configuration
document (a copy) and validates that with `validate_config`. Problems the
parser finds are moved back to the document that caused them, so a wrong
port reads `INSTANCE: hosts.w1.port: ...` and a wrong allocation reads
`TEMPLATE: allocation.floor: ...`; the rest stay config paths.

Fidelity (decided here, in `mirror_sessions`, and nowhere else), for each
primary host with a twin:

- `full`: one session `<network>.<host>-both`, `direction: both`, to its twin;
- `differential`: one session `<network>.<host>-in`, `direction: in` (what
  the host receives), with the template's `differential.sample` (when < 1)
  and `differential.truncate` (when set);
- `event`: no traffic mirror sessions.

With any fidelity the template's `ldap` block becomes `shadow.ldap` (the
shadow mirrors the primary's configuration); `shadow_enabled: false`
writes no `shadow` key at all.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import fields
from typing import TYPE_CHECKING, Any

from sdn_shadow.config import AllocationSettings, Config, ConfigError, validate_config
from sdn_shadow.config.parse import MAX_PORT

from .model import (
    RESOURCE_FIELDS,
    RESOURCES,
    HostPlacement,
    HostProfile,
    Instance,
    Scaling,
    Sources,
    Template,
    TemplateError,
    VmType,
)

if TYPE_CHECKING:
    from sdn_shadow.analytics.emulated_vm import ResourceProfile

#: fidelity -> direction of each host's session (None: no traffic sessions), copies reduced.
FIDELITY_SESSIONS: dict[str, tuple[str | None, bool]] = {
    "full": ("both", False),
    "differential": ("in", True),
    "event": (None, False),
}
DEFAULT_SOURCES = Sources()
_UNITS = {"cpu": "cores", "memory": "GB", "network": "Mbit/s"}


def mirror_sessions(template: Template, instance: Instance) -> list[dict[str, Any]]:
    """The `shadow.mirror` list the template's fidelity gives the instance's hosts."""
    if not template.shadow_enabled:
        return []
    direction, reduced = FIDELITY_SESSIONS[template.fidelity]
    if direction is None:
        return []
    sessions = []
    for host in instance.hosts:
        if host.twin is None:
            continue
        session: dict[str, Any] = {"name": f"{instance.network}.{host.name}-{direction}",
                                   "hosts": [host.name], "direction": direction,
                                   "to": [host.twin.name]}
        if reduced and template.differential.sample < 1:
            session["sample"] = template.differential.sample
        if reduced and template.differential.truncate is not None:
            session["truncate"] = template.differential.truncate
        sessions.append(session)
    return sessions


def allocation_document(allocation: AllocationSettings) -> dict[str, Any]:
    """`shadow.allocation` as a mapping: every setting that has a value."""
    return {f.name: getattr(allocation, f.name) for f in fields(allocation)
            if getattr(allocation, f.name) is not None}


def render(template: Template, instance: Instance) -> dict[str, Any]:
    """The `networks.NAME` document of `instance` built from `template` (unvalidated)."""
    document: dict[str, Any] = {"cidr": instance.cidr, "hosts": {
        h.name: {"switch": h.switch, "port": h.port, "mac": h.mac, "ip": h.ip}
        for h in instance.hosts}}
    if not template.shadow_enabled:
        return document
    twins: dict[str, Any] = {}
    for host in instance.hosts:
        if host.twin is not None:
            twin = {"twin": host.name, "switch": host.twin.switch, "port": host.twin.port}
            if host.twin.mac is not None:
                twin["mac"] = host.twin.mac
            twins[host.twin.name] = twin
    shadow: dict[str, Any] = {"hosts": twins}
    sessions = mirror_sessions(template, instance)
    if sessions:
        shadow["mirror"] = sessions
    if template.allocation is not None:
        shadow["allocation"] = allocation_document(template.allocation)
    if template.ldap is not None:
        shadow["ldap"] = template.ldap.document(instance.network)
    document["shadow"] = shadow
    return document


def merge(config_document: Any, network: str, network_document: Mapping[str, Any],
          sources: Sources = DEFAULT_SOURCES) -> dict[str, Any]:
    """A copy of `config_document` with `networks.<network>` added; TemplateError if it can't be."""
    if not isinstance(config_document, dict):
        raise TemplateError([(sources.config, "<root>", "must be a mapping")])
    networks = config_document.get("networks")
    if not isinstance(networks, dict):
        raise TemplateError([(sources.config, "networks", "must be a mapping")])
    if network in networks:
        raise TemplateError([(sources.instance, "network",
                              f"{network} already exists in the config (networks.{network})")])
    document = copy.deepcopy(config_document)
    document["networks"][network] = copy.deepcopy(dict(network_document))
    return document


def standalone_document(network: str, network_document: Mapping[str, Any]) -> dict[str, Any]:
    """A config document holding only `network`, on a made-up fabric of the switches it uses.

    The switches are chained by links on their two highest ports, so the
    network's own problems (addresses, ports, twins, sessions) can be found
    without the real fabric.
    """
    hosts = network_document.get("hosts") or {}
    twins = (network_document.get("shadow") or {}).get("hosts") or {}
    names = sorted({str(h.get("switch")) for h in [*hosts.values(), *twins.values()]})
    links = [{"a": f"{a}:{MAX_PORT}", "b": f"{b}:{MAX_PORT - 1}"}
             for a, b in zip(names, names[1:], strict=False)]
    fabric: dict[str, Any] = {"switches": {name: {"dpid": i + 1} for i, name in enumerate(names)}}
    if links:
        fabric["links"] = links
    return {"fabric": fabric, "networks": {network: copy.deepcopy(dict(network_document))}}


def instantiate(template: Template, instance: Instance, config_document: Any,
                sources: Sources = DEFAULT_SOURCES) -> tuple[dict[str, Any], Config]:
    """The config document with the instance's network added, and its validated Config.

    `config_document` is not changed. Every problem, in the template, the
    instance or the resulting config, raises one TemplateError.
    """
    document = merge(config_document, instance.network, render(template, instance), sources)
    return document, _validate(document, instance, sources, standalone=False)


def check_alone(template: Template, instance: Instance,
                sources: Sources = DEFAULT_SOURCES) -> Config:
    """Validate the instance's network on its own (see `standalone_document`); TemplateError."""
    document = standalone_document(instance.network, render(template, instance))
    return _validate(document, instance, sources, standalone=True)


def _validate(document: dict[str, Any], instance: Instance, sources: Sources,
              standalone: bool) -> Config:
    try:
        return validate_config(document)
    except ConfigError as err:
        other = sources.instance if standalone else sources.config
        entries = []
        for path, reason in err.problems:
            located = locate(path, instance)
            if located is None:
                entries.append((other, path, reason))
            else:
                which, where = located
                entries.append((getattr(sources, which), where, reason))
        raise TemplateError(entries) from None


def locate(path: str, instance: Instance) -> tuple[str, str] | None:
    """("instance" | "template", key path) a config problem at `path` belongs to, or None."""
    prefix = f"networks.{instance.network}"
    if path == prefix:
        return "instance", "network"
    if not path.startswith(prefix + "."):
        return None
    rest = path[len(prefix) + 1:]
    for key, where in (("cidr", "instance"), ("shadow.allocation", "template"),
                       ("shadow.ldap", "template")):
        tail = _after(rest, key)
        if tail is not None:
            return where, f"{key.removeprefix('shadow.')}{tail}"
    for host in sorted(instance.hosts, key=lambda h: -len(h.name)):
        tail = _after(rest, f"hosts.{host.name}")
        if tail is not None:
            return "instance", f"hosts.{host.name}{tail}"
    for host in sorted(instance.hosts, key=lambda h: -len(h.twin.name if h.twin else "")):
        tail = None if host.twin is None else _after(rest, f"shadow.hosts.{host.twin.name}")
        if tail is not None:
            return "instance", f"hosts.{host.name}.twin{tail}"
    return None


def _after(path: str, key: str) -> str | None:
    """What follows `key` in `path` ("" , ".x" or "[i]..."), or None if `path` isn't under it."""
    if path == key:
        return ""
    if path.startswith(key) and path[len(key)] in ".[":
        return path[len(key):]
    return None


# --- resource profiles ------------------------------------------------------------------------


def capture_address(host: HostPlacement) -> str:
    """The address a host's traffic has in a capture: `capture_ip`, else its `ip`."""
    return host.capture_ip or host.ip


def host_profiles(template: Template, instance: Instance,
                  predicted: Mapping[str, ResourceProfile | str] | None = None
                  ) -> tuple[HostProfile, ...]:
    """Each host's VM type and scaling rules; with `predicted` (per host: a profile, or why
    there is none) also the verdict of `fit_verdict`."""
    out = []
    for host in instance.hosts:
        vm_type = template.vm_type(host.vm_type)
        if predicted is None or host.name not in predicted:
            out.append(HostProfile(host.name, vm_type, template.scaling))
            continue
        found = predicted[host.name]
        address = capture_address(host)
        if isinstance(found, str):
            out.append(HostProfile(host.name, vm_type, template.scaling, address, None, found))
        else:
            out.append(HostProfile(host.name, vm_type, template.scaling, address, found,
                                   fit_verdict(vm_type, template.scaling, found)))
    return tuple(out)


def fit_verdict(vm_type: VmType, scaling: Scaling, predicted: ResourceProfile) -> str:
    """"fits" or "scale out: cpu upper 3.1 cores > 0.8 x 2 cores; ...".

    Each predicted upper bound is compared with the type's capacity times
    the resource's `above` (1 without a rule); storage, when the type sizes
    it, with the whole disk. A fitting host whose every `below` rule holds
    reads "fits; could scale in: ...".
    """
    over, under, below_rules = [], [], 0
    for resource in RESOURCES:
        name = RESOURCE_FIELDS[resource]
        capacity, upper = getattr(vm_type, name), getattr(predicted, name).upper
        rule, unit = scaling.rule(resource), _UNITS[resource]
        share = 1.0 if rule is None else rule.above
        if upper > share * capacity:
            over.append(f"{resource} upper {_num(upper)} {unit} > {_num(share)} x "
                        f"{_num(capacity)} {unit}")
        if rule is not None and rule.below is not None:
            below_rules += 1
            if upper < rule.below * capacity:
                under.append(f"{resource} upper {_num(upper)} {unit} < {_num(rule.below)} x "
                              f"{_num(capacity)} {unit}")
    storage = predicted.storage_gb.upper
    if vm_type.storage_gb > 0 and storage > vm_type.storage_gb:
        over.append(f"storage upper {_num(storage)} GB > {_num(vm_type.storage_gb)} GB")
    if over:
        return "scale out: " + "; ".join(over)
    if below_rules and len(under) == below_rules:
        return "fits; could scale in: " + "; ".join(under)
    return "fits"


def _num(value: float) -> str:
    """Three significant figures below 100, whole numbers from there (no exponents)."""
    return f"{value:.0f}" if abs(value) >= 99.95 else f"{value:.3g}"
