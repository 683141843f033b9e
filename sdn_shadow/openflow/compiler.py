"""Config -> desired flows, groups and meters per switch (pure): the whole plan in one call.

The steps live in their own modules: `forwarding` (table misses,
classification, per-destination entries, ARP), `routes` (shadow paths,
moved clients, fast-failover groups), `services` (service steering,
security blocks), `mirrors` (mirror sessions) and `meters` (best-effort
meters); `plan` holds the values they build. `incremental.Planner` runs the
same steps as memoised parts. The names callers know are re-exported here.
"""

from __future__ import annotations

from collections.abc import Mapping

from sdn_shadow.config.model import Config, Network
from sdn_shadow.openflow.forwarding import (
    arp_responder,
    arp_responders,
    forwarding,
    probe_answers,
    shadow_guard,
    table_misses,
)
from sdn_shadow.openflow.meters import (
    BEST_EFFORT_IDS,
    best_effort_id,
    best_effort_meters,
    link_holders,
)
from sdn_shadow.openflow.mirrors import (
    MAX_SAMPLE_BUCKETS,
    filter_fields,
    mirror_session,
    sample_fraction,
)
from sdn_shadow.openflow.plan import (
    HOST_MARK,
    MIN_BEST_EFFORT,
    SECURITY_METERS,
    TWIN_MARK,
    BestEffortMeter,
    Link,
    MirrorGroupInfo,
    ShadowPaths,
    SourceLimit,
    SwitchPlan,
    paused_gc,
    vid,
)
from sdn_shadow.openflow.routes import install_shadow_paths, path_instructions, shadow_path_clients
from sdn_shadow.openflow.services import security_blocks, service_steering, service_twin
from sdn_shadow.paths import PathPair, network_paths, network_salt
from sdn_shadow.topology import Fabric

__all__ = [
    "BEST_EFFORT_IDS", "HOST_MARK", "MAX_SAMPLE_BUCKETS", "MIN_BEST_EFFORT", "SECURITY_METERS",
    "TWIN_MARK", "BestEffortMeter", "Link", "MirrorGroupInfo", "ShadowPaths", "SourceLimit",
    "SwitchPlan", "arp_responder", "arp_responders", "best_effort_id", "best_effort_meters",
    "compile_config", "filter_fields", "forwarding", "install_shadow_paths", "link_holders",
    "mirror_session", "shadow_path_clients", "path_instructions", "paused_gc", "probe_answers",
    "sample_fraction", "security_blocks", "service_steering", "service_twin", "shadow_guard",
    "shadow_paths", "table_misses", "vid",
]

# The steps under the names they had when they lived here.
_table_misses, _probe_answers, _forwarding = table_misses, probe_answers, forwarding
_arp_responders, _arp_responder, _shadow_guard = arp_responders, arp_responder, shadow_guard
_best_effort_meters, _install_shadow_paths = best_effort_meters, install_shadow_paths
_path_instructions = path_instructions
_service_steering, _service_twin, _security_blocks = (service_steering, service_twin,
                                                      security_blocks)
_mirror_session = mirror_session


def shadow_paths(config: Config, fabric: Fabric,
                 reuse: tuple[Config, ShadowPaths] | None = None) -> dict[str, Mapping[
                     tuple[str, str], PathPair]]:
    """Each shadow network's path pairs between its primary hosts' switches.

    The one place they are chosen: held capacity, installed shadow paths,
    moved clients, failover groups and preemptive routing all use these.
    `reuse` (another config over the same fabric, and its paths) keeps the
    paths of every network whose hosts sit on the same switches there (the
    paths depend on nothing else): a takeover or a reload changes a network
    or two, not the fabric's paths.
    """
    before: dict[str, Network] = {}
    if reuse is not None:
        before = {n.name: n for n in reuse[0].networks if n.name in reuse[1]}

    def kept(network: Network) -> bool:
        old = before.get(network.name)
        return old is not None and (old is network or {h.switch for h in old.hosts}
                                    == {h.switch for h in network.hosts})

    return {n.name: (reuse[1][n.name] if reuse is not None and kept(n)
                     else network_paths(fabric, {h.switch for h in n.hosts},
                                        network_salt(n.name)))
            for n in config.networks if n.shadow is not None}


def compile_config(config: Config, held: Mapping[str, float] | None = None,
                   shadow_path: frozenset[tuple[str, str]] = frozenset(),
                   failed: frozenset[Link] = frozenset(), *, fabric: Fabric | None = None,
                   paths: ShadowPaths | None = None,
                   twin_service: frozenset[tuple[str, str]] = frozenset(),
                   blocked: Mapping[tuple[str, str], SourceLimit | None] | None = None
                   ) -> dict[int, SwitchPlan]:
    """Every switch's desired flows, groups and meters for `config`.

    `held` is the capacity (bytes/s) each shadow network holds now; it only
    changes meter rates, never flows, so a new allocation is a meter modify.
    `shadow_path` holds the (network, host) clients whose traffic takes the shadow
    paths: a move changes only entries at the edges (see `routes.shadow_path_clients`).
    `failed` holds the fabric links the controller has failed over: traffic
    whose route crosses one is pinned to its shadow path (see `routes`).
    `twin_service` holds the (network, host) clients whose new connections to the
    service hosts go to their twins (see `services.service_steering`).
    `blocked` maps the (network, source IPv4 or MAC) pairs the response to
    an alert keeps out of the primary to None (dropped) or the meter they
    are held to (see `services.security_blocks`).
    A caller recompiling often passes the config's `fabric` and `shadow_paths`
    so they are not derived again each time.
    """
    with paused_gc():
        return _compile(config, held, shadow_path, failed, fabric, paths, twin_service, blocked)


def _compile(config: Config, held: Mapping[str, float] | None,
             shadow_path: frozenset[tuple[str, str]], failed: frozenset[Link],
             fabric: Fabric | None, paths: ShadowPaths | None,
             twin_service: frozenset[tuple[str, str]],
             blocked: Mapping[tuple[str, str], SourceLimit | None] | None
             ) -> dict[int, SwitchPlan]:
    fabric = fabric or Fabric(config)
    all_paths = shadow_paths(config, fabric) if paths is None else paths
    plans = {s.name: SwitchPlan(s.dpid, s.name) for s in config.switches}
    for plan in plans.values():
        table_misses(plan)
        if config.failover.probe_interval is not None:
            probe_answers(plan)
    best_effort_meters(plans, fabric, config, all_paths, held or {})
    for network in config.networks:
        net_paths = all_paths.get(network.name, {})
        forwarding(plans, fabric, network, net_paths, failed)
        arp_responders(plans, network)
        security_blocks(plans, network, {src: limit for (net, src), limit in
                                         (blocked or {}).items() if net == network.name})
        if network.shadow is not None:
            shadow_guard(plans, network)
            install_shadow_paths(plans, fabric, network, net_paths)
            shadow_path_clients(plans, fabric, network, net_paths,
                          {host for net, host in shadow_path if net == network.name}, failed)
            service_steering(plans, network,
                             {host for net, host in twin_service if net == network.name})
            for index, session in enumerate(network.shadow.mirror):
                mirror_session(plans, fabric, network, session, index)
    return {plan.dpid: plan for plan in plans.values()}
