"""The core: switch events in, OpenFlow messages out; no OS-Ken imports, no I/O.

`ShadowCore` composes the subsystems (see `core.shadow`); the names callers
import from `sdn_shadow.core` are re-exported here.
"""

from sdn_shadow.core.capacity import FORECAST_SERIES, allocation_policy
from sdn_shadow.core.commands import ClientState, CoreCommands
from sdn_shadow.core.model import (
    Event,
    EventKind,
    FlowKey,
    GroupCounters,
    InstalledFlow,
    MirrorCounters,
    ReloadRefused,
    SwitchState,
    UnknownSwitch,
    Updates,
    link_name,
)
from sdn_shadow.core.shadow import ShadowCore
from sdn_shadow.core.watch import source_limits
from sdn_shadow.forecast.round import SeriesForecastView

__all__ = [
    "FORECAST_SERIES",
    "ClientState",
    "CoreCommands",
    "Event",
    "EventKind",
    "FlowKey",
    "GroupCounters",
    "InstalledFlow",
    "MirrorCounters",
    "ReloadRefused",
    "SeriesForecastView",
    "ShadowCore",
    "SwitchState",
    "UnknownSwitch",
    "Updates",
    "allocation_policy",
    "link_name",
    "source_limits",
]
