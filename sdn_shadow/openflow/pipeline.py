"""The pipeline, declared once: tables, priority bands, owner subsystems; `verify` checks flows.

Packets walk the tables in order:

    0 ingress     answers to host health probes -> controller (any port);
                  sources the response to an alert blocked -> dropped at host ports;
                  IP from a service host or its twin -> connection tracking,
                  back into ingress; the twin only for connections steered to it;
                  classify the in_port: host port -> network metadata, fabric
                  VLAN -> network metadata (tag popped), mirror VLAN -> carry
                  the copy on; shadow-path VLAN -> delivered here (by in_port and
                  destination), or by in_port alone on to transit; shadow ports
                  are receive-only; anything else drops.
    1 mirror_out  copy what mirrored hosts *send* (direction out/both).
    2 arp         answer ARP requests from the switch itself; never flood.
    3 forward     IP to a service host: connection tracking, back into forward;
                  new connections of steered clients and established ones marked
                  for the twin -> the twin's port; then by (network, eth_dst):
                  local port (action set) or tagged to the next fabric hop;
                  below those, by (network, in_port) for the network's own
                  ports: the one way most remote hosts are reached from here.
    4 mirror_in   copy what mirrored hosts *receive* (direction in/both).
    5 transit     shadow paths through this switch, by (shadow VLAN, destination)
                  whatever port they came in by: only fabric ports lead here, so
                  what a host port sends never reaches these entries.

The top byte of every cookie names the subsystem that owns the flow; the
rest is a hash of the flow's content (see `messages.Flow`).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from enum import IntEnum

from sdn_shadow.openflow.messages import Flow, GotoTable, Group, content_hash


class Table(IntEnum):
    """Table ids of the pipeline."""

    INGRESS = 0
    MIRROR_OUT = 1
    ARP = 2
    FORWARD = 3
    MIRROR_IN = 4
    TRANSIT = 5


class Subsystem(IntEnum):
    """Flow owners; the value is the cookie's top byte."""

    PIPELINE = 0x01  # table-miss entries
    FORWARD = 0x02
    ARP = 0x03
    MIRROR = 0x04
    SHADOW = 0x05  # receive-only guard of shadow host ports
    ROUTING = 0x06  # shadow paths and the clients moved onto them
    HEALTH = 0x07  # answers to the controller's host health probes
    SECURITY = 0x08  # drops of sources the response to an alert blocked
    SERVICE = 0x0A  # connection tracking at service hosts (FORWARD | 0x08: see DEMAND_COOKIE)


@dataclass(frozen=True, slots=True)
class Band:
    """A priority range of one table and the subsystems allowed to use it."""

    table: Table
    name: str
    low: int
    high: int
    owners: frozenset[Subsystem]

    def priority(self, offset: int = 0) -> int:
        """The band's priority `offset` steps above its low end (checked)."""
        value = self.low + offset
        if not self.low <= value <= self.high:
            raise ValueError(f"priority offset {offset} outside band {self.name}")
        return value


def _band(table: Table, name: str, low: int, high: int, *owners: Subsystem) -> Band:
    return Band(table, name, low, high, frozenset(owners))


MISS = {t: _band(t, "miss", 0, 0, Subsystem.PIPELINE) for t in Table}
INGRESS_SHADOW_GUARD = _band(Table.INGRESS, "shadow-guard", 900, 900, Subsystem.SHADOW)
INGRESS_CLASSIFY = _band(
    Table.INGRESS, "classify", 1000, 1000, Subsystem.FORWARD, Subsystem.SHADOW
)
INGRESS_MIRROR_TRANSIT = _band(Table.INGRESS, "mirror-transit", 1100, 1100, Subsystem.MIRROR)
MIRROR_SESSIONS = {
    t: _band(t, "sessions", 1000, 1999, Subsystem.MIRROR)
    for t in (Table.MIRROR_OUT, Table.MIRROR_IN)
}
ARP_DROP = _band(Table.ARP, "drop", 100, 100, Subsystem.ARP)
ARP_RESPONDER = _band(Table.ARP, "responder", 1000, 1000, Subsystem.ARP)
FORWARD_HOSTS = _band(Table.FORWARD, "hosts", 1000, 1000, Subsystem.FORWARD)
# Below the hosts: what a network's own ports send to its remote hosts that all go one way.
FORWARD_DEFAULT = _band(Table.FORWARD, "network-default", 900, 900, Subsystem.FORWARD)
FORWARD_SHADOW_PATH = _band(Table.FORWARD, "shadow-path-clients", 1100, 1101, Subsystem.ROUTING)
INGRESS_SHADOW_PATH = _band(Table.INGRESS, "shadow-path", 1050, 1050, Subsystem.ROUTING)
# Below classification (a fabric port's own networks) and the shadow paths matched by
# in_port: any other tagged frame from a fabric port goes on to the transit table.
INGRESS_TO_TRANSIT = _band(Table.INGRESS, "to-transit", 950, 950, Subsystem.ROUTING)
TRANSIT_SHADOW = _band(Table.TRANSIT, "shadow-path", 1000, 1000, Subsystem.ROUTING)
INGRESS_PROBE_ANSWER = _band(Table.INGRESS, "probe-answer", 1200, 1200, Subsystem.HEALTH)
INGRESS_SERVICE = _band(Table.INGRESS, "service", 1150, 1151, Subsystem.SERVICE)
# Above service tracking (a blocked service host's packets must not reach conntrack) and
# below probe answers (a blocked MAC's host must still answer health probes).
INGRESS_SECURITY = _band(Table.INGRESS, "security", 1180, 1180, Subsystem.SECURITY)
FORWARD_SERVICE = _band(Table.FORWARD, "service", 1200, 1202, Subsystem.SERVICE)

BANDS: tuple[Band, ...] = (
    *MISS.values(),
    INGRESS_SHADOW_GUARD,
    INGRESS_CLASSIFY,
    INGRESS_MIRROR_TRANSIT,
    *MIRROR_SESSIONS.values(),
    ARP_DROP,
    ARP_RESPONDER,
    FORWARD_HOSTS,
    FORWARD_DEFAULT,
    FORWARD_SHADOW_PATH,
    INGRESS_SHADOW_PATH,
    INGRESS_TO_TRANSIT,
    TRANSIT_SHADOW,
    INGRESS_PROBE_ANSWER,
    INGRESS_SERVICE,
    INGRESS_SECURITY,
    FORWARD_SERVICE,
)

#: One flow stats request reads every flow that counts demand: cookies whose top
#: byte, masked, is FORWARD's; that is FORWARD (0x02) and SERVICE (0x0A) only.
DEMAND_COOKIE, DEMAND_COOKIE_MASK = Subsystem.FORWARD << 56, 0xF7 << 56

#: Group ids: top nibble names the owner, the rest is a content hash.
GROUP_OWNER_MIRROR = 0x1
GROUP_OWNER_ROUTING = 0x2


class PipelineError(ValueError):
    """A flow that does not fit the declared pipeline."""


def verify(flow: Flow) -> Flow:
    """Return `flow` if a declared band of its table admits its priority and owner."""
    if (flow.table_id, flow.priority, flow.subsystem) in _ADMITTED:
        _check_gotos(flow)
        return flow
    _verify_band(flow)
    _ADMITTED.add((flow.table_id, flow.priority, flow.subsystem))
    return flow


_ADMITTED: set[tuple[int, int, int]] = set()
"""(table, priority, owner) triples a band admits, as verified once (the bands are fixed)."""


def _check_gotos(flow: Flow) -> None:
    for instruction in flow.instructions:
        if type(instruction) is GotoTable and instruction.table_id <= flow.table_id:
            raise PipelineError(f"goto_table:{instruction.table_id} must move forward")


def _verify_band(flow: Flow) -> None:
    try:
        table = Table(flow.table_id)
    except ValueError:
        raise PipelineError(f"table {flow.table_id} is not declared") from None
    for band in BANDS:
        if band.table is table and band.low <= flow.priority <= band.high:
            if Subsystem(flow.subsystem) not in band.owners:
                raise PipelineError(
                    f"{Subsystem(flow.subsystem).name} may not use band "
                    f"{table.name.lower()}/{band.name}"
                )
            _check_gotos(flow)
            return
    raise PipelineError(f"priority {flow.priority} is in no band of table {table.name.lower()}")


def group_id(owner: int, group_content: object, salt: int = 0) -> int:
    """A group id carrying its owner (top nibble) and a 28-bit content hash."""
    return (owner << 28) | (content_hash(group_content, salt) & 0x0FFFFFFF)


def _content_ids(group: Group, owner: int) -> Iterator[int]:
    """`group`'s content id, then salted ones for when an id is taken."""
    content = (group.type, group.buckets)
    return (group_id(owner, content, salt) for salt in itertools.count())


def with_content_id(group: Group, taken: set[int], owner: int = GROUP_OWNER_MIRROR) -> Group:
    """`group` renumbered to its content id, salted past ids already `taken`."""
    gid = next(g for g in _content_ids(group, owner) if g not in taken)
    return Group(gid, group.type, group.buckets)


def shared_group(group: Group, groups: dict[int, Group], owner: int) -> Group:
    """The group in `groups` with `group`'s content, added under its content id if new."""
    def free_or_same(gid: int) -> bool:
        have = groups.get(gid)
        return have is None or (have.type, have.buckets) == (group.type, group.buckets)

    gid = next(g for g in _content_ids(group, owner) if free_or_same(g))
    return groups.setdefault(gid, Group(gid, group.type, group.buckets))
