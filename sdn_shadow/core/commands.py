"""What the API may ask of a core: queries that return values, commands that return changes.

The API service holds a `CoreCommands`, never the core's attributes: each
query returns a copy or an immutable value, each command returns the
messages per switch its decision makes (and records its events).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sdn_shadow.config.model import Config
from sdn_shadow.core import readout
from sdn_shadow.core.model import MirrorCounters, Updates, event, merge
from sdn_shadow.policy.allocation import Allocation
from sdn_shadow.telemetry.profiles import ClientProfile

if TYPE_CHECKING:
    from sdn_shadow.core.shadow import ShadowCore


@dataclass(frozen=True)
class ClientState:
    """A client's policy now: path, service, who serves its host, whether roles swapped."""

    path: str
    service: str
    served_by: str
    role_swapped: bool

    def to_dict(self) -> dict[str, Any]:
        """As the API shows it."""
        return {"path": self.path, "service": self.service, "served_by": self.served_by,
                "role_swapped": self.role_swapped}


class CoreCommands:
    """The API's one way into a `ShadowCore` (call under the controller's lock)."""

    def __init__(self, core: ShadowCore) -> None:
        self._core = core

    # --- queries -------------------------------------------------------------------
    def config(self) -> Config:
        """The running configuration (an immutable value)."""
        return self._core.config

    def switch_counts(self) -> dict[str, int]:
        """How many switches are configured, connected and synced."""
        states = list(self._core.switches.values())
        return {"switches": len(states), "connected": sum(s.connected for s in states),
                "synced": sum(s.synced for s in states)}

    def switch_names(self, dpids: Mapping[int, str]) -> str:
        """`name: why; ...` for each of `dpids` (-> why), the dpid when not configured."""
        switches = self._core.switches
        return "; ".join(f"{switches[d].name if d in switches else d}: {why}"
                         for d, why in sorted(dpids.items()))

    def client(self, network: str, host: str) -> ClientState:
        """Client (network, host)'s policy now."""
        core, key = self._core, (network, host)
        return ClientState("shadow" if key in core.intents.shadow_path else "primary",
                           "twin" if key in core.intents.twin_service else "primary",
                           "twin" if key in core.served else "itself",
                           key in core.intents.roles_swapped)

    def shadow_active(self, network: str) -> bool:
        """Whether `network`'s shadow is active (by configuration or decision)."""
        return network in self._core.active_networks()

    def activated(self, network: str) -> bool:
        """Whether `network`'s shadow is active by decision (not by configuration)."""
        return network in self._core.intents.shadow_active

    def roles_swapped(self, network: str) -> bool:
        """Whether any host of `network` has its twin as the primary now."""
        return any(n == network for n, _ in self._core.intents.roles_swapped)

    def shadow_use(self, network: str) -> list[str]:
        """What of `network` runs on its shadow now, a line per kind (empty: nothing)."""
        core, intents = self._core, self._core.intents
        parts = []
        for label, keys in (("shadow path", intents.shadow_path),
                            ("twin service", intents.twin_service),
                            ("served by twins", core.served),
                            ("roles swapped", intents.roles_swapped)):
            hosts = sorted(h for n, h in keys if n == network)
            if hosts:
                parts.append(f"{label}: {', '.join(hosts)}")
        if network in core.active_networks():
            parts.append("shadow active")
        return parts

    def allocation(self, network: str) -> Allocation | None:
        """`network`'s shadow allocation now (None before the first forecast)."""
        return self._core.capacity.allocations.get(network)

    def mirror_counters(self, only: Iterable[str] | None = None) -> dict[str, MirrorCounters]:
        """Each mirror session's counters, summed over switches (`only`: just these
        sessions of the configuration)."""
        return self._core.mirror_counters(only)

    def events(self, since: int, limit: int) -> dict[str, Any]:
        """Events from cursor `since`, at most `limit`; `next` is the next cursor."""
        return readout.events_page(self._core.events, since, limit)

    def alerts(self) -> list[dict[str, object]]:
        """The watch's alerts, newest first."""
        return [a.to_dict() for a in reversed(self._core.watch.alerts)]

    def blocks(self) -> list[dict[str, object]]:
        """Sources the response keeps out of primary networks now, and until when."""
        return [b.to_dict() for b in self._core.watch.responder.blocks.values()]

    def blocked(self, network: str, source: str) -> bool:
        """Whether `source` (an IPv4 or MAC address) is blocked in `network`."""
        return (network, source.lower()) in self._core.watch.blocked()

    def forecasts(self) -> dict[str, Any]:
        """Each series' latest forecast and interval (bytes/s) and the model behind it."""
        return readout.forecasts(self._core)

    def routing(self) -> dict[str, Any]:
        """Failed links, moved, steered and taken-over clients, scaling requests, health."""
        return dict(readout.status(self._core)["routing"])

    def profiles(self) -> dict[str, ClientProfile]:
        """Each client's learned profile."""
        return self._core.profiles.profiles()

    def fabric(self, now: float) -> dict[str, Any]:
        """Switches and links now and the events cursor (see `core.readout.fabric_state`)."""
        return readout.fabric_state(self._core, now)

    def paths(self, network: str, src: str, dst: str) -> dict[str, Any]:
        """Primary and shadow paths from host `src` to host `dst` of `network` now and
        which one traffic takes (see `core.readout.client_paths`; ValueError: unknown)."""
        net = next((n for n in self._core.config.networks if n.name == network), None)
        if net is None or net.shadow is None:
            raise ValueError(f"{network}: no such network with a shadow")
        return readout.client_paths(self._core, net, src, dst)

    # --- commands ------------------------------------------------------------------
    def set_client(self, now: float, network: str, host: str, path: str | None,
                   service: str | None, reason: str) -> Updates:
        """Set a client's path and/or service (None: leave it); the changes per switch."""
        updates: Updates = {}
        if path is not None:
            merge(updates, self._core.set_client_path(now, network, host, path, reason))
        if service is not None:
            merge(updates, self._core.set_client_service(now, network, host, service, reason))
        return updates

    def set_shadow_active(self, now: float, network: str, active: bool, reason: str
                          ) -> Updates:
        """Activate or deactivate `network`'s shadow (ValueError if it cannot be)."""
        return self._core.set_shadow_active(now, network, active, reason)

    def swap_roles(self, now: float, network: str, reason: str) -> Updates:
        """Swap every host of `network` with its twin, or back (ValueError if none can)."""
        return self._core.swap_roles(now, network, reason)

    def reload(self, now: float, config: Config, reason: str | None = None) -> Updates:
        """Take `config` live (ReloadRefused if it cannot be); `reason` leads its event's."""
        return self._core.reload(now, config, reason=reason)

    def lift_block(self, now: float, network: str, source: str, by: str) -> Updates:
        """Lift a block before its TTL (ValueError if there is none)."""
        return self._core.lift_block(now, network, source, by)

    def undone(self, now: float, refused: Mapping[int, str]) -> None:
        """Record that a change the switches in `refused` (-> why) refused was undone."""
        self._core.events.append(event(now, "config", result="undone",
                                       reason=f"refused by {self.switch_names(refused)}"))

    def unsaved(self, now: float, why: str) -> None:
        """Record that an applied change was undone because the API store could not keep it."""
        self._core.events.append(event(now, "config", result="undone",
                                       reason=f"not saved: {why}"))
