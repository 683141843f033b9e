"""The fabric as the API shows it: each switch's connection and sync, each link's load (pure)."""

from __future__ import annotations

from sdn_shadow.core import ShadowCore


def fabric_state(core: ShadowCore, now: float) -> dict:
    """Switches and links of `core` at `now` (rates in bytes/s) and the events cursor.

    Each switch: connected, synced (its flows agree with the plan), what it
    holds. Each link, each way: measured rate, forecast and interval,
    capacity, and what the shadows hold on it: a shadow holds its allocation
    on every link of its shadow paths that has a known capacity (as
    `openflow.compiler` meters it). `events_next` is the cursor after the
    last event (`GET /events?since=`).
    """
    held = core.held()
    holders: dict[tuple[str, str], set[str]] = {}
    for name, pairs in core.shadow_paths.items():
        for pair in pairs.values():
            for hop in zip(pair.shadow, pair.shadow[1:], strict=False):
                holders.setdefault(hop, set()).add(name)
    edges = core.fabric.graph.edges
    links = []
    for a, b in sorted({d for x, y in edges for d in ((x, y), (y, x))}):
        key, mbps = f"link:{a}:{b}", edges[a, b].get("capacity_mbps")
        f = core.forecasts.get(key)
        holds = ({n: held[n] for n in sorted(holders.get((a, b), ())) if n in held}
                 if mbps else {})
        links.append({
            "src": a, "dst": b, "failed": frozenset((a, b)) in core.failed,
            "demand": core.demand.latest.get(key),
            "forecast": None if f is None else {"lower": f.lower, "point": f.point,
                                                "upper": f.upper},
            "capacity": mbps * 1e6 / 8 if mbps else None,
            "held": sum(holds.values()), "held_by": holds})
    switches = [{"name": s.name, "dpid": s.dpid, "connected": s.connected, "synced": s.synced,
                 "flows": s.flows, "groups": s.groups, "meters": s.meters,
                 "connected_at": s.connected_at, "synced_at": s.synced_at}
                for s in sorted(core.switches.values(), key=lambda s: s.name)]
    return {"at": now, "switches": switches, "links": links, "events_next": len(core.events)}
