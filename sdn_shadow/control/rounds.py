"""The order of the controller's periodic work, decided: forecast, allocate, preempt; what to log.

`forecast_round` takes a round's fitted forecasts into the core and returns,
in the order they must reach the switches, the allocation changes (each
switch's closed by a barrier, so the meters hold before any client moves onto
them) and the preemptive moves. The app sends them; nothing here does I/O.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sdn_shadow.openflow.messages import Barrier, Message

if TYPE_CHECKING:
    from sdn_shadow.core import ShadowCore
    from sdn_shadow.forecast.round import Fitted
    from sdn_shadow.policy.allocation import Allocation

Updates = dict[int, list[Message]]
PROFILE_SAVE = 60.0  # seconds between saves of the client profiles
LOGGED_EVENTS = ("alert", "alert_closed", "response")


@dataclass(frozen=True)
class ForecastRound:
    """What one forecast round decided, in sending order."""

    allocations: Mapping[str, Allocation]
    allocation_updates: Updates  # meters; each switch's list ends with a barrier
    moves: Updates  # preemptive routing, after the allocations
    save_profiles: bool  # the client profiles are due to be saved


def forecast_round(core: ShadowCore, started: float, fitted: Fitted,
                   profiles_saved: float | None) -> ForecastRound:
    """Take `fitted` into `core`, size the allocations, then decide the preemptive moves.

    `profiles_saved` is when the profiles were last saved (None: they are not kept).
    """
    allocations = dict(core.take_forecasts(started, fitted))
    updates = {dpid: [*msgs, Barrier()]
               for dpid, msgs in core.allocation_messages(started).items()}
    moves = core.preempt(started)
    save = profiles_saved is not None and started - profiles_saved >= PROFILE_SAVE
    return ForecastRound(allocations, updates, moves, save)


def allocation_lines(allocations: Mapping[str, Allocation]) -> list[str]:
    """A log line for each allocation the round changed."""
    return [f"allocation {name} ({a.strategy}): hold {a.held:.0f} B/s (forecast "
            f"{a.point:.0f}, upper {a.upper:.0f}){'' if a.install else ' [forecast_only]'}"
            for name, a in allocations.items() if a.changed]


def event_lines(events: Iterable[Mapping[str, Any]]) -> list[tuple[int, str]]:
    """(log level, line) for the events an operator must see in the log: alerts,
    closed alerts and automatic responses."""
    return [(logging.WARNING if e["kind"] == "alert" else logging.INFO,
             f"{e['kind'].replace('_', ' ')} {e['network']}: {e['reason']}")
            for e in events if e.get("kind") in LOGGED_EVENTS]

