"""`networks.NAME`: a primary network's address space, VLAN and hosts, then its shadow."""

from __future__ import annotations

import ipaddress
from typing import Any

from .context import Context
from .drafts import HostDraft, NetDraft
from .shadow import shadow

_NETWORK_REASON = "must be an IPv4 network like 10.0.0.0/24"
_NETWORK_KEYS = ("cidr", "hosts", "shadow", "vlan")
_HOST_KEYS = ("ip", "mac", "port", "switch")


def network(ctx: Context, name: str, path: str, item: Any) -> NetDraft | None:
    """One primary network and its shadow; None if it is not even a mapping."""
    f = ctx.fields(item, path, _NETWORK_KEYS, ("cidr", "hosts"))
    if f is None:
        return None
    cidr = ctx.ip_network(f["cidr"], f"{path}.cidr", _NETWORK_REASON) if "cidr" in f else None
    if cidr is not None and "/" not in str(f["cidr"]):
        ctx.err(f"{path}.cidr", _NETWORK_REASON)
        cidr = None
    vlan = ctx.vlan(f.get("vlan"), f"{path}.vlan")
    net = NetDraft(name, path, cidr, vlan, hosts_known=isinstance(f.get("hosts"), dict))
    macs: dict[str, str] = {}
    ips: dict[ipaddress.IPv4Address, str] = {}
    if "hosts" in f:
        for host_name, host_path, host_item in ctx.named(f["hosts"], f"{path}.hosts"):
            net.hosts[host_name] = host(ctx, host_name, host_path, host_item, cidr, macs, ips)
    if f.get("shadow") is not None:
        net.shadow = shadow(ctx, net, f["shadow"])
    return net


def host(
    ctx: Context,
    name: str,
    path: str,
    item: Any,
    cidr: ipaddress.IPv4Network | None,
    macs: dict[str, str],
    ips: dict[ipaddress.IPv4Address, str],
) -> HostDraft:
    """A primary host's attachment, MAC and IP; MACs and IPs are unique in the network."""
    draft: HostDraft = {"name": name, "path": path, "switch": None, "port": None}
    draft.update(mac=None, ip=None)
    f = ctx.fields(item, path, _HOST_KEYS, _HOST_KEYS)
    if f is None:
        return draft
    ctx.attachment(f, path, draft)
    if "mac" in f:
        mac = draft["mac"] = ctx.mac(f["mac"], f"{path}.mac")
        if mac is not None:
            if mac in macs:
                ctx.err(f"{path}.mac", f"MAC {mac} already used by {macs[mac]}")
            else:
                macs[mac] = path
    if "ip" in f:
        ip = draft["ip"] = ctx.address(f["ip"], f"{path}.ip")
        if ip is not None:
            check_in_cidr(ctx, ip, cidr, f"{path}.ip")
            if ip in ips:
                ctx.err(f"{path}.ip", f"{ip} already used by {ips[ip]}")
            else:
                ips[ip] = path
    return draft


def check_in_cidr(
    ctx: Context, ip: ipaddress.IPv4Address, cidr: ipaddress.IPv4Network | None, path: str
) -> None:
    """`ip` is a host address of `cidr` (when the network is known)."""
    if cidr is None:
        return
    if ip not in cidr:
        ctx.err(path, f"{ip} is not in {cidr}")
    elif cidr.prefixlen <= 30 and ip == cidr.network_address:
        ctx.err(path, f"{ip} is the network address of {cidr}")
    elif cidr.prefixlen <= 30 and ip == cidr.broadcast_address:
        ctx.err(path, f"{ip} is the broadcast address of {cidr}")
