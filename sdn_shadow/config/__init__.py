"""Configuration: frozen model objects, validated from YAML by `parse_config`/`load_config`."""

from .model import (
    DIRECTIONS,
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
