"""Validate a placement template and an instance document (YAML or JSON), reporting every problem.

A template (unknown keys are errors; problems read `key.path: reason`)::

    name: web-tier                  # required, [A-Za-z0-9][A-Za-z0-9_.-]*
    description: two web servers    # optional
    shadow_enabled: true            # default true; false: no shadow (and none of the four
                                    # shadow keys below may be given)
    fidelity: full                  # full | differential | event (default full)
    differential:                   # only with fidelity: differential
      sample: 0.25                  # fraction copied, (0, 1], >= 1/256 (default 0.25, or 1
                                    # when truncate is given)
      truncate: 128                 # optional: bytes kept of each copy, 64..65535; needs
                                    # sample 1 (OVS cannot truncate sampled copies)
    allocation:                     # optional: the shadow's `allocation`, as in a config
      strategy: conservative        # (checked by the config parser, reported here)
    ldap:                           # the shadow's `ldap`, as in a config; required with
      url: ldap://127.0.0.1:389     # fidelity: event. `{network}` in any string becomes
      bind_dn: cn=admin,dc=example,dc=org            # the instance's network name
      password_file: /etc/sdn-shadow/ldap-password  # must be readable
      primary_base: ou={network},dc=example,dc=org
      shadow_base: ou={network}-shadow,dc=example,dc=org
    scaling:                        # optional; each of cpu, memory, network optional
      cpu: {above: 0.8, for: 60, below: 0.3}   # above in (0, 1]; for: seconds > 0;
                                               # below (optional) in (0, above)
    vm_types:                       # required, non-empty: name -> capacity of one VM
      web: {cpu_cores: 2, memory_gb: 4, bandwidth_mbps: 1000, storage_gb: 40}
                                    # cores, GB, Mbit/s > 0; storage_gb >= 0 (default 0:
                                    # not sized, not judged)

An instance: where one copy goes (values such as MACs, IPs, ports and
addresses in the cidr are checked by the config parser when rendered)::

    network: web                    # required: the new network's name
    cidr: 10.1.0.0/24               # required
    hosts:                          # required, non-empty
      w1:
        switch: s1                  # required
        port: 5                     # required
        mac: "00:00:00:00:0c:01"    # required (quote it)
        ip: 10.1.0.1                # required
        vm_type: web                # one of the template's vm_types (optional if it has one)
        twin: {switch: s1, port: 6} # with a shadow; optional `name` (default w1s) and `mac`
        capture_ip: 10.0.0.2        # optional: its address in a capture used for profiles

With a shadow, at least one host needs a twin; without one, no host may have one.
"""

from __future__ import annotations

import ipaddress
import os
from fractions import Fraction
from typing import Any

from sdn_shadow.config import AllocationSettings, ConfigError, read_document, validate_config
from sdn_shadow.config.document import LongNumber, number_problem
from sdn_shadow.config.parse import MAX_PORT, MAX_SAMPLE_BUCKETS, NAME_PATTERN, Shapes
from sdn_shadow.config.shapes import name_problem

from .model import (
    FIDELITIES,
    NETWORK_PLACEHOLDER,
    RESOURCES,
    Differential,
    HostPlacement,
    Instance,
    LdapTemplate,
    ScaleRule,
    Scaling,
    Template,
    TemplateError,
    TwinPlacement,
    VmType,
)
from .render import standalone_document

_NAME_REASON = f"must be a name matching {NAME_PATTERN}"
_TEMPLATE_KEYS = ("allocation", "description", "differential", "fidelity", "ldap", "name",
                  "scaling", "shadow_enabled", "vm_types")
_SHADOW_ONLY = ("fidelity", "differential", "allocation", "ldap")
_RULE_KEYS = ("above", "below", "for")
_VM_KEYS = ("bandwidth_mbps", "cpu_cores", "memory_gb", "storage_gb")
_VM_REQUIRED = ("bandwidth_mbps", "cpu_cores", "memory_gb")
_INSTANCE_KEYS = ("cidr", "hosts", "network")
_HOST_KEYS = ("capture_ip", "ip", "mac", "port", "switch", "twin", "vm_type")
_TWIN_KEYS = ("mac", "name", "port", "switch")
_PROBE = "network"  # the made-up network the template's allocation and ldap are checked in


def load_template(path: str | os.PathLike[str]) -> Template:
    """Read and validate the template file at `path`; TemplateError names the file."""
    source = os.fsdecode(path)
    return parse_template(_read(path), source)


def load_instance(path: str | os.PathLike[str], template: Template) -> Instance:
    """Read and validate the instance file at `path` for `template`; TemplateError."""
    source = os.fsdecode(path)
    return parse_instance(_read(path), template, source)


def _read(path: str | os.PathLike[str]) -> Any:
    try:
        return read_document(path)
    except ConfigError as err:
        raise TemplateError([(err.source, p, r) for p, r in err.problems]) from None


def parse_template(data: Any, source: str = "template") -> Template:
    """Validate YAML-loaded `data` as a template; TemplateError lists every problem."""
    check = _Checker(source)
    template = _template(check, data)
    if check.entries or template is None:
        raise TemplateError(check.entries)
    return template


def parse_instance(data: Any, template: Template, source: str = "instance") -> Instance:
    """Validate YAML-loaded `data` as an instance of `template`; TemplateError."""
    check = _Checker(source)
    instance = _instance(check, data, template)
    if check.entries or instance is None:
        raise TemplateError(check.entries)
    return instance


class _Checker(Shapes):
    """Collects (source, path, reason) problems; the shapes speak as the config parser's do."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.entries: list[tuple[str, str, str]] = []

    def err(self, path: str, reason: str) -> None:
        self.entries.append((self.source, path or "<root>", reason))

    def name(self, value: Any, path: str) -> str | None:
        problem = name_problem(value) if isinstance(value, str) else _NAME_REASON
        if problem is None:
            return value
        self.err(path, problem)
        return None

    def number(self, value: Any, path: str, low: float, strict: bool,
               high: float | None = None) -> float | None:
        """A finite number above `low` (or at least it), at most `high` when given."""
        problem = number_problem(value)
        if problem is not None:
            self.err(path, problem)
        elif type(value) not in (int, float):  # bool, and base-60 ints YAML 1.1 reads from 1:30
            self.err(path, "must be a number")
        elif high is not None and not (low < value <= high if strict else low <= value <= high):
            self.err(path, f"must be in {'(' if strict else '['}{low:g}, {high:g}]")
        elif high is None and (value <= low if strict else value < low):
            self.err(path, f"must be {'>' if strict else '>='} {low:g}")
        else:
            return float(value)
        return None

    def integer(self, value: Any, path: str, low: int, high: int) -> int | None:
        if isinstance(value, LongNumber):
            self.err(path, f"must be in {low}..{high}")
        elif type(value) is not int:
            self.err(path, "must be an integer")
        elif not low <= value <= high:
            self.err(path, f"must be in {low}..{high}")
        else:
            return value
        return None


# --- templates --------------------------------------------------------------------------------


def _template(check: _Checker, data: Any) -> Template | None:
    f = check.fields(data, "", _TEMPLATE_KEYS, ("name", "vm_types"))
    if f is None:
        return None
    name = check.name(f["name"], "name") if "name" in f else None
    description = ""
    if f.get("description") is not None:
        description = check.string(f["description"], "description") or ""
    shadow = True
    if "shadow_enabled" in f:
        shadow = bool(check.boolean(f["shadow_enabled"], "shadow_enabled"))
        if f["shadow_enabled"] is False:
            for key in _SHADOW_ONLY:
                if key in f:
                    check.err(key, "has no effect with shadow_enabled: false (leave it out)")
    fidelity = "full"
    if shadow and f.get("fidelity") is not None:
        fidelity = check.string(f["fidelity"], "fidelity") or "full"
        if fidelity not in FIDELITIES:
            check.err("fidelity", f"must be one of: {', '.join(FIDELITIES)}")
    differential = Differential()
    if shadow and f.get("differential") is not None:
        if fidelity != "differential":
            check.err("differential", f"only used with fidelity: differential (this template "
                                      f"has {fidelity})")
        differential = _differential(check, f["differential"])
    if shadow and fidelity == "event" and f.get("ldap") is None:
        check.err("ldap", "required with fidelity: event (the shadow mirrors configuration "
                          "events, not traffic)")
    allocation, ldap = None, None
    if shadow and (f.get("allocation") is not None or f.get("ldap") is not None):
        allocation, ldap = _probe(check, f.get("allocation"), f.get("ldap"))
    scaling = _scaling(check, f["scaling"]) if f.get("scaling") is not None else Scaling()
    vm_types = _vm_types(check, f["vm_types"]) if "vm_types" in f else ()
    if check.entries or name is None:
        return None
    return Template(name, vm_types, description, shadow, fidelity, differential, allocation,
                    scaling, ldap)


def _differential(check: _Checker, value: Any) -> Differential:
    f = check.fields(value, "differential", ("sample", "truncate"))
    if f is None:
        return Differential()
    truncate = None
    if f.get("truncate") is not None:
        truncate = check.integer(f["truncate"], "differential.truncate", 64, 65535)
    sample = Differential.sample if f.get("truncate") is None else 1.0
    if f.get("sample") is not None:
        given = check.number(f["sample"], "differential.sample", 0, True, 1)
        if given is not None and Fraction(given).limit_denominator(MAX_SAMPLE_BUCKETS) == 0:
            check.err("differential.sample", f"must be at least 1/{MAX_SAMPLE_BUCKETS}")
        elif given is not None:
            sample = given
        if given is not None and given < 1 and f.get("truncate") is not None:
            check.err("differential.truncate", "cannot be combined with sample < 1 (Open "
                      "vSwitch ignores truncation inside the select group that samples)")
    return Differential(sample, truncate)


def _probe(check: _Checker, allocation: Any, ldap: Any
           ) -> tuple[AllocationSettings | None, LdapTemplate | None]:
    """Check `allocation` and `ldap` with the config parser, in a one-host network."""
    shadow: dict[str, Any] = {"hosts": {"hs": {"twin": "h", "switch": "s", "port": 2}}}
    if allocation is not None:
        shadow["allocation"] = allocation
    if ldap is not None:
        shadow["ldap"] = _fill(ldap, _PROBE)
    network = {"cidr": "10.0.0.0/24", "hosts": {
        "h": {"switch": "s", "port": 1, "mac": "02:00:00:00:00:01", "ip": "10.0.0.1"}},
        "shadow": shadow}
    try:
        config = validate_config(standalone_document(_PROBE, network))
    except ConfigError as err:
        prefix = f"networks.{_PROBE}.shadow."
        for path, reason in err.problems:
            check.err(path.removeprefix(prefix), reason)
        return None, None
    settings = config.networks[0].shadow
    assert settings is not None
    return (settings.allocation if allocation is not None else None,
            None if ldap is None else _ldap(ldap))


def _fill(value: Any, network: str) -> Any:
    """`value` with `{network}` replaced in every string inside it."""
    if isinstance(value, str):
        return value.replace(NETWORK_PLACEHOLDER, network)
    if isinstance(value, dict):
        return {k: _fill(v, network) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, network) for v in value]
    return value


def _ldap(value: dict[str, Any]) -> LdapTemplate:
    """The raw `ldap` block, already checked by the config parser, frozen."""
    rules = tuple(next(iter(rule.items())) for rule in value.get("rules") or ())
    interval = value.get("interval")
    return LdapTemplate(value["url"], value["bind_dn"], value["password_file"],
                        value["primary_base"], value["shadow_base"],
                        None if interval is None else float(interval),
                        value.get("revert_drift"), rules)


def _scaling(check: _Checker, value: Any) -> Scaling:
    f = check.fields(value, "scaling", RESOURCES)
    if f is None:
        return Scaling()
    rules: dict[str, ScaleRule] = {}
    for resource in RESOURCES:
        if f.get(resource) is None:
            continue
        path = f"scaling.{resource}"
        r = check.fields(f[resource], path, _RULE_KEYS, ("above", "for"))
        if r is None:
            continue
        above = check.number(r["above"], f"{path}.above", 0, True, 1) if "above" in r else None
        seconds = check.number(r["for"], f"{path}.for", 0, True) if "for" in r else None
        below = None
        if r.get("below") is not None:
            below = check.number(r["below"], f"{path}.below", 0, True, 1)
            if below is not None and above is not None and below >= above:
                check.err(f"{path}.below", f"must be below {path}.above ({above:g})")
                below = None
        if above is not None and seconds is not None:
            rules[resource] = ScaleRule(above, seconds, below)
    return Scaling(**rules)


def _vm_types(check: _Checker, value: Any) -> tuple[VmType, ...]:
    types = []
    for name, path, item in check.named(value, "vm_types", non_empty=True):
        f = check.fields(item, path, _VM_KEYS, _VM_REQUIRED)
        if f is None:
            continue
        given = {key: check.number(f[key], f"{path}.{key}", 0, key != "storage_gb")
                 for key in _VM_KEYS if key in f}
        if None not in given.values() and set(_VM_REQUIRED) <= given.keys():
            types.append(VmType(name, **given))
    return tuple(types)


# --- instances --------------------------------------------------------------------------------


def _instance(check: _Checker, data: Any, template: Template) -> Instance | None:
    f = check.fields(data, "", _INSTANCE_KEYS, _INSTANCE_KEYS)
    if f is None:
        return None
    network = check.name(f["network"], "network") if "network" in f else None
    cidr = check.string(f["cidr"], "cidr", "must be an IPv4 network like 10.0.0.0/24") \
        if "cidr" in f else None
    hosts: list[HostPlacement] = []
    twins: dict[str, str] = {}
    if "hosts" in f:
        for name, path, item in check.named(f["hosts"], "hosts", non_empty=True):
            host = _host(check, name, path, item, template, twins)
            if host is not None:
                hosts.append(host)
        if template.shadow_enabled and isinstance(f["hosts"], dict) and f["hosts"] and \
                not twins:
            check.err("hosts", f"template {template.name} has a shadow: give at least one "
                               "host a twin: {switch, port}")
    if check.entries or network is None or cidr is None:
        return None
    return Instance(network, cidr, tuple(hosts))


def _host(check: _Checker, name: str, path: str, item: Any, template: Template,
          twins: dict[str, str]) -> HostPlacement | None:
    single = len(template.vm_types) == 1
    required = ("ip", "mac", "port", "switch") if single else ("ip", "mac", "port", "switch",
                                                                "vm_type")
    before = len(check.entries)  # a missing key is a problem of this host too
    f = check.fields(item, path, _HOST_KEYS, required)
    if f is None:
        return None
    switch = check.name(f["switch"], f"{path}.switch") if "switch" in f else None
    port = check.integer(f["port"], f"{path}.port", 1, MAX_PORT) if "port" in f else None
    mac = _mac(check, f["mac"], f"{path}.mac") if "mac" in f else None
    ip = check.string(f["ip"], f"{path}.ip", "must be an IPv4 address") if "ip" in f else None
    vm_type = template.vm_types[0].name if single else None
    if f.get("vm_type") is not None:
        vm_type = check.string(f["vm_type"], f"{path}.vm_type")
        known = [t.name for t in template.vm_types]
        if vm_type is not None and vm_type not in known:
            check.err(f"{path}.vm_type", f"unknown VM type {vm_type} (template {template.name} "
                                         f"has: {', '.join(known)})")
    elif vm_type is None and "vm_type" in f:  # `vm_type: null`, the template has several
        check.err(f"{path}.vm_type", f"required: template {template.name} has several VM types")
    capture_ip = None
    if f.get("capture_ip") is not None:
        capture_ip = _address(check, f["capture_ip"], f"{path}.capture_ip")
    twin = None
    if f.get("twin") is not None:
        if not template.shadow_enabled:
            check.err(f"{path}.twin", f"template {template.name} has shadow_enabled: false")
        else:
            twin = _twin(check, name, f"{path}.twin", f["twin"], twins)
    if len(check.entries) > before:
        return None
    assert switch is not None and port is not None and mac is not None and ip is not None
    assert vm_type is not None
    return HostPlacement(name, switch, port, mac, ip, vm_type, twin, capture_ip)


def _twin(check: _Checker, host: str, path: str, value: Any,
          twins: dict[str, str]) -> TwinPlacement | None:
    f = check.fields(value, path, _TWIN_KEYS, ("port", "switch"))
    if f is None:
        return None
    name = f"{host}s"
    if f.get("name") is not None:
        name = check.name(f["name"], f"{path}.name") or name
    if name in twins:
        check.err(f"{path}.name" if "name" in f else path,
                  f"twin name {name} already used by {twins[name]}")
    twins.setdefault(name, path)
    switch = check.name(f["switch"], f"{path}.switch") if "switch" in f else None
    port = check.integer(f["port"], f"{path}.port", 1, MAX_PORT) if "port" in f else None
    mac = _mac(check, f["mac"], f"{path}.mac") if f.get("mac") is not None else None
    if switch is None or port is None:
        return None
    return TwinPlacement(name, switch, port, mac)


def _mac(check: _Checker, value: Any, path: str) -> str | None:
    """A string (its form is the config parser's to check): YAML reads some unquoted MACs as
    base-60 integers."""
    if isinstance(value, int) and not isinstance(value, bool):
        check.err(path, 'must be a quoted MAC address string like "00:00:00:00:00:01"')
        return None
    return check.string(value, path, 'must be a MAC address like "00:00:00:00:00:01"')


def _address(check: _Checker, value: Any, path: str) -> str | None:
    try:
        if isinstance(value, str):
            return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        pass
    check.err(path, "must be an IP address")
    return None
