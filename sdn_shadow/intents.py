"""Intents: everything decided at run time, as one immutable value changed by pure functions.

The operator (API), the policies (preemptive routing, failover, takeover,
the watch's response) and the configuration all produce intents; the core
plans from them. A change is new intents, then a plan, then a diff, then
messages; undo is applying the previous intents again.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import TypeVar

from sdn_shadow.openflow.compiler import Link, SourceLimit

Client = tuple[str, str]
"""(network, primary host)."""

Blocks = Mapping[tuple[str, str], SourceLimit | None]
"""(network, source IPv4 or MAC) -> None (dropped) or the meter the source is held to."""

K = TypeVar("K")

CLIENT_PATHS = ("primary", "shadow")
CLIENT_SERVICES = ("primary", "twin")
SERVED_BY = ("primary", "twin")


def _frozen_blocks(blocks: Blocks) -> Blocks:
    """A read-only copy of `blocks`, so intents never share mutable state."""
    return MappingProxyType(dict(blocks))


@dataclass(frozen=True)
class Intents:
    """Where traffic goes now, beyond what the configuration alone says.

    `shadow_path`: clients whose traffic takes the shadow paths (`clients.<host>.path`);
    `twin_service`: clients whose new connections go to the service hosts' twins
    (`clients.<host>.service`); `failed_links`: fabric links failed over;
    `taken_over`: primary hosts their twins serve; `roles_swapped`: hosts whose
    twin is the primary now; `shadow_active`: networks whose shadow serves by an
    operator's or a policy's decision (the configuration's `shadow.active` adds
    to it); `blocks`: sources the response keeps out of the primary.
    """

    shadow_path: frozenset[Client] = frozenset()
    twin_service: frozenset[Client] = frozenset()
    failed_links: frozenset[Link] = frozenset()
    taken_over: frozenset[Client] = frozenset()
    roles_swapped: frozenset[Client] = frozenset()
    shadow_active: frozenset[str] = frozenset()
    blocks: Blocks = field(default_factory=lambda: MappingProxyType({}))

    def __post_init__(self) -> None:
        if not isinstance(self.blocks, MappingProxyType):
            object.__setattr__(self, "blocks", _frozen_blocks(self.blocks))

    def with_client_path(self, client: Client, path: str) -> Intents:
        """`client` on the shadow paths (`path="shadow"`) or the primary ones."""
        _check(path, CLIENT_PATHS, "path")
        return replace(self, shadow_path=_toggled(self.shadow_path, client, path == "shadow"))

    def with_client_service(self, client: Client, service: str) -> Intents:
        """`client`'s new connections to the twins (`service="twin"`) or the hosts."""
        _check(service, CLIENT_SERVICES, "service")
        return replace(self, twin_service=_toggled(self.twin_service, client,
                                                   service == "twin"))

    def with_host_served(self, host: Client, by: str) -> Intents:
        """`host` served by its twin (`by="twin"`, a takeover) or by itself."""
        _check(by, SERVED_BY, "by")
        return replace(self, taken_over=_toggled(self.taken_over, host, by == "twin"))

    def with_shadow_active(self, network: str, active: bool) -> Intents:
        """`network`'s shadow serving (or not) by decision."""
        return replace(self, shadow_active=_toggled(self.shadow_active, network, active))

    def with_blocks(self, blocks: Blocks) -> Intents:
        """The response's current blocks."""
        return replace(self, blocks=_frozen_blocks(blocks))

    def kept(self, *, clients: Iterable[Client], links: Iterable[Link],
             standable: Iterable[Client], networks: Iterable[str]) -> Intents:
        """Only the intents whose subject still exists (after a configuration change).

        `standable`: the hosts a twin can stand for, by the configuration as
        written; takeovers are left to the caller, who knows the roles.
        """
        clients = _asked(clients)
        return replace(self, shadow_path=_within(self.shadow_path, clients),
                       twin_service=_within(self.twin_service, clients),
                       failed_links=_within(self.failed_links, _asked(links)),
                       roles_swapped=_within(self.roles_swapped, _asked(standable)),
                       shadow_active=_within(self.shadow_active, _asked(networks)))


def _asked(keys: Iterable[K]) -> AbstractSet[K]:
    """`keys` as a set to ask about (a set or a mapping's keys as they are, not copied: a
    reload passes every client of the fabric)."""
    return keys if isinstance(keys, AbstractSet) else frozenset(keys)


def _within(keys: frozenset[K], allowed: AbstractSet[K]) -> frozenset[K]:
    """The `keys` in `allowed` (looked up one by one: `keys` is the small side)."""
    return frozenset(key for key in keys if key in allowed)


def _toggled(keys: frozenset[K], key: K, present: bool) -> frozenset[K]:
    """`keys` with `key` in it or not; the same object when nothing changes."""
    if (key in keys) == present:
        return keys
    return keys | {key} if present else keys - {key}


def _check(value: str, allowed: tuple[str, ...], name: str) -> None:
    """ValueError unless `value` is one of `allowed` (`name` says which setting)."""
    if value not in allowed:
        raise ValueError(f"{name} must be {' or '.join(allowed)}, not {value!r}")
