"""Configuration: frozen model objects, validated from YAML by `parse_config`/`load_config`."""

from .model import (
    DIRECTIONS,
    STRATEGIES,
    AllocationSettings,
    Config,
    ConfigError,
    ControllerSettings,
    ForecastSettings,
    Host,
    Link,
    MatchFilter,
    MirrorSession,
    Network,
    PortRef,
    Shadow,
    ShadowHost,
    Switch,
    TelemetrySettings,
)
from .parse import load_config, parse_config

__all__ = [
    "DIRECTIONS",
    "STRATEGIES",
    "AllocationSettings",
    "Config",
    "ConfigError",
    "ControllerSettings",
    "ForecastSettings",
    "Host",
    "Link",
    "MatchFilter",
    "MirrorSession",
    "Network",
    "PortRef",
    "Shadow",
    "ShadowHost",
    "Switch",
    "TelemetrySettings",
    "load_config",
    "parse_config",
]
