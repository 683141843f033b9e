"""The automated response to alerts: which sources to block in the primary, and until when.

Decisions take `now` and return events; the block list they keep is what the
compiler turns into drop flows, or meters for `action: meter`
(`openflow.compiler._security_blocks`). A
block ends when the core's clock passes its TTL, not by an OpenFlow
timeout: reconciliation owns every flow, and a flow the switch dropped on
its own would look missing to it.

Never blocked: a protected host (by name: its IP and MAC, and its twins'),
a protected address, network or MAC, and anything that is not one unicast
IPv4 address or MAC (broadcast, multicast, unspecified).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, replace

from sdn_shadow.analytics.alerts import Alert
from sdn_shadow.config.model import Network, ResponseSettings

_MAC_LEN = 17
METER_SLOTS = 4096  # metered sources at once, over all networks (each needs a meter id)

#: An event for the core's log: JSON-able, with at least "t", "kind" and "reason".
Event = dict[str, object]


@dataclass(frozen=True, slots=True)
class Block:
    """One source kept out of (or metered into) a primary network from `since` until `until`.

    A metered block holds `slot`, which no other live block holds: the
    compiler makes it the source's meter id (`compiler.SourceLimit`).
    """

    network: str
    source: str  # an IPv4 address, or a MAC (lower case, colons)
    alert: int
    kind: str
    since: float
    until: float
    meter_kbps: int | None = None  # None: dropped
    slot: int | None = None

    def to_dict(self) -> dict[str, object]:
        """JSON form."""
        return {"network": self.network, "source": self.source, "alert": self.alert,
                "kind": self.kind, "since": self.since, "until": self.until,
                "action": "drop" if self.meter_kbps is None else "meter",
                "meter_mbps": None if self.meter_kbps is None else self.meter_kbps / 1000}


class Protection:
    """The addresses a network's response settings never block."""

    def __init__(self, network: Network, settings: ResponseSettings) -> None:
        self.addresses: set[str] = set()
        self.networks: list[ipaddress.IPv4Network] = []
        twins = network.shadow.hosts if network.shadow is not None else ()
        for item in settings.protected:
            # a host by name protects its twins too, and a twin its primary host
            pair = [t for t in twins if item in (t.name, t.primary)]
            hosts = [h for h in network.hosts if h.name == item or h.name in
                     {t.primary for t in pair}] + pair
            if hosts:
                self.addresses |= {str(h.ip) for h in hosts} | {h.mac.lower() for h in hosts}
            elif len(item) == _MAC_LEN and item.count(":") == 5:
                self.addresses.add(item.lower())
            else:
                self.networks.append(ipaddress.IPv4Network(item, strict=False))

    def covers(self, source: str) -> bool:
        """Whether `source` is protected."""
        if source in self.addresses:
            return True
        try:
            ip = ipaddress.IPv4Address(source)
        except ValueError:
            return False
        return any(ip in net for net in self.networks)


def blockable(source: str) -> bool:
    """Whether `source` is one unicast IPv4 address or unicast MAC (what a drop flow can name)."""
    if len(source) == _MAC_LEN and source.count(":") == 5:
        try:
            first = int(source[:2], 16)
        except ValueError:
            return False
        return not first & 1 and source != "00:00:00:00:00:00"
    try:
        ip = ipaddress.IPv4Address(source)
    except ValueError:
        return False
    return not (ip.is_multicast or ip.is_unspecified or ip == ipaddress.IPv4Address(
        "255.255.255.255") or ip.is_loopback)


class Responder:
    """Blocks decided from alerts and lifted after their TTL; dry-run only says what it would do."""

    def __init__(self) -> None:
        self.blocks: dict[tuple[str, str], Block] = {}

    def respond(self, now: float, network: Network, settings: ResponseSettings, alert_id: int,
                alert: Alert) -> tuple[list[Event], bool]:
        """Events for a newly raised alert, and whether the block list changed."""
        if settings.mode == "off" or alert.kind not in settings.kinds:
            return [], False
        protection = Protection(network, settings)
        events: list[Event] = []
        changed = False
        live = settings.mode == "live"
        for source, _ in alert.sources.most_common(settings.max_sources):
            source = source.lower()
            base: Event = {"t": now, "kind": "response", "network": network.name,
                           "source": source, "alert": alert_id, "mode": settings.mode}
            if protection.covers(source):
                events.append({**base, "action": "spared", "reason":
                               f"{source} is protected: not blocked for {alert.kind}"})
                continue
            if not blockable(source):
                events.append({**base, "action": "spared", "reason":
                               f"{source} is not one unicast address: not blocked"})
                continue
            metered = settings.action == "meter"
            if not live:
                how = (f"meter {source} to {settings.meter_mbps:g} Mbit/s" if metered
                       else f"block {source}")
                events.append({**base, "action": "would-block", "ttl": settings.ttl, "reason":
                               f"dry-run: would {how} in {network.name} for "
                               f"{settings.ttl:g} s ({alert.kind})"})
                continue
            key = (network.name, source)
            old = self.blocks.get(key)
            until = now + settings.ttl
            if old is not None:  # extended as it is: the same drop or meter
                block = replace(old, alert=alert_id, until=max(until, old.until))
                done = f"still {'metering' if old.meter_kbps else 'blocking'} {source}"
            else:
                slot = self._free_slot() if metered else None
                kbps = max(1, round(settings.meter_mbps * 1000)) if slot is not None else None
                block = Block(network.name, source, alert_id, alert.kind, now, until, kbps,
                              slot)
                if kbps is not None:
                    done = f"metered {source} to {settings.meter_mbps:g} Mbit/s"
                elif metered:
                    done = f"blocked {source} (no meter left: {METER_SLOTS} in use)"
                else:
                    done = f"blocked {source}"
            self.blocks[key] = block
            changed |= old is None
            detail = block.to_dict()
            events.append({**base, "action": "block", "ttl": settings.ttl,
                           "how": detail["action"], "meter_mbps": detail["meter_mbps"],
                           "reason": f"{done} in {network.name} for {settings.ttl:g} s "
                                     f"({alert.kind})"})
        return events, changed

    def _free_slot(self) -> int | None:
        """The lowest meter slot no live block holds (None: all taken)."""
        taken = {b.slot for b in self.blocks.values() if b.slot is not None}
        return next((i for i in range(METER_SLOTS) if i not in taken), None)

    def expire(self, now: float) -> tuple[list[Event], bool]:
        """Lift the blocks whose TTL has passed; their events and whether any was lifted."""
        due = [key for key, block in self.blocks.items() if block.until <= now]
        events: list[Event] = []
        for key in due:
            block = self.blocks.pop(key)
            events.append({"t": now, "kind": "response", "action": "unblock",
                           "network": block.network, "source": block.source,
                           "alert": block.alert, "reason": f"lifted the block of "
                           f"{block.source} in {block.network} after "
                           f"{block.until - block.since:g} s"})
        return events, bool(due)

    def lift(self, now: float, network: str, source: str, by: str) -> Event | None:
        """Lift one block before its TTL (an operator's call); its event, None if not blocked."""
        block = self.blocks.pop((network, source.lower()), None)
        if block is None:
            return None
        return {"t": now, "kind": "response", "action": "unblock", "network": network,
                "source": block.source, "alert": block.alert,
                "reason": f"{by} lifted the block of {block.source} in {network}"}

    def keep_networks(self, networks: set[str]) -> None:
        """Forget the blocks of networks that are gone (or lost their response)."""
        self.blocks = {k: b for k, b in self.blocks.items() if k[0] in networks}

    def blocked(self) -> dict[tuple[str, str], Block]:
        """The blocks in force, by (network, source)."""
        return dict(self.blocks)
