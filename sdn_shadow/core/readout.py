"""Readout: mirror counters, status, metrics, the fabric view, a pair's paths, event pages.

Only reads (the mirror counters and the LDAP round record are the readout's
own state); every snapshot is JSON-able.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from sdn_shadow.config.model import Config, Network
from sdn_shadow.core.model import Event, FlowKey, GroupCounters, InstalledFlow, MirrorCounters
from sdn_shadow.core.model import event as make_event
from sdn_shadow.core.reconcile import sum_buckets
from sdn_shadow.openflow.compiler import SwitchPlan, link_holders
from sdn_shadow.paths import current, network_salt, path_pair

if TYPE_CHECKING:
    from sdn_shadow.core.shadow import ShadowCore
    from sdn_shadow.directory.follower import RoundReport

SERIES = ("network:", "client:", "link:")


class MirrorStats:
    """Counters of mirror groups and inline-copying mirror flows, per switch."""

    def __init__(self) -> None:
        self.groups: dict[int, dict[int, tuple[int, int]]] = {}
        self.flows: dict[int, dict[FlowKey, tuple[int, int]]] = {}

    def group_stats(self, plan: SwitchPlan, counters: Iterable[GroupCounters]) -> None:
        """Take a group stats reply of `plan`'s switch (its mirror groups' copy buckets)."""
        self.groups.setdefault(plan.dpid, {}).update(
            (c.group_id, sum_buckets(c, plan.mirror_groups[c.group_id].copy_buckets))
            for c in counters if c.group_id in plan.mirror_groups)

    def flow_stats(self, plan: SwitchPlan, flows: Iterable[InstalledFlow]) -> None:
        """Take flow stats of `plan`'s switch's mirror tables (sessions that copy inline)."""
        self.flows.setdefault(plan.dpid, {}).update(
            (f.key, (f.packets, f.bytes)) for f in flows if f.key in plan.mirror_flows)

    def totals(self, config: Config, plans: Mapping[int, SwitchPlan],
               only: Iterable[str] | None = None) -> dict[str, MirrorCounters]:
        """Packets selected for copying and their bytes per session, summed over switches
        (`only`: just these sessions, which must be the configuration's).

        A packet copied to several destinations counts once; bytes are before truncation.
        """
        totals = ({s.name: MirrorCounters()
                   for n in config.networks if n.shadow for s in n.shadow.mirror}
                  if only is None else {name: MirrorCounters() for name in only})
        for dpid, by_group in self.groups.items():
            groups = plans[dpid].mirror_groups
            for gid, counts in by_group.items():
                if gid in groups and groups[gid].session in totals:  # not changed since polled
                    totals[groups[gid].session].add(*counts)
        for dpid, by_flow in self.flows.items():
            flows = plans[dpid].mirror_flows
            for key, counts in by_flow.items():
                session = flows.get(key)
                if session in totals:
                    totals[session].add(*counts)
        return totals


def ldap_event(failing: frozenset[str], now: float, network: str, report: RoundReport
               ) -> tuple[frozenset[str], Event | None]:
    """Networks whose last LDAP round failed after `report`, and its `ldap` event if it
    changed entries, found drift, failed, or is the first good round after failures."""
    changed = report.added + report.modified + report.renamed + report.deleted
    recovered = report.error is None and network in failing
    failing = failing - {network} if report.error is None else failing | {network}
    if report.ok and not changed and not report.drift and not recovered:
        return failing, None
    return failing, make_event(now, "ldap", network=network,
                               result="ok" if report.ok else "failed", reason=report.line())


def events_page(events: Sequence[Event], since: int, limit: int) -> dict[str, Any]:
    """Events from cursor `since` (their index), at most `limit`; `next` is the next cursor."""
    since = max(since, getattr(events, "first", 0))  # older ones were dropped (EventLog)
    chunk = events[since:since + limit]
    out = [{"id": since + i, **e} for i, e in enumerate(chunk)]
    return {"events": out, "next": since + len(out)}


def _pairs(clients: Iterable[tuple[str, str]]) -> list[str]:
    return sorted(f"{n}/{h}" for n, h in clients)


def status(core: ShadowCore) -> dict[str, Any]:
    """A JSON-able snapshot: switches, mirror counters, demand, forecasts, allocations."""
    cap, config, plans, intents = core.capacity, core.config, core.plans, core.intents
    fc = config.forecast
    return {
        "demand": {k: round(v, 1) for k, v in cap.demand.latest.items() if k.startswith(SERIES)},
        "forecast": {
            "at": cap.forecast_at, "horizon_s": fc.horizon, "level": fc.level,
            "series": {k: [round(f.lower, 1), round(f.point, 1), round(f.upper, 1)]
                       for k, f in cap.forecasts.items() if k.startswith(SERIES)},
        },
        "allocation": {
            name: {"strategy": a.strategy, "held": round(a.held, 1),
                   "point": round(a.point, 1), "upper": round(a.upper, 1),
                   "weight": round(a.weight, 3), "installed": a.install,
                   "recommendation": a.recommendation.text() if a.recommendation else None}
            for name, a in cap.allocations.items()
        },
        "switches": {
            str(s.dpid): {
                "name": s.name, "connected": s.connected, "synced": s.synced,
                "flows": s.flows, "groups": s.groups, "meters": s.meters,
                "best_effort_kbps": {
                    f"{spec.network}@{spec.link[0]}>{spec.link[1]}":
                        plans[s.dpid].meters[spec.meter_id].bands[0].rate
                    for spec in plans[s.dpid].best_effort.values()},
                "connected_at": s.connected_at, "synced_at": s.synced_at,
                "last_sync": s.last_sync,
            }
            for s in core.switches.values()
        },
        "mirror": {name: {"packets": c.packets, "bytes": c.bytes}
                   for name, c in core.mirror_counters().items()},
        "policed": dict(sorted(cap.policed.items())),
        "routing": {
            "failed_links": sorted("-".join(sorted(link)) for link in intents.failed_links),
            "shadow_path": _pairs(intents.shadow_path),
            "taken_over": _pairs(intents.taken_over),
            "served_by_twins": _pairs(core.served),
            "shadow_active": sorted(core.active_networks()),
            "roles_swapped": _pairs(intents.roles_swapped),
            "twin_service": _pairs(intents.twin_service),
            "scaling": dict(sorted(core.preemption.scaling.items())),
            "health": core.health_state.machine.snapshot(),
        },
        "reload": dict(core.reloads),
        "security": core.watch.status(),
        "events": core.events[-200:],
    }


def forecasts(core: ShadowCore) -> dict[str, Any]:
    """The status's forecasts plus, per series, the model that forecast it: its class,
    code version, fit time and period, why that period, and the live recalibration of
    its interval ("profile" for a client too young for a model)."""
    cap = core.capacity
    out = dict(status(core)["forecast"])
    models = {}
    for key in out["series"]:
        m = cap.models.get(cap.sources.get(key, ""))
        if m is not None:
            models[key] = {"model": m.model, "version": m.version, "fitted_at": m.fitted_at,
                           "slot": m.name, **_period(core, key),
                           "calibration": None if cap.calibration is None
                           else cap.calibration.of(key)}
        elif key in cap.profile_only:
            models[key] = {"model": "profile", "version": None, "fitted_at": None,
                           "slot": None}
    out["models"] = models
    return out


def _period(core: ShadowCore, key: str) -> dict[str, Any]:
    """The period series `key`'s model uses (steps and seconds), where from, why, when."""
    c = core.capacity.periods.get(key)
    if c is None:
        return dict.fromkeys(("period", "period_s", "period_source", "period_reason",
                              "period_checked_at"))
    return {"period": c.period,
            "period_s": None if c.period is None else c.period * core.capacity.step_seconds,
            "period_source": c.source, "period_reason": c.reason,
            "period_checked_at": c.checked_at}


def metrics(core: ShadowCore) -> dict[str, Any]:
    """Snapshot for the Prometheus endpoint: status plus rates, forecasts, allocations."""
    cap, fc = core.capacity, core.config.forecast
    return {
        **status(core),
        "rates": dict(cap.demand.latest),
        "forecast": {
            "horizon_s": fc.horizon, "level": fc.level,
            "series": {k: {"point": f.point, "lower": f.lower, "upper": f.upper}
                       for k, f in cap.forecasts.items()},
        },
        "allocation": {name: {"strategy": a.strategy, "bytes_per_second": a.held}
                       for name, a in cap.allocations.items()},
    }


def fabric_state(core: ShadowCore, now: float) -> dict[str, Any]:
    """Switches and links at `now` (rates in bytes/s) and the events cursor.

    Each switch: connected, synced (its flows agree with the plan), what it
    holds. Each link, each way: measured rate, forecast and interval,
    capacity, and what the shadows hold on it (`openflow.compiler.link_holders`,
    where the link's capacity is known, as the compiler meters it).
    `events_next` is the cursor after the last event (`GET /events?since=`).
    """
    cap = core.capacity
    held = cap.held()
    holders = link_holders(core.layout.paths)
    edges = core.layout.fabric.graph.edges
    links = []
    for a, b in sorted({d for x, y in edges for d in ((x, y), (y, x))}):
        key, mbps = f"link:{a}:{b}", edges[a, b].get("capacity_mbps")
        f = cap.forecasts.get(key)
        holds = ({n: held[n] for n in sorted(holders.get((a, b), ())) if n in held}
                 if mbps else {})
        links.append({
            "src": a, "dst": b, "failed": frozenset((a, b)) in core.intents.failed_links,
            "demand": cap.demand.latest.get(key),
            "forecast": None if f is None else {"lower": f.lower, "point": f.point,
                                                "upper": f.upper},
            "capacity": mbps * 1e6 / 8 if mbps else None,
            "held": sum(holds.values()), "held_by": holds})
    switches = [{"name": s.name, "dpid": s.dpid, "connected": s.connected, "synced": s.synced,
                 "flows": s.flows, "groups": s.groups, "meters": s.meters,
                 "connected_at": s.connected_at, "synced_at": s.synced_at}
                for s in sorted(core.switches.values(), key=lambda s: s.name)]
    return {"at": now, "switches": switches, "links": links, "events_next": len(core.events)}


def client_paths(core: ShadowCore, network: Network, src: str, dst: str) -> dict[str, Any]:
    """The primary and shadow paths from host `src` to host `dst` of `network` now, and
    which one their traffic takes (`current`), as the plans route it.

    A host a twin serves (or whose role is swapped) sits at its twin's switch. Where
    traffic goes is followed through the failover groups of every switch on its way
    (`paths.current`): the shadow path when either end was moved to it, or when a failed
    link lies on the primary route and not on the shadow; another route when a transit
    switch's group turns it. The pair is the layout's own (or the fabric's memo, for
    hosts standing in elsewhere): nothing is planned per request.
    """
    ends = [_where(core, network, host) for host in (src, dst)]
    a, b = ends[0][1], ends[1][1]
    pair = core.layout.paths.get(network.name, {}).get((a, b))
    if pair is None:
        pair = path_pair(core.layout.fabric, a, b, network_salt(network.name))
    route = tuple(core.layout.fabric.path(a, b) or pair.primary)  # what forwarding takes
    moved = [h for h in (src, dst) if (network.name, h) in core.intents.shadow_path]
    now = current(core.layout.fabric, core.layout.paths.get(network.name, {}), pair,
                  core.intents.failed_links, moved)
    return {"network": network.name,
            "src": {"host": src, "switch": a, "at": ends[0][0]},
            "dst": {"host": dst, "switch": b, "at": ends[1][0]},
            "primary": list(route), "shadow": list(pair.shadow), "disjoint": pair.disjoint,
            **now}


def _where(core: ShadowCore, network: Network, host: str) -> tuple[str, str]:
    """Where `host` of `network` is attached now: ("host"|"twin", its switch)."""
    key = (network.name, host)
    at_twin = (key in core.served) != (key in core.intents.roles_swapped)
    if at_twin and network.shadow is not None:
        for twin in network.shadow.hosts:
            if twin.primary == host:
                return "twin", twin.switch
    return "host", next(h.switch for h in network.hosts if h.name == host)
