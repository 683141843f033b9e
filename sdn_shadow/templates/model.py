"""Frozen placement-template objects: built only by `parse.py`, which validates.

A `Template` says how to build one network (shadow or not, replication
fidelity, allocation, scaling rules, VM types); an `Instance` says where one
copy of it goes (network name, address space, host attachments and twin
placements). `render.render(template, instance)` turns the two into the
`networks.NAME` document of a configuration file.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

from sdn_shadow.config import AllocationSettings, ConfigError
from sdn_shadow.config.model import shorten

if TYPE_CHECKING:  # scikit-learn is imported only when a capture is profiled
    from sdn_shadow.analytics.emulated_vm import ResourceProfile

FIDELITIES = ("full", "differential", "event")
"""Replication fidelity: which mirror sessions (and LDAP mirroring) the shadow gets."""
RESOURCES = ("cpu", "memory", "network")
"""Scaling rules, by resource; each is judged on one field of a VM type and a profile."""
RESOURCE_FIELDS = {"cpu": "cpu_cores", "memory": "memory_gb", "network": "bandwidth_mbps"}
"""The VmType / ResourceProfile field each scaling resource reads."""
NETWORK_PLACEHOLDER = "{network}"
"""Replaced by the instance's network name in the template's `ldap` strings."""


class TemplateError(ConfigError):
    """Problems in a template, an instance or the configuration they produce.

    Each problem is `(source, key path, reason)`; `source` says which document
    the path is in (a file name, or "template", "instance", "config").
    `problems` keeps ConfigError's `(key path, reason)` pairs.
    """

    def __init__(self, entries: list[tuple[str, str, str]]) -> None:
        self.entries = [(source, shorten(path), shorten(reason))
                        for source, path, reason in entries]
        super().__init__([(path, reason) for _, path, reason in entries])

    def lines(self) -> list[str]:
        """`SOURCE: path: reason` for every problem (no `SOURCE: ` when unknown)."""
        return [f"{source}: {path}: {reason}" if source else f"{path}: {reason}"
                for source, path, reason in self.entries]


@dataclass(frozen=True, slots=True)
class Sources:
    """What to call each document in problem lines (file names in the CLI)."""

    template: str = "template"
    instance: str = "instance"
    config: str = "config"


@dataclass(frozen=True, slots=True)
class ScaleRule:
    """Scale out when a resource stays above `above` x capacity for `for_seconds`.

    `below` (optional, < above): scale in when it stays below `below` x capacity.
    """

    above: float
    for_seconds: float
    below: float | None = None

    def to_dict(self) -> dict[str, float]:
        """As written in a template: {above, for[, below]}."""
        out = {"above": self.above, "for": self.for_seconds}
        if self.below is not None:
            out["below"] = self.below
        return out


@dataclass(frozen=True, slots=True)
class Scaling:
    """Scaling rules per resource; a resource without one is judged at full capacity."""

    cpu: ScaleRule | None = None
    memory: ScaleRule | None = None
    network: ScaleRule | None = None

    def rule(self, resource: str) -> ScaleRule | None:
        """The rule of `resource` (one of RESOURCES), or None."""
        return getattr(self, resource)

    def to_dict(self) -> dict[str, dict[str, float]]:
        """The rules that are set, as written in a template."""
        return {r: rule.to_dict() for r in RESOURCES if (rule := self.rule(r)) is not None}


@dataclass(frozen=True, slots=True)
class VmType:
    """What one VM of a type has: cores, GB of memory, Mbit/s, GB of disk (0: not sized)."""

    name: str
    cpu_cores: float
    memory_gb: float
    bandwidth_mbps: float
    storage_gb: float = 0.0

    def to_dict(self) -> dict[str, float]:
        """The capacities, by field name."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "name"}


@dataclass(frozen=True, slots=True)
class Differential:
    """Mirror options of fidelity `differential`: 1-in-N sampling or truncated copies."""

    sample: float = 0.25
    truncate: int | None = None


@dataclass(frozen=True, slots=True)
class LdapTemplate:
    """A shadow's `ldap` block; `{network}` in any string becomes the network's name."""

    url: str
    bind_dn: str
    password_file: str
    primary_base: str
    shadow_base: str
    interval: float | None = None
    revert_drift: bool | None = None
    rules: tuple[tuple[str, str], ...] = ()
    """(`map` | `map_regex`, text), in order."""

    def document(self, network: str) -> dict[str, Any]:
        """The `shadow.ldap` mapping for `network`, placeholders filled in."""

        def fill(text: str) -> str:
            return text.replace(NETWORK_PLACEHOLDER, network)

        out: dict[str, Any] = {key: fill(getattr(self, key)) for key in (
            "url", "bind_dn", "password_file", "primary_base", "shadow_base")}
        if self.interval is not None:
            out["interval"] = self.interval
        if self.revert_drift is not None:
            out["revert_drift"] = self.revert_drift
        if self.rules:
            out["rules"] = [{key: fill(text)} for key, text in self.rules]
        return out


@dataclass(frozen=True, slots=True)
class Template:
    """A validated placement template."""

    name: str
    vm_types: tuple[VmType, ...]
    description: str = ""
    shadow_enabled: bool = True
    fidelity: str = "full"
    differential: Differential = Differential()
    allocation: AllocationSettings | None = None
    """The shadow's `allocation` (None: the config's defaults, key left out)."""
    scaling: Scaling = Scaling()
    ldap: LdapTemplate | None = None

    def vm_type(self, name: str) -> VmType:
        """The VM type called `name`."""
        return next(t for t in self.vm_types if t.name == name)


@dataclass(frozen=True, slots=True)
class TwinPlacement:
    """Where a host's twin plugs in; same IP, and same MAC unless `mac` is given."""

    name: str
    switch: str
    port: int
    mac: str | None = None


@dataclass(frozen=True, slots=True)
class HostPlacement:
    """One primary host of an instance; values are checked by the config parser."""

    name: str
    switch: str
    port: int
    mac: str
    ip: str
    vm_type: str
    twin: TwinPlacement | None = None
    capture_ip: str | None = None
    """The address this host's traffic has in a capture used for profiles (default: ip)."""


@dataclass(frozen=True, slots=True)
class Instance:
    """Where one copy of a template goes: a network name, its address space, its hosts."""

    network: str
    cidr: str
    hosts: tuple[HostPlacement, ...]

    def host(self, name: str) -> HostPlacement:
        """The host called `name`."""
        return next(h for h in self.hosts if h.name == name)


@dataclass(frozen=True, slots=True)
class HostProfile:
    """A host's VM type and scaling rules, its predicted load if known, and the verdict."""

    host: str
    vm_type: VmType
    scaling: Scaling
    address: str | None = None
    """The capture address the prediction is for (None: no capture)."""
    predicted: ResourceProfile | None = None
    verdict: str = ""
    """"fits", "scale out: ...", why there is no prediction, or "" without a capture."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-able."""
        return {"host": self.host, "vm_type": self.vm_type.name,
                "capacity": self.vm_type.to_dict(), "scaling": self.scaling.to_dict(),
                "address": self.address,
                "predicted": None if self.predicted is None else self.predicted.to_dict(),
                "verdict": self.verdict}
