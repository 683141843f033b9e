"""Switch counters -> demand series: per port, client, virtual network and link (pure).

Series keys are strings with `:`-separated parts, values are bytes/s:

- `port:<switch>:<port>:rx|tx` from port stats;
- `link:<src>:<dst>` the bytes/s src sends on its port towards dst;
- `client:<network>:<host>:tx|rx` from the host's own flows: the ingress
  classifier counts what it sends, the local forward entry what it receives;
- `network:<network>:tx` the sum of its clients' tx (what enters the network).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from sdn_shadow.config.model import Config
from sdn_shadow.openflow.compiler import SwitchPlan
from sdn_shadow.telemetry.decode import FlowStats, PortStats
from sdn_shadow.telemetry.rates import RateTracker
from sdn_shadow.topology import Fabric


def client_key(network: str, host: str, direction: str) -> str:
    """Series key of a client's demand."""
    return f"client:{network}:{host}:{direction}"


def network_key(network: str) -> str:
    """Series key of a network's total demand (its clients' tx)."""
    return f"network:{network}:tx"


def switch_clock(seconds: np.ndarray, nanoseconds: np.ndarray) -> np.ndarray:
    """Durations (how long each flow or port has existed, by the switch) in seconds: the
    switch's own clock for rates, which the controller's scheduling cannot skew."""
    return np.asarray(seconds, dtype=np.float64) + np.asarray(nanoseconds, dtype=np.float64) * 1e-9


class Demand:
    """Rates from port and flow stats of every switch, and the latest value of each series."""

    def __init__(self, config: Config, plans: dict[int, SwitchPlan],
                 expire_after: float = 60.0) -> None:
        fabric = Fabric(config)
        self.names = {plan.dpid: plan.name for plan in plans.values()}
        self.links: dict[tuple[int, int], str] = {}
        for dpid, name in self.names.items():
            for neighbour in fabric.graph[name]:
                self.links[(dpid, fabric.port_towards(name, neighbour))] = \
                    f"link:{name}:{neighbour}"
        self.track(plans)
        self.networks = {
            network_key(n.name): [client_key(n.name, h.name, "tx") for h in n.hosts]
            for n in config.networks
        }
        self.ports = RateTracker(expire_after=expire_after)
        self.flows = RateTracker(expire_after=expire_after)
        self.latest: dict[str, float] = {}

    def track(self, plans: dict[int, SwitchPlan]) -> None:
        """Which flow (by cookie) counts which client's traffic, from the plans in force."""
        self.clients = {
            dpid: {cookie: client_key(*owner) for cookie, owner in plan.demand.items()}
            for dpid, plan in plans.items()
        }

    def port_stats(self, now: float, dpid: int, stats: PortStats) -> dict[str, float]:
        """New port and link rates of switch `dpid` (bytes/s), by series key."""
        name = self.names[dpid]
        ports = [int(p) for p in stats.port_no]
        at = switch_clock(stats.duration_sec, stats.duration_nsec)
        rx = self.ports.update(now, [(dpid, p, "rx") for p in ports], stats.rx_bytes,
                               stats.rx_packets, at=at)
        tx = self.ports.update(now, [(dpid, p, "tx") for p in ports], stats.tx_bytes,
                               stats.tx_packets, at=at)
        out: dict[str, float] = {}
        for port, rx_rate, tx_rate in zip(ports, rx.bytes_per_s, tx.bytes_per_s, strict=True):
            if not np.isnan(rx_rate):
                out[f"port:{name}:{port}:rx"] = float(rx_rate)
            if not np.isnan(tx_rate):
                out[f"port:{name}:{port}:tx"] = float(tx_rate)
                link = self.links.get((dpid, port))
                if link is not None:
                    out[link] = float(tx_rate)
        self.latest.update(out)
        return out

    def flow_stats(self, now: float, dpid: int, stats: FlowStats) -> dict[str, float]:
        """New client rates from switch `dpid`'s flows, and the network sums they change."""
        owners = self.clients.get(dpid, {})
        cookies = [int(c) for c in stats.cookie]
        picked = [i for i, c in enumerate(cookies) if c in owners]
        if not picked:
            return {}
        idx = np.asarray(picked, dtype=np.int64)
        rates = self.flows.update(now, [(dpid, cookies[i]) for i in picked],
                                  stats.byte_count[idx], stats.packet_count[idx],
                                  at=switch_clock(stats.duration_sec[idx],
                                                  stats.duration_nsec[idx]))
        out = {owners[cookies[i]]: float(r)
               for i, r in zip(picked, rates.bytes_per_s, strict=True) if not np.isnan(r)}
        self.latest.update(out)
        for net, members in self.networks.items():
            if any(m in out for m in members):
                values = [self.latest[m] for m in members if m in self.latest]
                out[net] = self.latest[net] = float(sum(values))
        return out

    def switch_reconnected(self, dpid: int) -> None:
        """Counters of `dpid` restart: its next samples are baselines, not rates."""
        self.ports.forget_if(lambda key: key[0] == dpid)
        self.flows.forget_if(lambda key: key[0] == dpid)

    def keys(self) -> Iterable[str]:
        """Every series with a value so far."""
        return self.latest.keys()
