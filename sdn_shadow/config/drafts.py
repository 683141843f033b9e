"""Drafts of networks and shadows: filled while parsing, frozen by `assemble.build`."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any

from .model import AllocationSettings, DetectSettings, LdapMirrorSettings, MirrorSession, Service

HostDraft = dict[str, Any]
"""A host's fields by name (name, path, switch, port, mac, ip; a twin's also twin and
mirror_vlan), None where invalid."""


@dataclass
class ShadowDraft:
    """A network's shadow while it is parsed."""

    path: str
    vlan: int | None
    hosts_known: bool
    hosts: dict[str, HostDraft] = field(default_factory=dict)
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
class NetDraft:
    """A primary network while it is parsed."""

    name: str
    path: str
    cidr: ipaddress.IPv4Network | None
    vlan: int | None
    hosts_known: bool
    hosts: dict[str, HostDraft] = field(default_factory=dict)
    shadow: ShadowDraft | None = None
