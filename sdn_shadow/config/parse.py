"""Validate a YAML configuration into the frozen objects of `model.py`, reporting every problem.

The format (unknown keys are errors; problems read `key.path: reason`)::

    controller:                     # optional
      stats_interval: 2             # seconds between mirror-counter polls, > 0 (default 2)
    fabric:
      switches:                     # required, non-empty: name -> {dpid}
        s1: {dpid: 1}               # 1..2**64-1, "0x1" or "00:00:00:00:00:00:00:01"; unique
      links:                        # optional; `switch:port` at each end, capacity in Mbit/s
        - {a: "s1:10", b: "s2:10", capacity: 1000}
    networks:                       # required: name -> primary network
      tenant-a:
        cidr: 10.0.0.0/24           # required IPv4 network (the tenant's own address space)
        vlan: 100                   # optional fabric VLAN 1..4094 (else assigned from 100)
        hosts:                      # required: name -> attachment
          h1: {switch: s1, port: 1, mac: "00:00:00:00:0a:01", ip: 10.0.0.1}
        shadow:                     # optional
          vlan: 2000                # optional (else assigned from 2000)
          hosts:                    # name -> twin: IP is the twin's, MAC too unless `mac:` given
            h1s: {twin: h1, switch: s1, port: 4}   # optional mirror_vlan (else from 3000)
          mirror:                   # optional list of mirror sessions
            - name: h1-out          # optional, unique in the file; default "<network>.mirror<i>"
              hosts: [h1]           # source primary hosts, or `ports: ["s1:1"]` (their ports)
              direction: both       # in | out | both (default both)
              match: {proto: udp, src: 10.0.0.0/24, dst: 10.0.0.2, src_port: 1, dst_port: 5201}
              sample: 1.0           # fraction of packets copied, (0, 1], >= 1/256 (default 1)
              truncate: 128         # optional: bytes kept of each copy, 14..65535
              to: [h1s]             # required: this network's shadow hosts
          ldap:                     # optional: the controller mirrors the primary's LDAP subtree
            url: ldap://127.0.0.1:389             # required, ldap:// or ldaps://HOST[:PORT]
            bind_dn: cn=admin,dc=example,dc=org   # required
            password_file: /etc/sdn-shadow/ldap-password  # required, readable; first line
            primary_base: ou=tenant-a,dc=example,dc=org         # required DN (only read)
            shadow_base: ou=tenant-a-shadow,dc=example,dc=org   # required DN, not overlapping
            interval: 5             # seconds between rounds, > 0 (default 5)
            revert_drift: false     # put back changes made in the shadow (default false)
            rules:                  # optional, in order: `ldap mirror`'s --map / --map-regex
              - map: "ipHost/ipHostNumber=10.0.0.1:10.1.0.1"     # [CLASS/]ATTR=OLD:NEW
              - map_regex: "ipHost/ipHostNumber=^10[.]0[.]:10.1."  # [CLASS/]ATTR=PATTERN:REPL
          detect:                   # optional: anomaly detection on the copies (config/detect.py)
            on: [h1s]               # shadow hosts whose switch ports are watched
            response: {mode: dry-run, ttl: 300, protected: [h1]}   # off | dry-run | live

Names match `[A-Za-z0-9][A-Za-z0-9_.-]*`. Each switch port has one user (a link end or a
host). VLAN ids are unique across the file. Every host of a network must have a fabric path
to the others. Quote MAC addresses and colon-written dpids: YAML 1.1 reads e.g. unquoted
`12:34:56:00:00:01` as a base-60 integer.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import math
import os
import re
from collections import Counter
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import networkx as nx
import yaml

from sdn_shadow.config.detect import parse_detect
from sdn_shadow.directory.dn import split_dn, within
from sdn_shadow.directory.rules import MappingRule, parse_rule

from .model import (
    DIRECTIONS,
    STRATEGIES,
    AllocationSettings,
    ApiSettings,
    Config,
    ConfigError,
    ControllerSettings,
    DetectSettings,
    FailoverSettings,
    ForecastSettings,
    Host,
    LdapMirrorSettings,
    LdapRoleSettings,
    Link,
    MatchFilter,
    MirrorSession,
    Network,
    PortRef,
    RoutingSettings,
    Service,
    Shadow,
    ShadowHost,
    Switch,
    TelemetrySettings,
    TlsFiles,
)

NAME_PATTERN = r"[A-Za-z0-9][A-Za-z0-9_.-]*"
MAX_PORT = 0xFFFFFEFF
MAX_DPID = 2**64 - 1
MAX_VLAN = 4094
IP_PROTOS = {"icmp": 1, "tcp": 6, "udp": 17}
#: First VLAN id tried when assigning one to a primary network, a shadow, a shadow host.
VLAN_BASE_NETWORK, VLAN_BASE_SHADOW, VLAN_BASE_MIRROR = 100, 2000, 3000
#: Sampling uses OVS select groups with at most this many equal-weight buckets.
MAX_SAMPLE_BUCKETS = 256

_NAME_RE = re.compile(NAME_PATTERN)
_MAC_RE = re.compile(r"[0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2}){5}")
_DPID_HEX_RE = re.compile(r"0[xX][0-9A-Fa-f]+")
_DPID_COLON_RE = re.compile(r"[0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2}){7}")
_PORT_REF_RE = re.compile(r"([^:\s]+):([0-9]+)")

_MAC_EXAMPLE = "00:00:00:00:00:01"
_NAME_REASON = f"must be a name matching {NAME_PATTERN}"
_DPID_REASON = 'must be an integer, a hex string like "0x1" or like "00:00:00:00:00:00:00:01"'
_PORT_REF_REASON = 'must be "switch:port", like "s1:10"'
_NETWORK_REASON = "must be an IPv4 network like 10.0.0.0/24"
_PREFIX_REASON = "must be an IPv4 address or network like 10.0.0.0/24"
_NETWORK_KEYS = ("cidr", "hosts", "shadow", "vlan")
_HOST_KEYS = ("ip", "mac", "port", "switch")
_SHADOW_KEYS = ("active", "allocation", "clients", "detect", "hosts", "ldap", "mirror",
                "services", "vlan")
_LDAP_MIRROR_KEYS = ("bind_dn", "interval", "password_file", "primary_base", "revert_drift",
                     "rules", "shadow_base", "url")
_LDAP_MIRROR_REQUIRED = ("bind_dn", "password_file", "primary_base", "shadow_base", "url")
_LDAP_RULE_KEYS = ("map", "map_regex")
_SHADOW_HOST_KEYS = ("mac", "mirror_vlan", "port", "switch", "twin")
_SESSION_KEYS = ("direction", "hosts", "match", "name", "ports", "sample", "to", "truncate")
_MATCH_KEYS = ("dst", "dst_port", "proto", "src", "src_port")


def parse_config(data: object, source: str = "") -> Config:
    """Validate YAML-loaded `data`; raise `ConfigError` listing every problem found."""
    parser = _Parser()
    config = parser.config(data)
    if parser.problems or config is None:
        raise ConfigError(parser.problems, source)
    return config


def load_config(path: str | os.PathLike[str]) -> Config:
    """Read and validate the YAML file at `path` (unreadable file or bad YAML: `ConfigError`)."""
    return parse_config(read_document(path), os.fsdecode(path))


def read_document(path: str | os.PathLike[str]) -> Any:
    """The YAML file at `path` as data, unvalidated (unreadable file or bad YAML: `ConfigError`)."""
    source = os.fsdecode(path)
    try:
        with open(path, "rb") as stream:
            text = stream.read()
    except OSError as exc:
        raise ConfigError([("<file>", f"cannot read: {exc.strerror or exc}")], source) from exc
    try:
        data = yaml.load(text, Loader=_Loader)  # a SafeLoader subclass: no arbitrary objects
    except yaml.YAMLError as exc:
        raise ConfigError([("<yaml>", _yaml_reason(exc))], source) from exc
    return data


# --- YAML loading ---------------------------------------------------------------------------


class _Base60Int(int):
    """An int YAML 1.1 read from base-60 text such as `12:34:56`; keeps the text."""

    text: str

    def __new__(cls, value: int, text: str) -> _Base60Int:
        obj = super().__new__(cls, value)
        obj.text = text
        return obj


class _Loader(yaml.SafeLoader):
    """SafeLoader that rejects duplicate keys, marks base-60 integers and reads only
    true/false as booleans (YAML 1.2): `on`, `off`, `yes` and `no` stay strings, so a key
    such as `detect.on` is not read as `True`."""

    def construct_yaml_int(self, node: yaml.ScalarNode) -> int:
        value = super().construct_yaml_int(node)
        text = str(node.value)
        return _Base60Int(value, text) if ":" in text else value

    def construct_mapping(self, node: yaml.Node, deep: bool = False) -> dict[Any, Any]:
        if isinstance(node, yaml.MappingNode):
            seen: set[object] = set()
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node, deep=True)
                try:
                    duplicate = key in seen
                    seen.add(key)
                except TypeError:  # unhashable: the base class reports it
                    continue
                if duplicate:
                    raise yaml.constructor.ConstructorError(
                        "while constructing a mapping",
                        node.start_mark,
                        f"found duplicate key {key!r}",
                        key_node.start_mark,
                    )
        return super().construct_mapping(node, deep=deep)


_Loader.add_constructor("tag:yaml.org,2002:int", _Loader.construct_yaml_int)
_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}
_Loader.add_implicit_resolver("tag:yaml.org,2002:bool",
                              re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))


def _yaml_reason(exc: yaml.YAMLError) -> str:
    """One line for a YAML error, with 1-based line and column."""
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        reason = f"line {mark.line + 1}, column {mark.column + 1}: {problem}" if mark else problem
        if exc.context and exc.problem and exc.context_mark:
            cm = exc.context_mark
            reason += f" ({exc.context} at line {cm.line + 1}, column {cm.column + 1})"
        return reason
    return " ".join(str(exc).split())


# --- validation -----------------------------------------------------------------------------


def _join(path: str, key: object) -> str:
    return f"{path}.{key}" if path else str(key)


@dataclass
class _ShadowDraft:
    path: str
    vlan: int | None
    hosts_known: bool
    hosts: dict[str, dict[str, Any]] = field(default_factory=dict)
    mirror: Any = None  # the raw `mirror` list, parsed once every network's ports are known
    sessions: list[MirrorSession] = field(default_factory=list)
    allocation: AllocationSettings = field(default_factory=AllocationSettings)
    clients: list[tuple[str, str]] = field(default_factory=list)
    services: list[Service] = field(default_factory=list)
    client_services: list[tuple[str, str]] = field(default_factory=list)
    active: bool = False
    ldap: LdapMirrorSettings | None = None
    detect_raw: Any = None  # the raw `detect` section, parsed after the sessions
    detect: DetectSettings | None = None


@dataclass
class _NetDraft:
    name: str
    path: str
    cidr: ipaddress.IPv4Network | None
    vlan: int | None
    hosts_known: bool
    hosts: dict[str, dict[str, Any]] = field(default_factory=dict)
    shadow: _ShadowDraft | None = None


class Shapes:
    """The generic shape checks of a YAML document; each problem goes to `err`.

    Shared by the config parser and the placement-template checker, so both
    word the same mistakes the same way.
    """

    def err(self, path: str, reason: str) -> None:
        """Record a problem at `path`."""
        raise NotImplementedError

    def fields(
        self, value: Any, path: str, allowed: tuple[str, ...], required: tuple[str, ...] = ()
    ) -> dict[Any, Any] | None:
        """A mapping with fixed keys; unknown and missing keys are problems."""
        if not isinstance(value, dict):
            self.err(path or "<root>", "must be a mapping")
            return None
        expected = ", ".join(sorted(allowed))
        for key in value:
            if key not in allowed:
                self.err(_join(path, key), f"unknown key (expected one of: {expected})")
        for key in required:
            if key not in value:
                self.err(_join(path, key), "required")
        return value

    def named(self, value: Any, path: str, non_empty: bool = False) -> list[tuple[str, str, Any]]:
        """(name, path, item) for a mapping of user-chosen names."""
        if not isinstance(value, dict):
            self.err(path, "must be a mapping")
            return []
        if non_empty and not value:
            self.err(path, "must not be empty")
        out = []
        for key, item in value.items():
            item_path = _join(path, key)
            if not isinstance(key, str):
                self.err(item_path, f"{_NAME_REASON} (YAML read it as {type(key).__name__})")
            elif not _NAME_RE.fullmatch(key):
                self.err(item_path, _NAME_REASON)
            out.append((str(key), item_path, item))
        return out

    def items(self, value: Any, path: str, non_empty: bool = False) -> list[tuple[str, Any]]:
        """(path, item) for a list."""
        if not isinstance(value, list):
            self.err(path, "must be a list")
            return []
        if non_empty and not value:
            self.err(path, "must not be empty")
        return [(f"{path}[{i}]", item) for i, item in enumerate(value)]

    def string(self, value: Any, path: str, reason: str = "must be a string") -> str | None:
        """`value` if it is a string; else the problem `reason`."""
        if isinstance(value, str):
            return value
        self.err(path, reason)
        return None

    def boolean(self, value: Any, path: str) -> bool | None:
        """`value` if it is true or false."""
        if isinstance(value, bool):
            return value
        self.err(path, "must be true or false")
        return None


class _Parser(Shapes):
    """Walks the document once, collecting problems; builds a Config only if there are none."""

    def __init__(self) -> None:
        self.problems: list[tuple[str, str]] = []
        self.switches: dict[str, int | None] = {}  # declared name -> dpid (None when invalid)
        self.switches_known = False  # fabric.switches is a mapping: unknown names are errors
        self.links: list[Link] = []
        self.links_ok = True
        self.ports: dict[tuple[str, int], str] = {}  # (switch, port) -> path of its user
        self.vlans: dict[int, str] = {}  # explicit VLAN id -> path that set it
        self.session_names: dict[str, str] = {}

    def err(self, path: str, reason: str) -> None:
        self.problems.append((path, reason))

    def int_in(self, value: Any, path: str, lo: int, hi: int) -> int | None:
        if isinstance(value, _Base60Int):
            self.err(path, f"must be an integer (YAML read {value.text} as a base-60 number)")
        elif isinstance(value, bool) or not isinstance(value, int):
            self.err(path, "must be an integer")
        elif not lo <= value <= hi:
            self.err(path, f"must be in {lo}..{hi}")
        else:
            return int(value)
        return None

    def number(self, value: Any, path: str) -> int | float | None:
        if isinstance(value, bool | _Base60Int) or not isinstance(value, int | float):
            self.err(path, "must be a number")
        elif not math.isfinite(value):
            self.err(path, "must be a finite number")
        else:
            return value
        return None

    # values

    def dpid(self, value: Any, path: str) -> int | None:
        if isinstance(value, _Base60Int):
            self.err(
                path,
                'must be quoted when written with colons, like "00:00:00:00:00:00:00:01" '
                f"(YAML read {value.text} as a base-60 number)",
            )
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            dpid = value
        elif isinstance(value, str) and _DPID_HEX_RE.fullmatch(value.strip()):
            dpid = int(value.strip(), 16)
        elif isinstance(value, str) and _DPID_COLON_RE.fullmatch(value.strip()):
            dpid = int(value.strip().replace(":", ""), 16)
        else:
            self.err(path, _DPID_REASON)
            return None
        if not 1 <= dpid <= MAX_DPID:
            self.err(path, "must be in 1..2**64-1")
            return None
        return dpid

    def switch_name(self, value: Any, path: str) -> str | None:
        name = self.string(value, path)
        if name is None:
            return None
        if self.switches_known and name not in self.switches:
            self.err(path, f"unknown switch {name}")
            return None
        return name

    def port_ref(self, value: Any, path: str) -> PortRef | None:
        m = _PORT_REF_RE.fullmatch(value.strip()) if isinstance(value, str) else None
        if m is None:
            self.err(path, _PORT_REF_REASON)
            return None
        switch, port = m.group(1), int(m.group(2))
        if self.switches_known and switch not in self.switches:
            self.err(path, f"unknown switch {switch}")
            return None
        if not 1 <= port <= MAX_PORT:
            self.err(path, f"port must be in 1..{MAX_PORT}")
            return None
        return PortRef(switch, port)

    def claim_port(self, ref: PortRef, user: str) -> None:
        key = (ref.switch, ref.port)
        if key in self.ports:
            self.err(user, f"port {ref} already used by {self.ports[key]}")
        else:
            self.ports[key] = user

    def vlan(self, value: Any, path: str) -> int | None:
        """An optional explicit VLAN id, claimed for the whole file."""
        if value is None:
            return None
        vid = self.int_in(value, path, 1, MAX_VLAN)
        if vid is not None:
            if vid in self.vlans:
                self.err(path, f"VLAN {vid} already used by {self.vlans[vid]}")
            else:
                self.vlans[vid] = path
        return vid

    def mac(self, value: Any, path: str) -> str | None:
        if isinstance(value, int) and not isinstance(value, bool):
            self.err(path, f'must be a quoted MAC address string like "{_MAC_EXAMPLE}"')
            return None
        if not isinstance(value, str) or not _MAC_RE.fullmatch(value.strip()):
            self.err(path, f'must be a MAC address like "{_MAC_EXAMPLE}"')
            return None
        mac = value.strip().lower()
        if int(mac[:2], 16) & 1:
            self.err(path, f"{mac} is a multicast address (must be unicast)")
            return None
        if mac == "00:00:00:00:00:00":
            self.err(path, "must not be 00:00:00:00:00:00")
            return None
        return mac

    def address(self, value: Any, path: str) -> ipaddress.IPv4Address | None:
        try:
            if isinstance(value, str):
                return ipaddress.IPv4Address(value.strip())
        except ValueError:
            pass
        self.err(path, "must be an IPv4 address")
        return None

    def ip_network(self, value: Any, path: str, reason: str) -> ipaddress.IPv4Network | None:
        if not isinstance(value, str):
            self.err(path, reason)
            return None
        text = value.strip()
        try:
            return ipaddress.IPv4Network(text, strict=True)
        except ValueError:
            pass
        try:
            loose = ipaddress.IPv4Network(text, strict=False)
        except ValueError:
            self.err(path, reason)
            return None
        self.err(path, f"{text} has host bits set (did you mean {loose}?)")
        return None

    # sections

    def config(self, data: Any) -> Config | None:
        top = self.fields(data, "", ("api", "controller", "fabric", "failover", "forecast",
                                     "networks", "routing", "telemetry"), ("fabric", "networks"))
        if top is None:
            return None
        controller = self.controller(top.get("controller"))
        telemetry = self.settings(top.get("telemetry"), "telemetry", TelemetrySettings, {
            "port_interval": self.positive, "flow_interval": self.positive,
            "meter_interval": self.positive, "retention": self.positive,
            "window": lambda v, p: self.int_in(v, p, 8, 1_000_000),
            "history": self.optional_string, "metrics": self.listen_address,
        })
        forecast = self.settings(top.get("forecast"), "forecast", ForecastSettings, {
            "interval": self.positive, "horizon": self.positive, "period": self.positive,
            "level": self.fraction, "window": lambda v, p: self.int_in(v, p, 1, 4096),
            "log": self.boolean, "max_growth": self.at_least_one,
        })
        failover = self.settings(top.get("failover"), "failover", FailoverSettings, {
            "wait_to_restore": self.non_negative, "hold": self.non_negative,
            "bfd": self.boolean, "bfd_interval_ms": lambda v, p: self.int_in(v, p, 1, 10_000),
            "bfd_grace": self.non_negative, "probe_interval": self.positive,
            "probe_misses": lambda v, p: self.int_in(v, p, 1, 100),
            "role_swap": self.boolean,
        })
        routing = self.routing(top.get("routing"))
        api = self.settings(top.get("api"), "api", ApiSettings, {
            "listen": self.listen_address, "tokens": self.optional_string,
            "store": self.optional_string, "tls": self.api_tls, "ldap": self.ldap_roles})
        if api.listen and not api.tokens:
            self.err("api.tokens", "required when api.listen is set: a token file (make one "
                                   "with `sdn-shadow token add`)")
        if "fabric" in top:
            self.fabric(top["fabric"])
        nets = []
        if "networks" in top:
            for name, path, item in self.named(top["networks"], "networks"):
                net = self.network(name, path, item)
                if net is not None:
                    nets.append(net)
        # Sessions last: a `ports:` entry can then name whichever host or link uses that port.
        for net in nets:
            if net.shadow is not None and net.shadow.mirror is not None:
                self.sessions(net, net.shadow)
                self.steered_twins_unmirrored(net.shadow)
            if net.shadow is not None and net.shadow.detect_raw is not None:
                copied_to = {t for s in net.shadow.sessions for t in s.to}
                net.shadow.detect = parse_detect(self, net.shadow.detect_raw,
                                                 f"{net.shadow.path}.detect", net.hosts,
                                                 net.shadow.hosts, copied_to)
        if self.switches_known and self.links_ok:
            self.check_reachability(nets)
        self.ldap_mirrors_apart(nets)
        if self.problems:
            return None
        config = self.build(nets, controller, telemetry, forecast)
        if config is None:
            return None
        return dataclasses.replace(config, failover=failover, routing=routing, api=api)

    def routing(self, value: Any) -> RoutingSettings:
        """The routing section; `lower` must stay below `upper`."""
        routing = self.settings(value, "routing", RoutingSettings, {
            "enabled": self.boolean, "upper": self.share, "lower": self.share,
            "hold": self.non_negative,
        })
        if routing.lower >= routing.upper:
            self.err("routing.lower", f"must be below routing.upper ({routing.upper})")
        return routing

    def share(self, value: Any, path: str) -> float | None:
        number = self.number(value, path)
        if number is not None and not 0 < number <= 1:
            self.err(path, "must be in (0, 1]")
            return None
        return None if number is None else float(number)

    def settings(self, value: Any, path: str, cls: type, checks: dict[str, Any]) -> Any:
        """A flat settings section: every key optional, each checked by its function."""
        if value is None:
            return cls()
        f = self.fields(value, path, tuple(sorted(checks)))
        if f is None:
            return cls()
        given = {}
        for key, check in checks.items():
            if f.get(key) is not None:
                parsed = check(f[key], f"{path}.{key}")
                if parsed is not None:
                    given[key] = parsed
        return cls(**given)

    def bounded(self, value: Any, path: str, low: float, strict: bool = False) -> float | None:
        """A number >= `low` (> `low` if `strict`), as a float; a problem otherwise."""
        number = self.number(value, path)
        if number is not None and (number <= low if strict else number < low):
            self.err(path, f"must be {'>' if strict else '>='} {low:g}")
            return None
        return None if number is None else float(number)

    def positive(self, value: Any, path: str) -> float | None:
        return self.bounded(value, path, 0, strict=True)

    def at_least_one(self, value: Any, path: str) -> float | None:
        return self.bounded(value, path, 1)

    def fraction(self, value: Any, path: str) -> float | None:
        number = self.number(value, path)
        if number is not None and not 0 < number < 1:
            self.err(path, "must be in (0, 1)")
            return None
        return None if number is None else float(number)

    def optional_string(self, value: Any, path: str) -> str | None:
        text = self.string(value, path)
        if text is not None and not text.strip():
            self.err(path, "must not be empty (leave the key out instead)")
            return None
        return text

    def listen_address(self, value: Any, path: str) -> str | None:
        text = self.string(value, path)
        if text is None:
            return None
        host, sep, port = text.rpartition(":")
        try:
            ipaddress.ip_address(host)
            ok = sep == ":" and 1 <= int(port) <= 65535
        except ValueError:
            ok = False
        if not ok:
            self.err(path, f"must be address:port, like 127.0.0.1:9108 (got {text!r})")
            return None
        return text

    def controller(self, value: Any) -> ControllerSettings:
        return self.settings(value, "controller", ControllerSettings, {
            "stats_interval": self.positive,
            "tls": lambda v, p: self.tls_files(v, p, ("ca", "cert", "key"))})

    def api_tls(self, value: Any, path: str) -> TlsFiles | None:
        return self.tls_files(value, path, ("cert", "key"))

    def tls_files(self, value: Any, path: str, required: tuple[str, ...]) -> TlsFiles | None:
        """PEM file paths; each must name a readable file."""
        f = self.fields(value, path, required, required)
        if f is None or any(key not in f for key in required):
            return None
        files = {}
        for key in required:
            name = self.string(f[key], f"{path}.{key}")
            if name is not None and not os.access(name, os.R_OK):
                self.err(f"{path}.{key}", f"cannot read {name}")
            files[key] = name
        return None if None in files.values() else TlsFiles(**files)

    def ldap_roles(self, value: Any, path: str) -> LdapRoleSettings | None:
        keys = ("ca_file", "cache_seconds", "groups", "timeout", "url", "user_dn")
        f = self.fields(value, path, keys, ("groups", "url", "user_dn"))
        if f is None or not {"groups", "url", "user_dn"} <= f.keys():
            return None
        before = len(self.problems)
        given: dict[str, Any] = {}
        for key in ("url", "user_dn", "ca_file"):
            if key in f:
                given[key] = self.string(f[key], f"{path}.{key}")
        for key in ("timeout", "cache_seconds"):
            if key in f:
                given[key] = self.number(f[key], f"{path}.{key}")
        groups = {role: self.string(dn, p) for role, p, dn in
                  self.named(f["groups"], f"{path}.groups")}
        if len(self.problems) > before:
            return None
        settings = LdapRoleSettings(groups=groups, **given)
        for key, reason in settings.check():
            self.err(f"{path}.{key}", reason)
        return settings

    def fabric(self, value: Any) -> None:
        f = self.fields(value, "fabric", ("links", "switches"), ("switches",))
        if f is None:
            return
        if "switches" in f:
            self.switches_known = isinstance(f["switches"], dict)
            dpid_users: dict[int, str] = {}
            for name, path, item in self.named(f["switches"], "fabric.switches", non_empty=True):
                self.switches[name] = None
                sw = self.fields(item, path, ("dpid",), ("dpid",))
                if sw is None or "dpid" not in sw:
                    continue
                dpid = self.dpid(sw["dpid"], f"{path}.dpid")
                if dpid is None:
                    continue
                if dpid in dpid_users:
                    self.err(f"{path}.dpid", f"dpid {dpid} already used by {dpid_users[dpid]}")
                else:
                    dpid_users[dpid] = path
                self.switches[name] = dpid
        if f.get("links") is not None:
            before = len(self.problems)
            for path, item in self.items(f["links"], "fabric.links"):
                self.link(path, item)
            self.links_ok = len(self.problems) == before

    def link(self, path: str, item: Any) -> None:
        f = self.fields(item, path, ("a", "b", "capacity"), ("a", "b"))
        if f is None:
            return
        a = self.port_ref(f["a"], f"{path}.a") if "a" in f else None
        b = self.port_ref(f["b"], f"{path}.b") if "b" in f else None
        capacity = None
        if f.get("capacity") is not None:
            capacity = self.number(f["capacity"], f"{path}.capacity")
            if capacity is not None and capacity <= 0:
                self.err(f"{path}.capacity", "must be > 0")
        if a is not None and b is not None and a.switch == b.switch:
            self.err(path, f"connects switch {a.switch} to itself")
        if a is not None:
            self.claim_port(a, f"{path}.a")
        if b is not None:
            self.claim_port(b, f"{path}.b")
        if a is not None and b is not None:
            mbps = float(capacity) if capacity is not None else None
            self.links.append(Link(a, b, mbps))

    def attachment(self, f: dict[Any, Any], path: str, draft: dict[str, Any]) -> None:
        """`switch` and `port` of a host into `draft`; claims the port."""
        switch = self.switch_name(f["switch"], f"{path}.switch") if "switch" in f else None
        port = self.int_in(f["port"], f"{path}.port", 1, MAX_PORT) if "port" in f else None
        draft["switch"], draft["port"] = switch, port
        if switch is not None and port is not None:
            self.claim_port(PortRef(switch, port), path)

    def network(self, name: str, path: str, item: Any) -> _NetDraft | None:
        f = self.fields(item, path, _NETWORK_KEYS, ("cidr", "hosts"))
        if f is None:
            return None
        cidr = self.ip_network(f["cidr"], f"{path}.cidr", _NETWORK_REASON) if "cidr" in f else None
        if cidr is not None and "/" not in str(f["cidr"]):
            self.err(f"{path}.cidr", _NETWORK_REASON)
            cidr = None
        vlan = self.vlan(f.get("vlan"), f"{path}.vlan")
        net = _NetDraft(name, path, cidr, vlan, hosts_known=isinstance(f.get("hosts"), dict))
        macs: dict[str, str] = {}
        ips: dict[ipaddress.IPv4Address, str] = {}
        if "hosts" in f:
            for host, host_path, host_item in self.named(f["hosts"], f"{path}.hosts"):
                net.hosts[host] = self.host(host, host_path, host_item, cidr, macs, ips)
        if f.get("shadow") is not None:
            net.shadow = self.shadow(net, f["shadow"])
        return net

    def host(
        self,
        name: str,
        path: str,
        item: Any,
        cidr: ipaddress.IPv4Network | None,
        macs: dict[str, str],
        ips: dict[ipaddress.IPv4Address, str],
    ) -> dict[str, Any]:
        draft: dict[str, Any] = {"name": name, "path": path, "switch": None, "port": None}
        draft.update(mac=None, ip=None)
        f = self.fields(item, path, _HOST_KEYS, _HOST_KEYS)
        if f is None:
            return draft
        self.attachment(f, path, draft)
        if "mac" in f:
            mac = draft["mac"] = self.mac(f["mac"], f"{path}.mac")
            if mac is not None:
                if mac in macs:
                    self.err(f"{path}.mac", f"MAC {mac} already used by {macs[mac]}")
                else:
                    macs[mac] = path
        if "ip" in f:
            ip = draft["ip"] = self.address(f["ip"], f"{path}.ip")
            if ip is not None:
                self.check_in_cidr(ip, cidr, f"{path}.ip")
                if ip in ips:
                    self.err(f"{path}.ip", f"{ip} already used by {ips[ip]}")
                else:
                    ips[ip] = path
        return draft

    def check_in_cidr(
        self, ip: ipaddress.IPv4Address, cidr: ipaddress.IPv4Network | None, path: str
    ) -> None:
        if cidr is None:
            return
        if ip not in cidr:
            self.err(path, f"{ip} is not in {cidr}")
        elif cidr.prefixlen <= 30 and ip == cidr.network_address:
            self.err(path, f"{ip} is the network address of {cidr}")
        elif cidr.prefixlen <= 30 and ip == cidr.broadcast_address:
            self.err(path, f"{ip} is the broadcast address of {cidr}")

    def shadow(self, net: _NetDraft, value: Any) -> _ShadowDraft | None:
        path = f"{net.path}.shadow"
        f = self.fields(value, path, _SHADOW_KEYS, ("hosts",))
        if f is None:
            return None
        vlan = self.vlan(f.get("vlan"), f"{path}.vlan")
        shadow = _ShadowDraft(path, vlan, hosts_known=isinstance(f.get("hosts"), dict))
        macs: dict[str, str] = {}
        if "hosts" in f:
            for name, host_path, item in self.named(f["hosts"], f"{path}.hosts"):
                shadow.hosts[name] = self.shadow_host(net, name, host_path, item, macs)
        shadow.mirror = f.get("mirror")
        shadow.detect_raw = f.get("detect")
        shadow.allocation = self.settings(f.get("allocation"), f"{path}.allocation",
                                          AllocationSettings, {
            "strategy": self.strategy, "floor": self.non_negative,
            "hysteresis": self.non_negative, "forecast_only": self.boolean,
            "instance_capacity": self.positive,
            "instances": lambda v, p: self.int_in(v, p, 0, 100_000),
        })
        if f.get("services") is not None:
            self.services(net, shadow, f["services"], f"{path}.services")
        if "active" in f:
            shadow.active = bool(self.boolean(f["active"], f"{path}.active"))
            standing = [t for t in shadow.hosts.values() if t["twin"] in net.hosts
                        and t["mac"] == net.hosts[t["twin"]]["mac"]]
            if shadow.active and shadow.hosts_known and net.hosts_known and not standing:
                self.err(f"{path}.active", "no twin has its primary host's MAC and IP, so "
                                           "none can serve in its place")
        if f.get("ldap") is not None:
            shadow.ldap = self.ldap_mirror(f["ldap"], f"{path}.ldap")
        if f.get("clients") is not None:
            for name, client_path, item in self.named(f["clients"], f"{path}.clients"):
                if net.hosts_known and name not in net.hosts:
                    self.err(client_path, f"no primary host {name} in {net.name}")
                c = self.fields(item, client_path, ("path", "service"))
                if c is None:
                    continue
                if not c:
                    self.err(client_path, "set path (primary|shadow), service (primary|twin) "
                                          "or both")
                if "path" in c:
                    route = self.string(c["path"], f"{client_path}.path")
                    if route is not None and route not in ("primary", "shadow"):
                        self.err(f"{client_path}.path", "must be primary or shadow")
                    elif route is not None:
                        shadow.clients.append((name, route))
                if "service" in c:
                    self.client_service(shadow, name, c["service"], f"{client_path}.service")
        return shadow

    def services(self, net: _NetDraft, shadow: _ShadowDraft, value: Any, path: str) -> None:
        """`services`: primary hosts whose new connections may be steered to their twins."""
        for name, host_path, item in self.named(value, path):
            host = net.hosts.get(name)
            if net.hosts_known and host is None:
                self.err(host_path, f"no primary host {name} in {net.name}")
                continue
            twins = [t for t in shadow.hosts.values() if t["twin"] == name
                     and t["mac"] == host["mac"] and t["ip"] == host["ip"]] if host else []
            if host is not None and shadow.hosts_known and not twins:
                self.err(host_path, f"{name} has no twin with its MAC and IP to steer to")
                continue
            if twins and not any(t["switch"] == host["switch"] for t in twins):
                self.err(host_path, f"steering happens at {name}'s switch: its twin "
                                    f"{twins[0]['name']} must be attached to {host['switch']}")
                continue
            capacity = twin_capacity = None
            if item is not None:
                f = self.fields(item, host_path, ("capacity", "twin_capacity"))
                if f is not None and "capacity" in f:
                    capacity = self.positive(f["capacity"], f"{host_path}.capacity")
                if f is not None and "twin_capacity" in f:
                    twin_capacity = self.positive(f["twin_capacity"],
                                                  f"{host_path}.twin_capacity")
            shadow.services.append(Service(name, capacity, twin_capacity))

    def ldap_mirror(self, value: Any, path: str) -> LdapMirrorSettings | None:
        """`shadow.ldap`: checked as `sdn-shadow ldap mirror` checks its options."""
        from sdn_shadow.directory import command

        f = self.fields(value, path, _LDAP_MIRROR_KEYS, _LDAP_MIRROR_REQUIRED)
        if f is None:
            return None
        before = len(self.problems)
        given: dict[str, Any] = {}
        if "url" in f:
            url = self.string(f["url"], f"{path}.url")
            if url is not None:
                given["url"] = self.command_check(command._url, f"{path}.url",
                                                  f"--url {url!r}: ", url)
        for key in ("bind_dn", "primary_base", "shadow_base"):
            if key in f:
                given[key] = self.ldap_dn(f[key], f"{path}.{key}")
        if "password_file" in f:  # read here only to check it; the controller reads it at start
            name = self.string(f["password_file"], f"{path}.password_file")
            if name is not None and self.command_check(
                    command._password, f"{path}.password_file", f"--password-file {name}: ",
                    name) is not None:
                given["password_file"] = name
        if f.get("interval") is not None:
            given["interval"] = self.positive(f["interval"], f"{path}.interval")
        if f.get("revert_drift") is not None:
            given["revert_drift"] = self.boolean(f["revert_drift"], f"{path}.revert_drift")
        if f.get("rules") is not None:
            given["rules"] = tuple(self.ldap_rules(f["rules"], f"{path}.rules"))
        primary, shadow = given.get("primary_base"), given.get("shadow_base")
        if primary and shadow and (within(primary, shadow) or within(shadow, primary)):
            self.err(f"{path}.shadow_base", f"{shadow} and primary_base {primary} overlap: "
                                            "neither may be inside the other")
        if len(self.problems) > before or not all(given.get(k) for k in _LDAP_MIRROR_REQUIRED):
            return None
        return LdapMirrorSettings(**{k: v for k, v in given.items() if v is not None})

    def command_check(self, check: Any, path: str, prefix: str, *args: Any) -> Any:
        """One of `sdn-shadow ldap mirror`'s option checks; its UsageError becomes a problem."""
        from sdn_shadow.directory.command import UsageError

        try:
            return check(*args)
        except UsageError as exc:
            self.err(path, str(exc).removeprefix(prefix))
            return None

    def ldap_dn(self, value: Any, path: str) -> str | None:
        """A non-empty DN, written without spacing around the separators."""
        text = self.string(value, path)
        if text is None:
            return None
        try:
            rdns = split_dn(text)
        except ValueError as exc:
            self.err(path, f"not a DN: {exc}")
            return None
        if not rdns:
            self.err(path, "must be a DN, like ou=tenant-a,dc=example,dc=org")
            return None
        return ",".join(rdns)

    def ldap_rules(self, value: Any, path: str) -> list[MappingRule]:
        """Mapping rules, each `map: [CLASS/]ATTR=OLD:NEW` or `map_regex: ...=PATTERN:REPL`."""
        rules = []
        for item_path, item in self.items(value, path):
            f = self.fields(item, item_path, _LDAP_RULE_KEYS)
            if f is None:
                continue
            if len(f) != 1:
                self.err(item_path, "give one of map or map_regex")
                continue
            key, text = next(iter(f.items()))
            if key not in _LDAP_RULE_KEYS or self.string(text, f"{item_path}.{key}") is None:
                continue
            try:
                rules.append(parse_rule(text, regex=key == "map_regex"))
            except ValueError as exc:
                self.err(f"{item_path}.{key}", str(exc))
        return rules

    def ldap_mirrors_apart(self, nets: list[_NetDraft]) -> None:
        """Two shadows on one server must not write into each other's subtree or a primary's."""
        blocks = [(n.shadow.path, n.shadow.ldap) for n in nets
                  if n.shadow is not None and n.shadow.ldap is not None]
        for i, (path, mine) in enumerate(blocks):
            for j, (other_path, other) in enumerate(blocks):
                if i == j or mine.url.lower() != other.url.lower():
                    continue
                bases = [("primary_base", other.primary_base)]
                if j < i:  # two shadow bases that overlap: reported once, at the later one
                    bases.append(("shadow_base", other.shadow_base))
                for key, base in bases:
                    if within(mine.shadow_base, base) or within(base, mine.shadow_base):
                        self.err(f"{path}.ldap.shadow_base",
                                 f"{mine.shadow_base} overlaps {other_path}.ldap.{key} "
                                 f"{base}: one mirror would overwrite the other's entries")

    def steered_twins_unmirrored(self, shadow: _ShadowDraft) -> None:
        """A twin that serves steered connections is no mirror destination.

        Copies addressed to its host (from any session) would reach its
        stack; it would answer them, and its answers pass the same connection
        tracker as the real connections it serves (a reset would end them).
        """
        for name in (service.host for service in shadow.services):
            twins = {t["name"] for t in shadow.hosts.values() if t["twin"] == name}
            for index, session in enumerate(shadow.sessions):
                both = twins & set(session.to)
                if both:
                    self.err(f"{shadow.path}.mirror[{index}].to",
                             f"{sorted(both)[0]} serves connections steered to it from "
                             f"service {name}: it cannot also receive mirrored copies")

    def client_service(self, shadow: _ShadowDraft, name: str, value: Any, path: str) -> None:
        """A client's `service: primary|twin`."""
        where = self.string(value, path)
        if where is None:
            return
        if where not in ("primary", "twin"):
            self.err(path, "must be primary or twin")
        elif where == "twin" and not shadow.services:
            self.err(path, "twin needs service hosts: list them under shadow.services")
        else:
            shadow.client_services.append((name, where))

    def strategy(self, value: Any, path: str) -> str | None:
        text = self.string(value, path)
        if text is not None and text not in STRATEGIES:
            self.err(path, f"must be one of: {', '.join(STRATEGIES)}")
            return None
        return text

    def non_negative(self, value: Any, path: str) -> float | None:
        return self.bounded(value, path, 0)

    def sessions(self, net: _NetDraft, shadow: _ShadowDraft) -> None:
        items = self.items(shadow.mirror, f"{shadow.path}.mirror")
        for index, (path, item) in enumerate(items):
            session = self.session(net, shadow, index, path, item)
            if session is not None:
                shadow.sessions.append(session)

    def shadow_host(
        self, net: _NetDraft, name: str, path: str, item: Any, macs: dict[str, str]
    ) -> dict[str, Any]:
        draft: dict[str, Any] = {"name": name, "path": path, "twin": None, "switch": None}
        draft.update(port=None, mac=None, ip=None, mirror_vlan=None)
        if name in net.hosts:
            self.err(path, f"name already used by {net.hosts[name]['path']}")
        f = self.fields(item, path, _SHADOW_HOST_KEYS, ("port", "switch", "twin"))
        if f is None:
            return draft
        twin: dict[str, Any] | None = None
        if "twin" in f:
            twin_name = self.string(f["twin"], f"{path}.twin")
            if twin_name is not None and net.hosts_known and twin_name not in net.hosts:
                self.err(f"{path}.twin", f"no primary host {twin_name} in {net.name}")
            elif twin_name is not None:
                draft["twin"] = twin_name
                twin = net.hosts.get(twin_name)
        self.attachment(f, path, draft)
        if f.get("mac") is not None:
            mac = self.mac(f["mac"], f"{path}.mac")
            mac_path, note = f"{path}.mac", ""
        else:  # shares the twin's MAC
            mac = twin["mac"] if twin is not None else None
            mac_path, note = path, " (the twin's)"
        if mac is not None:
            if mac in macs:
                self.err(mac_path, f"MAC {mac}{note} already used by {macs[mac]}")
            else:
                macs[mac] = path
        draft["mac"] = mac
        draft["ip"] = twin["ip"] if twin is not None else None
        draft["mirror_vlan"] = self.vlan(f.get("mirror_vlan"), f"{path}.mirror_vlan")
        return draft

    def session(
        self, net: _NetDraft, shadow: _ShadowDraft, index: int, path: str, item: Any
    ) -> MirrorSession | None:
        before = len(self.problems)
        f = self.fields(item, path, _SESSION_KEYS, ("to",))
        if f is None:
            return None

        name: str | None = f"{net.name}.mirror{index}"
        name_path = path
        if f.get("name") is not None:
            name_path = f"{path}.name"
            name = f["name"] if isinstance(f["name"], str) else None
            if name is None or not _NAME_RE.fullmatch(name):
                self.err(name_path, _NAME_REASON)
                name = None
        if name is not None:
            if name in self.session_names:
                used_by = self.session_names[name]
                self.err(name_path, f"mirror session name {name} already used by {used_by}")
            else:
                self.session_names[name] = path

        sources = self.sources(net, path, f)

        direction = f.get("direction")
        if direction is None:
            direction = "both"
        elif not isinstance(direction, str) or direction not in DIRECTIONS:
            self.err(f"{path}.direction", f"must be one of: {', '.join(DIRECTIONS)}")

        match = self.match(f.get("match"), f"{path}.match")

        sample: float = 1.0
        if f.get("sample") is not None:
            value = self.number(f["sample"], f"{path}.sample")
            if value is not None:
                if not 0 < value <= 1:
                    self.err(f"{path}.sample", "must be in (0, 1]")
                elif Fraction(value).limit_denominator(MAX_SAMPLE_BUCKETS) == 0:
                    self.err(f"{path}.sample", f"must be at least 1/{MAX_SAMPLE_BUCKETS}")
                else:
                    sample = float(value)

        truncate = None
        if f.get("truncate") is not None:
            truncate = self.int_in(f["truncate"], f"{path}.truncate", 14, 65535)
            if truncate is not None and sample < 1:
                # OVS 3.1 ignores output_trunc inside group buckets, and sampling needs one.
                self.err(f"{path}.truncate", "cannot be combined with sample < 1 (Open vSwitch "
                         "ignores truncation inside the select group that samples)")

        to: list[str] = []
        if "to" in f:
            for item_path, dest in self.items(f["to"], f"{path}.to", non_empty=True):
                if self.string(dest, item_path) is None:
                    continue
                if shadow.hosts_known and dest not in shadow.hosts:
                    self.err(item_path, f"no shadow host {dest} in {net.name}")
                elif dest in to:
                    self.err(item_path, f"duplicate shadow host {dest}")
                else:
                    to.append(dest)

        if len(self.problems) > before or name is None or match is None:
            return None
        return MirrorSession(name, tuple(sources), direction, match, sample, truncate, tuple(to))

    def sources(self, net: _NetDraft, path: str, f: dict[Any, Any]) -> list[str]:
        """A session's source primary hosts, from `hosts` or from `ports`."""
        has_hosts, has_ports = f.get("hosts") is not None, f.get("ports") is not None
        sources: list[str] = []
        if has_hosts and has_ports:
            self.err(path, "has both hosts and ports (give one)")
        elif not has_hosts and not has_ports:
            self.err(path, "needs hosts or ports")
        elif has_hosts:
            for item_path, host in self.items(f["hosts"], f"{path}.hosts", non_empty=True):
                if self.string(host, item_path) is None:
                    continue
                if net.hosts_known and host not in net.hosts:
                    self.err(item_path, f"no primary host {host} in {net.name}")
                elif host in sources:
                    self.err(item_path, f"duplicate host {host}")
                else:
                    sources.append(host)
        else:
            port_hosts = {
                (h["switch"], h["port"]): name
                for name, h in net.hosts.items()
                if h["switch"] is not None and h["port"] is not None
            }
            for item_path, value in self.items(f["ports"], f"{path}.ports", non_empty=True):
                ref = self.port_ref(value, item_path)
                if ref is None:
                    continue
                host = port_hosts.get((ref.switch, ref.port))
                if host is None:
                    user = self.ports.get((ref.switch, ref.port))
                    hint = f" (it is {user})" if user else ""
                    self.err(item_path, f"{ref} is not a host port of {net.name}{hint}")
                elif host in sources:
                    self.err(item_path, f"duplicate source {ref} (host {host})")
                else:
                    sources.append(host)
        return sources

    def match(self, value: Any, path: str) -> MatchFilter | None:
        if value is None:
            return MatchFilter()
        f = self.fields(value, path, _MATCH_KEYS)
        if f is None:
            return None
        proto: int | None = None
        proto_ok = True
        if f.get("proto") is not None:
            raw = f["proto"]
            if isinstance(raw, str) and raw.strip().lower() in IP_PROTOS:
                proto = IP_PROTOS[raw.strip().lower()]
            elif type(raw) is int and 0 <= raw <= 255:
                proto = raw
            else:
                self.err(f"{path}.proto", "must be tcp, udp, icmp or a protocol number 0..255")
                proto_ok = False
        nets = {}
        for key in ("src", "dst"):
            if f.get(key) is not None:
                nets[key] = self.ip_network(f[key], f"{path}.{key}", _PREFIX_REASON)
        ports = {}
        for key in ("src_port", "dst_port"):
            if f.get(key) is None:
                continue
            ports[key] = self.int_in(f[key], f"{path}.{key}", 1, 65535)
            if proto_ok and proto not in (IP_PROTOS["tcp"], IP_PROTOS["udp"]):
                self.err(f"{path}.{key}", "requires proto tcp or udp")
        return MatchFilter(
            ip_proto=proto,
            src=nets.get("src"),
            dst=nets.get("dst"),
            src_port=ports.get("src_port"),
            dst_port=ports.get("dst_port"),
        )

    # whole-file checks and assembly

    def check_reachability(self, nets: list[_NetDraft]) -> None:
        """Every host of a network must share a fabric component with the others."""
        graph = nx.Graph()
        graph.add_nodes_from(self.switches)
        graph.add_edges_from((link.a.switch, link.b.switch) for link in self.links)
        component = {
            switch: index
            for index, members in enumerate(nx.connected_components(graph))
            for switch in members
        }
        for net in nets:
            drafts = list(net.hosts.values())
            if net.shadow is not None:
                drafts += net.shadow.hosts.values()
            members = [(d["path"], d["switch"]) for d in drafts if d["switch"] in component]
            if not members:
                continue
            counts = Counter(component[switch] for _, switch in members)
            most = max(counts.values())
            ref = next(s for _, s in members if counts[component[s]] == most)
            for host_path, switch in members:
                if component[switch] != component[ref]:
                    self.err(host_path, f"switch {switch} has no fabric path to {ref}")

    def build(self, nets: list[_NetDraft], controller: ControllerSettings,
              telemetry: TelemetrySettings, forecast: ForecastSettings) -> Config | None:
        """Assign the unset VLAN ids, then freeze everything."""
        used = set(self.vlans)

        def take(start: int, path: str) -> int:
            for vid in (*range(start, MAX_VLAN + 1), *range(1, start)):
                if vid not in used:
                    used.add(vid)
                    return vid
            self.err(path, "no free VLAN id left to assign")
            return 0

        by_name = sorted(nets, key=lambda n: n.name)
        for net in by_name:
            if net.vlan is None:
                net.vlan = take(VLAN_BASE_NETWORK, f"{net.path}.vlan")
        for net in by_name:
            if net.shadow is not None and net.shadow.vlan is None:
                net.shadow.vlan = take(VLAN_BASE_SHADOW, f"{net.shadow.path}.vlan")
        for net in by_name:
            if net.shadow is not None:
                for name in sorted(net.shadow.hosts):
                    draft = net.shadow.hosts[name]
                    if draft["mirror_vlan"] is None:
                        draft["mirror_vlan"] = take(
                            VLAN_BASE_MIRROR, f"{draft['path']}.mirror_vlan"
                        )
        if self.problems:
            return None

        networks = []
        for net in nets:
            hosts = tuple(
                Host(h["name"], h["switch"], h["port"], h["mac"], h["ip"])
                for h in net.hosts.values()
            )
            shadow = None
            if net.shadow is not None:
                twins = tuple(
                    ShadowHost(
                        s["name"],
                        s["twin"],
                        s["switch"],
                        s["port"],
                        s["mac"],
                        s["ip"],
                        s["mirror_vlan"],
                    )
                    for s in net.shadow.hosts.values()
                )
                assert net.shadow.vlan is not None
                shadow = Shadow(net.shadow.vlan, twins, tuple(net.shadow.sessions),
                                net.shadow.allocation, tuple(sorted(net.shadow.clients)),
                                tuple(net.shadow.services),
                                tuple(sorted(net.shadow.client_services)),
                                net.shadow.active, net.shadow.ldap, net.shadow.detect)
            assert net.cidr is not None and net.vlan is not None
            networks.append(Network(net.name, net.cidr, net.vlan, hosts, shadow))
        switches = tuple(Switch(name, dpid) for name, dpid in self.switches.items() if dpid)
        return Config(switches, tuple(self.links), tuple(networks), controller, telemetry,
                      forecast)
