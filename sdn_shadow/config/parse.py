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
        vlan: 100                   # optional fabric VLAN 1..4094 (else hashed into 100-1999)
        hosts:                      # required: name -> attachment
          h1: {switch: s1, port: 1, mac: "00:00:00:00:0a:01", ip: 10.0.0.1}
        shadow:                     # optional
          vlan: 2000                # optional (else hashed into 2000-2999)
          hosts:                    # name -> twin: IP is the twin's, MAC too unless `mac:` given
            h1s: {twin: h1, switch: s1, port: 4}   # optional mirror_vlan (else in 3000-4094)
          mirror:                   # optional list of mirror sessions
            - name: h1-out          # optional, unique in the file; default "<network>.mirror<i>"
              hosts: [h1]           # source primary hosts, or `ports: ["s1:1"]` (their ports)
              direction: both       # in | out | both (default both)
              match: {proto: udp, src: 10.0.0.0/24, dst: 10.0.0.2, src_port: 1, dst_port: 5201}
              sample: 1.0           # fraction of packets copied, (0, 1], >= 1/256 (default 1)
              truncate: 128         # optional: bytes kept of each copy, 14..65535
              deliver: port         # port | stack (default port): copies addressed to a twin
                                    # reach its port, not its network stack (How it works)
              to: [h1s]             # required: this network's shadow hosts
          ldap:                     # optional: the controller mirrors the primary's LDAP subtree
            url: ldap://127.0.0.1:389             # required, ldap:// or ldaps://HOST[:PORT]
            bind_dn: cn=admin,dc=example,dc=org   # required
            password_file: /etc/sdn-shadow/ldap-password  # required, readable; first line
            ca_file: /etc/sdn-shadow/ldap-ca.pem  # ldaps://: CAs to trust (default: the system's)
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

Names match `[A-Za-z0-9][A-Za-z0-9_.-]*`, at most 100 characters. Each switch port has one
user (a link end or a host). VLAN ids are unique across the file. Every host of a network
must have a fabric path to the others. Quote MAC addresses and colon-written dpids: YAML
1.1 reads e.g. unquoted `12:34:56:00:00:01` as a base-60 integer.

`parse_config` is pure: it opens no file. The loading layer (`load_config`,
`validate_config`) reads the YAML (`document.py`) and opens and checks every file the
data names (`files.py`: TLS files, LDAP password files, baseline captures), and the
parser reports what it found at the key path that names each file. Each section has
its module: `settings.py` (controller, telemetry, forecast, failover, routing, api),
`fabric.py`, `networks.py`, `shadow.py`, `mirror.py`, `ldap_mirror.py`, `detect.py`;
`context.py` holds one parse's problems and claims, `assemble.py` freezes the result.
"""

from __future__ import annotations

import os
from typing import Any

from . import settings
from .assemble import VLAN_BASE_MIRROR, VLAN_BASE_NETWORK, VLAN_BASE_SHADOW, Sections, build
from .context import MAX_DPID, MAX_PORT, MAX_VLAN, Context
from .detect import parse_detect
from .document import read_document
from .drafts import NetDraft
from .fabric import check_reachability, fabric
from .files import FileFacts, check_files
from .ldap_mirror import ldap_mirrors_apart
from .mirror import IP_PROTOS, MAX_SAMPLE_BUCKETS, sessions
from .model import Config, ConfigError
from .networks import network
from .shadow import steered_twins_unmirrored
from .shapes import NAME_PATTERN, Shapes

__all__ = [
    "IP_PROTOS", "MAX_DPID", "MAX_PORT", "MAX_SAMPLE_BUCKETS", "MAX_VLAN", "NAME_PATTERN",
    "VLAN_BASE_MIRROR", "VLAN_BASE_NETWORK", "VLAN_BASE_SHADOW", "FileFacts", "Shapes",
    "check_files", "load_config", "parse_config", "read_document", "validate_config",
]

_TOP_KEYS = ("api", "controller", "fabric", "failover", "forecast", "networks", "routing",
             "telemetry")


def parse_config(data: object, source: str = "", files: FileFacts | None = None) -> Config:
    """Validate YAML-loaded `data`; raise `ConfigError` listing every problem found.

    Pure: it opens no file. `files` is what the loader found opening the files
    `data` names (`check_files`); without it those files are taken as named.
    """
    ctx = Context(files)
    config = _document(ctx, data)
    if ctx.problems or config is None:
        raise ConfigError(ctx.problems, source)
    return config


def validate_config(data: object, source: str = "") -> Config:
    """`parse_config` after opening and checking every file `data` names (the loading layer)."""
    return parse_config(data, source, check_files(data))


def load_config(path: str | os.PathLike[str]) -> Config:
    """Read and validate the YAML file at `path` and the files it names (else `ConfigError`)."""
    return validate_config(read_document(path), os.fsdecode(path))


def finish_network(ctx: Context, net: NetDraft) -> None:
    """What a network's parse leaves for last: its mirror sessions (a `ports:` entry can
    then name whichever host or link uses that port) and its detection, which reads them."""
    if net.shadow is not None and net.shadow.mirror is not None:
        sessions(ctx, net, net.shadow)
        steered_twins_unmirrored(ctx, net.shadow)
    if net.shadow is not None and net.shadow.detect_raw is not None:
        copied_to = {t for s in net.shadow.sessions for t in s.to}
        net.shadow.detect = parse_detect(ctx, net.shadow.detect_raw,
                                         f"{net.shadow.path}.detect", net.hosts,
                                         net.shadow.hosts, copied_to)


def _document(ctx: Context, data: Any) -> Config | None:
    """The sections in order, then the checks across the whole file, then the Config."""
    top = ctx.fields(data, "", _TOP_KEYS, ("fabric", "networks"))
    if top is None:
        return None
    sections = Sections(
        controller=settings.controller(ctx, top.get("controller")),
        telemetry=settings.telemetry(ctx, top.get("telemetry")),
        forecast=settings.forecast(ctx, top.get("forecast")),
        failover=settings.failover(ctx, top.get("failover")),
        routing=settings.routing(ctx, top.get("routing")),
        api=settings.api(ctx, top.get("api")))
    if "fabric" in top:
        fabric(ctx, top["fabric"])
    nets: list[NetDraft] = []
    if "networks" in top:
        for name, path, item in ctx.named(top["networks"], "networks"):
            net = network(ctx, name, path, item)
            if net is not None:
                nets.append(net)
    # Sessions last: a `ports:` entry can then name whichever host or link uses that port.
    for net in nets:
        finish_network(ctx, net)
    if ctx.switches_known and ctx.links_ok:
        check_reachability(ctx, nets)
    ldap_mirrors_apart(ctx, nets)
    if ctx.problems:
        return None
    return build(ctx, nets, sections)
