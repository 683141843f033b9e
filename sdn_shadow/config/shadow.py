"""`networks.NAME.shadow`: twins, allocation, services, clients and whether it is active."""

from __future__ import annotations

from typing import Any

from .context import Context
from .drafts import HostDraft, NetDraft, ShadowDraft
from .ldap_mirror import ldap_mirror
from .model import STRATEGIES, AllocationSettings, Service

_SHADOW_KEYS = ("active", "allocation", "clients", "detect", "hosts", "ldap", "mirror",
                "services", "vlan")
_SHADOW_HOST_KEYS = ("mac", "mirror_vlan", "port", "switch", "twin")


def shadow(ctx: Context, net: NetDraft, value: Any) -> ShadowDraft | None:
    """The shadow of `net`; its mirror sessions and detection wait for the whole file."""
    path = f"{net.path}.shadow"
    f = ctx.fields(value, path, _SHADOW_KEYS, ("hosts",))
    if f is None:
        return None
    vlan = ctx.vlan(f.get("vlan"), f"{path}.vlan")
    draft = ShadowDraft(path, vlan, hosts_known=isinstance(f.get("hosts"), dict))
    macs: dict[str, str] = {}
    if "hosts" in f:
        for name, host_path, item in ctx.named(f["hosts"], f"{path}.hosts"):
            draft.hosts[name] = shadow_host(ctx, net, name, host_path, item, macs)
    draft.mirror = f.get("mirror")
    draft.detect_raw = f.get("detect")
    draft.allocation = allocation(ctx, f.get("allocation"), f"{path}.allocation")
    if f.get("services") is not None:
        services(ctx, net, draft, f["services"], f"{path}.services")
    if "active" in f:
        draft.active = bool(ctx.boolean(f["active"], f"{path}.active"))
        standing = [t for t in draft.hosts.values() if t["twin"] in net.hosts
                    and t["mac"] == net.hosts[t["twin"]]["mac"]]
        if draft.active and draft.hosts_known and net.hosts_known and not standing:
            ctx.err(f"{path}.active", "no twin has its primary host's MAC and IP, so "
                                      "none can serve in its place")
    if f.get("ldap") is not None:
        draft.ldap = ldap_mirror(ctx, f["ldap"], f"{path}.ldap")
    if f.get("clients") is not None:
        clients(ctx, net, draft, f["clients"], f"{path}.clients")
    return draft


def shadow_host(
    ctx: Context, net: NetDraft, name: str, path: str, item: Any, macs: dict[str, str]
) -> HostDraft:
    """A twin: the primary host it stands for, its own attachment, its MAC and mirror VLAN."""
    draft: HostDraft = {"name": name, "path": path, "twin": None, "switch": None}
    draft.update(port=None, mac=None, ip=None, mirror_vlan=None)
    if name in net.hosts:
        ctx.err(path, f"name already used by {net.hosts[name]['path']}")
    f = ctx.fields(item, path, _SHADOW_HOST_KEYS, ("port", "switch", "twin"))
    if f is None:
        return draft
    twin: HostDraft | None = None
    if "twin" in f:
        twin_name = ctx.string(f["twin"], f"{path}.twin")
        if twin_name is not None and net.hosts_known and twin_name not in net.hosts:
            ctx.err(f"{path}.twin", f"no primary host {twin_name} in {net.name}")
        elif twin_name is not None:
            draft["twin"] = twin_name
            twin = net.hosts.get(twin_name)
    ctx.attachment(f, path, draft)
    if f.get("mac") is not None:
        mac = ctx.mac(f["mac"], f"{path}.mac")
        mac_path, note = f"{path}.mac", ""
    else:  # shares the twin's MAC
        mac = twin["mac"] if twin is not None else None
        mac_path, note = path, " (the twin's)"
    if mac is not None:
        if mac in macs:
            ctx.err(mac_path, f"MAC {mac}{note} already used by {macs[mac]}")
        else:
            macs[mac] = path
    draft["mac"] = mac
    draft["ip"] = twin["ip"] if twin is not None else None
    draft["mirror_vlan"] = ctx.vlan(f.get("mirror_vlan"), f"{path}.mirror_vlan")
    return draft


def allocation(ctx: Context, value: Any, path: str) -> AllocationSettings:
    """`allocation`: how much capacity the shadow holds, from the forecast."""
    return ctx.section(value, path, AllocationSettings, {
        "strategy": lambda v, p: strategy(ctx, v, p), "floor": ctx.non_negative,
        "hysteresis": ctx.non_negative, "forecast_only": ctx.boolean,
        "instance_capacity": ctx.positive,
        "instances": lambda v, p: ctx.int_in(v, p, 0, 100_000),
    })


def strategy(ctx: Context, value: Any, path: str) -> str | None:
    """One of the allocation strategies."""
    return ctx.one_of(value, path, STRATEGIES)


def services(ctx: Context, net: NetDraft, draft: ShadowDraft, value: Any, path: str) -> None:
    """`services`: primary hosts whose new connections may be steered to their twins."""
    for name, host_path, item in ctx.named(value, path):
        host = net.hosts.get(name)
        if net.hosts_known and host is None:
            ctx.err(host_path, f"no primary host {name} in {net.name}")
            continue
        twins = [t for t in draft.hosts.values() if t["twin"] == name
                 and t["mac"] == host["mac"] and t["ip"] == host["ip"]] if host else []
        if host is not None and draft.hosts_known and not twins:
            ctx.err(host_path, f"{name} has no twin with its MAC and IP to steer to")
            continue
        if host is not None and twins and not any(t["switch"] == host["switch"] for t in twins):
            ctx.err(host_path, f"steering happens at {name}'s switch: its twin "
                               f"{twins[0]['name']} must be attached to {host['switch']}")
            continue
        capacity = twin_capacity = None
        if item is not None:
            f = ctx.fields(item, host_path, ("capacity", "twin_capacity"))
            if f is not None and "capacity" in f:
                capacity = ctx.positive(f["capacity"], f"{host_path}.capacity")
            if f is not None and "twin_capacity" in f:
                twin_capacity = ctx.positive(f["twin_capacity"], f"{host_path}.twin_capacity")
        draft.services.append(Service(name, capacity, twin_capacity))


def clients(ctx: Context, net: NetDraft, draft: ShadowDraft, value: Any, path: str) -> None:
    """`clients`: per primary host, `path: primary|shadow` and `service: primary|twin`."""
    for name, client_path, item in ctx.named(value, path):
        if net.hosts_known and name not in net.hosts:
            ctx.err(client_path, f"no primary host {name} in {net.name}")
        c = ctx.fields(item, client_path, ("path", "service"))
        if c is None:
            continue
        if not c:
            ctx.err(client_path, "set path (primary|shadow), service (primary|twin) or both")
        if "path" in c:
            route = ctx.string(c["path"], f"{client_path}.path")
            if route is not None and route not in ("primary", "shadow"):
                ctx.err(f"{client_path}.path", "must be primary or shadow")
            elif route is not None:
                draft.clients.append((name, route))
        if "service" in c:
            client_service(ctx, draft, name, c["service"], f"{client_path}.service")


def client_service(ctx: Context, draft: ShadowDraft, name: str, value: Any, path: str) -> None:
    """A client's `service: primary|twin`."""
    where = ctx.string(value, path)
    if where is None:
        return
    if where not in ("primary", "twin"):
        ctx.err(path, "must be primary or twin")
    elif where == "twin" and not draft.services:
        ctx.err(path, "twin needs service hosts: list them under shadow.services")
    else:
        draft.client_services.append((name, where))


def steered_twins_unmirrored(ctx: Context, draft: ShadowDraft) -> None:
    """A twin that serves steered connections is no mirror destination.

    Copies addressed to its host (from any session) would reach its
    stack; it would answer them, and its answers pass the same connection
    tracker as the real connections it serves (a reset would end them).
    """
    for name in (service.host for service in draft.services):
        twins = {t["name"] for t in draft.hosts.values() if t["twin"] == name}
        for index, session in enumerate(draft.sessions):
            both = twins & set(session.to)
            if both:
                ctx.err(f"{draft.path}.mirror[{index}].to",
                        f"{sorted(both)[0]} serves connections steered to it from "
                        f"service {name}: it cannot also receive mirrored copies")
