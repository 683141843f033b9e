"""Assign the VLAN ids left unset, then freeze the drafts into a `Config`."""

from __future__ import annotations

from dataclasses import dataclass
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

#: First VLAN id tried when assigning one to a primary network, a shadow, a shadow host.
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
    """Networks, then shadows, then shadow hosts take the first free id from their base."""
    used = set(ctx.vlans)

    def take(start: int, path: str) -> int:
        for vid in chain(range(start, MAX_VLAN + 1), range(1, start)):
            if vid not in used:
                used.add(vid)
                return vid
        ctx.err(path, "no free VLAN id left to assign")
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
                    draft["mirror_vlan"] = take(VLAN_BASE_MIRROR, f"{draft['path']}.mirror_vlan")


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
