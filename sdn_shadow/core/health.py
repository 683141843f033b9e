"""Health and failover: port liveness, BFD, host probes, and what their decisions change.

`Health` owns the liveness seen so far and the policy values (`HealthMachine`,
`ProbeCounter`); it turns observations into `policy.health` decisions and swaps
each step's new values in. `decided` turns decisions into
new intents and events (pure).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace

from sdn_shadow.config.model import Config, FailoverSettings
from sdn_shadow.core.model import Event, event, link_name
from sdn_shadow.intents import Client, Intents
from sdn_shadow.openflow.compiler import Link
from sdn_shadow.policy.health import Decision, HealthMachine, HealthPolicy, ProbeCounter
from sdn_shadow.probe import arp_probe, probe_answer

Port = tuple[int, int]
"""(dpid, port number)."""
ProbeTargets = dict[tuple[int, int, str, str], tuple[str, str, str]]
"""(dpid, port, MAC, IP) a probe goes to -> its subject ("host", network, host)."""


def fabric_index(config: Config) -> tuple[dict[Port, Link], dict[Link, list[Port]]]:
    """Each fabric port's link, and each link's ends, as (dpid, port)."""
    dpids = {s.name: s.dpid for s in config.switches}
    ports: dict[Port, Link] = {}
    for link in config.links:
        pair = frozenset((link.a.switch, link.b.switch))
        for end in (link.a, link.b):
            ports[(dpids[end.switch], end.port)] = pair
    ends: dict[Link, list[Port]] = {}
    for port, owner in ports.items():
        ends.setdefault(owner, []).append(port)
    return ports, ends


class Health:
    """Liveness of fabric ports and probed hosts, and the failover machines deciding on it."""

    def __init__(self, config: Config) -> None:
        fo = config.failover
        self.settings: FailoverSettings = fo
        self.machine = HealthMachine(HealthPolicy(fo.wait_to_restore, fo.hold))
        self.probes = ProbeCounter(fo.probe_misses)
        self.probed_at: float | None = None
        self.fabric_ports, self.link_ends = fabric_index(config)
        self.port_live: dict[Port, bool] = {}
        self.bfd_enabled: set[Port] = set()

    def reconfigure(self, config: Config,
                    index: tuple[dict[Port, Link], dict[Link, list[Port]]]) -> None:
        """Take a new configuration's failover settings and fabric `index` (`fabric_index`)."""
        fo = self.settings = config.failover
        self.fabric_ports, self.link_ends = index
        self.machine = self.machine.retuned(HealthPolicy(fo.wait_to_restore, fo.hold))
        if self.probes.misses != fo.probe_misses:
            self.probes = replace(self.probes, misses=fo.probe_misses)

    def ports_seen(self, now: float, dpid: int, live: Mapping[int, bool],
                   source: str) -> list[Decision]:
        """Ports' liveness; a link is up when every end seen so far is live."""
        seen = []
        for port, up in live.items():
            self.port_live[(dpid, port)] = up
            link = self.fabric_ports.get((dpid, port))
            if link is not None:
                link_up = all(self.port_live.get(end, True) for end in self.link_ends[link])
                seen.append((link, link_up, source))
        self.machine, decisions = self.machine.observe_all(now, seen)
        return decisions

    def bfd_to_enable(self, now: float, dpid: int, names: Mapping[int, str]) -> list[str]:
        """Interfaces to turn BFD on for, each fabric port once (empty unless failover.bfd);
        their links' flaps are ignored for `bfd_grace` seconds."""
        fo = self.settings
        if not fo.bfd:
            return []
        todo = [port for port in sorted(names) if (dpid, port) in self.fabric_ports
                and (dpid, port) not in self.bfd_enabled]
        for port in todo:
            self.bfd_enabled.add((dpid, port))
            self.machine = self.machine.ignore_until(self.fabric_ports[(dpid, port)],
                                                     now + fo.bfd_grace)
        return [names[port] for port in todo]

    def due(self, now: float) -> list[Decision]:
        """Hosts whose probes went unanswered, then failbacks that have become due."""
        decisions: list[Decision] = []
        interval = self.settings.probe_interval
        if interval is not None:
            self.probes, seen = self.probes.expired(now, interval)
            self.machine, decisions = self.machine.observe_all(
                now, [(subject, up, "probe") for subject, up in seen])
        self.machine, due = self.machine.tick(now)
        return decisions + due

    def probes_due(self, now: float, targets: ProbeTargets,
                   synced: Callable[[int], bool]) -> list[tuple[int, int, bytes]]:
        """(dpid, port, frame) of this round's probes, every `probe_interval` seconds, only
        to synced switches."""
        interval = self.settings.probe_interval
        if interval is None or (self.probed_at is not None and now - self.probed_at < interval):
            return []
        self.probed_at = now
        out, sent = [], []
        for (dpid, port, mac, ip), subject in targets.items():
            if synced(dpid):
                sent.append(subject)
                out.append((dpid, port, arp_probe(mac, ip)))
        self.probes = self.probes.sent_all(now, sent)
        return out

    def probe_answered(self, now: float, dpid: int, port: int, frame: bytes,
                       targets: ProbeTargets) -> list[Decision]:
        """A frame from the probe-answer flow: decisions if it answers one of `targets`."""
        answer = probe_answer(frame)
        if answer is None:
            return []
        subject = targets.get((dpid, port, *answer))
        if subject is None:
            return []
        self.probes, seen = self.probes.answered(now, subject)
        self.machine, decisions = self.machine.observe_all(
            now, [(who, up, "probe") for who, up in seen])
        return decisions


def decided(intents: Intents, decisions: list[Decision], standable: Mapping[Client, str],
            role_swap: bool) -> tuple[Intents, list[Event]]:
    """Intents after health `decisions` (failed links, takeovers, role swaps) and their events.

    A taken-over host healthy again swaps roles with its twin under
    `failover.role_swap` instead of taking its traffic back.
    """
    failed, taken, swaps = set(intents.failed_links), set(intents.taken_over), set(
        intents.roles_swapped)
    events: list[Event] = []
    for d in decisions:
        add = d.kind == "failover"
        if isinstance(d.subject, tuple) and d.subject[:1] == ("host",):
            _, net, name = d.subject
            client = (net, name)
            if not add and client in taken and role_swap:
                taken.discard(client)
                swaps ^= {client}
                events.append(event(
                    d.at, "role_swap", network=net, host=name, source=d.source,
                    reason=f"{name} healthy again ({d.reason}); its twin {standable[client]} "
                           "keeps serving as the primary and the recovered host stands by as "
                           "the twin (failover.role_swap)"))
                continue
            (taken.add if add else taken.discard)(client)
            events.append(event(d.at, "takeover" if add else "restore", network=net, host=name,
                                reason=d.reason, source=d.source))
            continue
        assert isinstance(d.subject, frozenset)
        (failed.add if add else failed.discard)(d.subject)
        events.append(event(d.at, "failover" if add else "failback",
                            link=link_name(d.subject), reason=d.reason, source=d.source))
    return replace(intents, failed_links=frozenset(failed), taken_over=frozenset(taken),
                   roles_swapped=frozenset(swaps)), events
