"""Assign the VLAN ids left unset, then freeze the drafts into a `Config`."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from itertools import chain

from .context import MAX_VLAN, Context
from .drafts import NetDraft
from .model import (
    ApiSettings,
    Config,
    ControllerSettings,
    FailoverSettings,
    ForecastSettings,
    Host,
    Network,
    RoutingSettings,
    Shadow,
    ShadowHost,
    Switch,
    TelemetrySettings,
)

#: Where the ranges of assigned VLAN ids start: primary networks, shadows, shadow hosts.
VLAN_BASE_NETWORK, VLAN_BASE_SHADOW, VLAN_BASE_MIRROR = 100, 2000, 3000


@dataclass(frozen=True, slots=True)
class Sections:
    """The settings sections, parsed."""

    controller: ControllerSettings
    telemetry: TelemetrySettings
    forecast: ForecastSettings
    failover: FailoverSettings
    routing: RoutingSettings
    api: ApiSettings


def build(ctx: Context, nets: list[NetDraft], sections: Sections) -> Config | None:
    """Assign the unset VLAN ids, then freeze everything (None if no VLAN id was left)."""
    assign_vlans(ctx, nets)
    if ctx.problems:
        return None
    switches = tuple(Switch(name, dpid) for name, dpid in ctx.switches.items() if dpid)
    return Config(switches, tuple(ctx.links), tuple(network(net) for net in nets),
                  sections.controller, sections.telemetry, sections.forecast,
                  sections.failover, sections.routing, sections.api)


def assign_vlans(ctx: Context, nets: list[NetDraft]) -> None:
    """Give each network, shadow and shadow host without an explicit VLAN id a stable one.

    Each takes the first free id from a home found by hashing its own name into its
    kind's range (networks 100-1999, shadows 2000-2999, shadow hosts 3000-4094), so the id
    depends on that name and the ids taken, never on the other names: adding or removing
    a network leaves the others' ids alone unless homes collide (then the name sorted
    first keeps its home). Explicit ids are claimed first and always win.
    """
    used = set(ctx.vlans)
    claims: list[tuple[int, str, str, Callable[[int], None]]] = []  # (base, key, path, set)

    def want(base: int, key: str, path: str, put: Callable[[int], None]) -> None:
        claims.append((base, key, path, put))

    for net in nets:
        if net.vlan is None:
            want(VLAN_BASE_NETWORK, net.name, f"{net.path}.vlan",
                 partial(setattr, net, "vlan"))
        if net.shadow is None:
            continue
        if net.shadow.vlan is None:
            want(VLAN_BASE_SHADOW, net.name, f"{net.shadow.path}.vlan",
                 partial(setattr, net.shadow, "vlan"))
        for name, draft in net.shadow.hosts.items():
            if draft["mirror_vlan"] is None:
                want(VLAN_BASE_MIRROR, f"{net.name}/{name}", f"{draft['path']}.mirror_vlan",
                     partial(draft.__setitem__, "mirror_vlan"))
    for base, key, path, put in sorted(claims, key=lambda c: (c[0], c[1])):
        vid = _free_vlan(used, base, key)
        if vid is None:
            ctx.err(path, "no free VLAN id left to assign")
            vid = 0
        used.add(vid)
        put(vid)


_RANGES = {VLAN_BASE_NETWORK: VLAN_BASE_SHADOW, VLAN_BASE_SHADOW: VLAN_BASE_MIRROR,
           VLAN_BASE_MIRROR: MAX_VLAN + 1}


def home_vlan(base: int, key: str) -> int:
    """Where `key` (a network's name, or `network/host`) starts looking in its kind's range."""
    digest = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big")
    return base + digest % (_RANGES[base] - base)


def _free_vlan(used: set[int], base: int, key: str) -> int | None:
    """The first free id from `key`'s home: up its range, round to the range's start, then
    anywhere (a full range borrows from the others); None when every id is taken."""
    home, end = home_vlan(base, key), _RANGES[base]
    order = chain(range(home, end), range(base, home), range(end, MAX_VLAN + 1),
                  range(1, base))
    return next((vid for vid in order if vid not in used), None)


def network(net: NetDraft) -> Network:
    """The frozen network of a draft that had no problems."""
    hosts = tuple(Host(h["name"], h["switch"], h["port"], h["mac"], h["ip"])
                  for h in net.hosts.values())
    shadow = None
    if net.shadow is not None:
        draft = net.shadow
        twins = tuple(ShadowHost(s["name"], s["twin"], s["switch"], s["port"], s["mac"],
                                 s["ip"], s["mirror_vlan"]) for s in draft.hosts.values())
        assert draft.vlan is not None
        shadow = Shadow(draft.vlan, twins, tuple(draft.sessions), draft.allocation,
                        tuple(sorted(draft.clients)), tuple(draft.services),
                        tuple(sorted(draft.client_services)), draft.active, draft.ldap,
                        draft.detect)
    assert net.cidr is not None and net.vlan is not None
    return Network(net.name, net.cidr, net.vlan, hosts, shadow)
