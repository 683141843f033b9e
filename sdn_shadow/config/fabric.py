"""`fabric`: the switches and their dpids, the links between them, and hosts' reachability."""

from __future__ import annotations

from collections import Counter
from typing import Any

import networkx as nx

from .context import Context
from .drafts import NetDraft
from .model import Link


def fabric(ctx: Context, value: Any) -> None:
    """Declare `fabric.switches` and `fabric.links` in `ctx`."""
    f = ctx.fields(value, "fabric", ("links", "switches"), ("switches",))
    if f is None:
        return
    if "switches" in f:
        switches(ctx, f["switches"])
    if f.get("links") is not None:
        before = len(ctx.problems)
        for path, item in ctx.items(f["links"], "fabric.links"):
            link(ctx, path, item)
        ctx.links_ok = len(ctx.problems) == before


def switches(ctx: Context, value: Any) -> None:
    """`fabric.switches`: name -> {dpid}, each dpid used once."""
    ctx.switches_known = isinstance(value, dict)
    dpid_users: dict[int, str] = {}
    for name, path, item in ctx.named(value, "fabric.switches", non_empty=True):
        ctx.switches[name] = None
        sw = ctx.fields(item, path, ("dpid",), ("dpid",))
        if sw is None or "dpid" not in sw:
            continue
        dpid = ctx.dpid(sw["dpid"], f"{path}.dpid")
        if dpid is None:
            continue
        if dpid in dpid_users:
            ctx.err(f"{path}.dpid", f"dpid {dpid} already used by {dpid_users[dpid]}")
        else:
            dpid_users[dpid] = path
        ctx.switches[name] = dpid


def link(ctx: Context, path: str, item: Any) -> None:
    """One link `{a, b, capacity}`; claims both ends."""
    f = ctx.fields(item, path, ("a", "b", "capacity"), ("a", "b"))
    if f is None:
        return
    a = ctx.port_ref(f["a"], f"{path}.a") if "a" in f else None
    b = ctx.port_ref(f["b"], f"{path}.b") if "b" in f else None
    capacity = None
    if f.get("capacity") is not None:
        capacity = ctx.number(f["capacity"], f"{path}.capacity")
        if capacity is not None and capacity <= 0:
            ctx.err(f"{path}.capacity", "must be > 0")
    if a is not None and b is not None and a.switch == b.switch:
        ctx.err(path, f"connects switch {a.switch} to itself")
    if a is not None:
        ctx.claim_port(a, f"{path}.a")
    if b is not None:
        ctx.claim_port(b, f"{path}.b")
    if a is not None and b is not None:
        mbps = float(capacity) if capacity is not None else None
        ctx.links.append(Link(a, b, mbps))


def check_reachability(ctx: Context, nets: list[NetDraft]) -> None:
    """Every host of a network must share a fabric component with the others."""
    graph: nx.Graph[str] = nx.Graph()
    graph.add_nodes_from(ctx.switches)
    graph.add_edges_from((link.a.switch, link.b.switch) for link in ctx.links)
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
                ctx.err(host_path, f"switch {switch} has no fabric path to {ref}")
