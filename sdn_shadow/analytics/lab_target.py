"""What the lab commands (`replay`, `capture`, `synth`) look up first: a network, a shadow
host, and the interface of the switch port that shadow host hangs off."""

from __future__ import annotations

from sdn_shadow.config import ConfigError, load_config
from sdn_shadow.config.model import Config, Network, ShadowHost
from sdn_shadow.usage import UsageError


def lab_network(config_path: str, name: str) -> tuple[Config, Network]:
    """The config at `config_path` and its network `name` (UsageError saying what is wrong)."""
    try:
        config = load_config(config_path)
    except ConfigError as problem:
        raise UsageError("; ".join(problem.lines())) from None
    net = next((n for n in config.networks if n.name == name), None)
    if net is None:
        raise UsageError(f"--network {name}: not in {config_path} (have: "
                         f"{', '.join(n.name for n in config.networks)})")
    return config, net


def shadow_host(net: Network, name: str | None) -> ShadowHost:
    """Shadow host `name` of `net` (None: its first one); UsageError if there is none."""
    twins = list(net.shadow.hosts) if net.shadow is not None else []
    twin = next((t for t in twins if t.name == name or name is None), None)
    if twin is None:
        raise UsageError(f"--to {name}: not a shadow host of {net.name} (have: "
                         f"{', '.join(t.name for t in twins) or 'none'})")
    return twin


def switch_interface(config: Config, twin: ShadowHost) -> str:
    """The interface of `twin`'s switch port, from ovsdb (UsageError if it is not here)."""
    from sdn_shadow import ovsdb

    dpid = next(s.dpid for s in config.switches if s.name == twin.switch)
    try:
        return ovsdb.port_interface(dpid, twin.port)
    except ovsdb.OvsdbError as err:
        raise UsageError(f"{twin.name}'s port {twin.switch}:{twin.port}: {err}") from None
