"""The fabric as the API shows it: each switch's connection and sync, each link's load (pure)."""

from __future__ import annotations

from sdn_shadow.core import ShadowCore
from sdn_shadow.openflow.compiler import link_holders


def fabric_state(core: ShadowCore, now: float) -> dict:
    """Switches and links of `core` at `now` (rates in bytes/s) and the events cursor.

    Each switch: connected, synced (its flows agree with the plan), what it
    holds. Each link, each way: measured rate, forecast and interval,
    capacity, and what the shadows hold on it (`openflow.compiler.link_holders`,
    where the link's capacity is known, as the compiler meters it).
    `events_next` is the cursor after the last event (`GET /events?since=`).
    """
    held = core.held()
    holders = link_holders(core.shadow_paths)
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
