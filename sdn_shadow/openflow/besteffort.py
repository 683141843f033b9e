"""The planner's best-effort meters: who holds each link, each switch's meter ids, and
each network's meters, kept up to date as networks and their shadow paths change.

`meters.best_effort_meters` builds all of them at once; this keeps the same
result while a change costs what it changes: a network added gets its own
meters and joins the holders of the links it crosses (one entry per link,
see `SwitchPlan.holds`), and only the networks whose meters it moved (a
new link held, a link no longer held by one network alone, an id clash)
are planned again.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from sdn_shadow.openflow.meters import IdKey, MeterIds
from sdn_shadow.topology import Fabric

Link = tuple[str, str]
Entry = tuple[str, int, int, str, int]
"""One best-effort meter of a network: (switch, port, meter id, far switch, kbit/s)."""
Touched = tuple[frozenset[str] | None, frozenset[str] | None]
"""A link's holders before and after a change (None: nobody holds it)."""


class BestEffortState:
    """Holders, meter ids and each network's meters, as of the last `update`."""

    def __init__(self) -> None:
        self.wiring: object | None = None
        self.names: frozenset[str] = frozenset()
        self.links_of: dict[str, frozenset[Link]] = {}
        self.holders: dict[Link, set[str]] = {}  # links with a known capacity only
        self.holds: dict[Link, frozenset[str]] = {}
        self.ids: dict[str, MeterIds] = {}
        self.entries: dict[str, tuple[Entry, ...]] = {}
        self._capacity: dict[Link, tuple[int, int] | None] = {}
        self._owned: set[object] = set()
        """The links whose holder sets and the switches whose id tables are this state's
        own to change (the others are shared with a copy: copied on first change)."""

    def copy(self) -> BestEffortState:
        """A copy to change without changing this one (tables shared until changed, so a
        copy costs the links and networks, not their meters)."""
        twin = BestEffortState()
        twin.wiring, twin.names, twin.links_of = self.wiring, self.names, dict(self.links_of)
        twin.holders, twin.ids = dict(self.holders), dict(self.ids)
        twin.holds, twin.entries = dict(self.holds), dict(self.entries)
        twin._capacity = self._capacity  # a cache for the same wiring: filled, never changed
        self._owned.clear()  # shared now, on both sides
        return twin

    def _holders_of(self, link: Link) -> set[str]:
        """The holders of `link`, this state's own to change."""
        holders = self.holders.get(link)
        if holders is None:
            holders = self.holders[link] = set()
        elif link not in self._owned:
            holders = self.holders[link] = set(holders)
        self._owned.add(link)
        return holders

    def _ids_of(self, switch: str) -> MeterIds:
        """Switch `switch`'s id table, this state's own to change."""
        table = self.ids.get(switch)
        if table is None:
            table = self.ids[switch] = MeterIds()
        elif switch not in self._owned:
            table = self.ids[switch] = table.copy()
        self._owned.add(switch)
        return table

    def update(self, fabric: Fabric, wiring: object, names: Iterable[str],
               links_of: Mapping[str, frozenset[Link]]) -> dict[Link, Touched]:
        """Bring the state to networks `names` whose shadow paths cross `links_of`, over
        `fabric` (`wiring`: stands for its links, a new object when they change): the
        links whose holders changed (before and after, None: not held). A network's
        `entries` are a new object only when its meters changed."""
        new_names = frozenset(names)
        if wiring is not self.wiring:
            return self._rebuild(fabric, wiring, new_names, links_of)
        added, gone = new_names - self.names, self.names - new_names
        was = self.names
        before: dict[Link, frozenset[str]] = {}
        for name, links in links_of.items():
            old = self.links_of.get(name, frozenset())
            if old is not links:
                self._cross(fabric, name, links - old, old - links, before)
                self.links_of[name] = links
        for name in [n for n in self.links_of if n not in links_of]:
            self._cross(fabric, name, frozenset(), self.links_of.pop(name), before)
        self.names = new_names
        changes: dict[str, tuple[set[IdKey], set[IdKey]]] = {}
        touched: dict[Link, Touched] = {}
        for link, old_holds in before.items():
            holders = self.holders.get(link)
            now = frozenset(holders) if holders else None
            if now is None:
                self.holds.pop(link, None)
            else:
                self.holds[link] = now
            if now != old_holds:
                touched[link] = (old_holds or None, now)
                self._rekey(link, old_holds, now, (added, gone, was), changes)
        if added or gone:
            for link, holds in self.holds.items():
                if link not in before:
                    self._rekey(link, holds, holds, (added, gone, was), changes)
        affected = set(added)
        for switch, (more, fewer) in changes.items():
            moved = self._ids_of(switch).change(more, fewer)
            affected.update(key[2] for key in moved)
            affected.update(key[2] for key in fewer)
        for name in gone:
            self.entries.pop(name, None)
            affected.discard(name)
        for name in affected:
            self._entries_of(name)
        return touched

    def _rebuild(self, fabric: Fabric, wiring: object, names: frozenset[str],
                 links_of: Mapping[str, frozenset[Link]]) -> dict[Link, Touched]:
        """`update` from nothing (the wiring changed: ports and capacities may differ)."""
        old_holds = self.holds
        self.__init__()  # type: ignore[misc]
        self.wiring, self.names = wiring, names
        before: dict[Link, frozenset[str]] = {}
        for name, links in links_of.items():
            self._cross(fabric, name, links, frozenset(), before)
            self.links_of[name] = links
        self.holds = {link: frozenset(h) for link, h in self.holders.items() if h}
        keys: dict[str, list[IdKey]] = {}
        for (a, b), holds in self.holds.items():
            port = self._known(fabric, (a, b))[0]  # type: ignore[index]
            alone = _alone(holds)
            keys.setdefault(a, []).extend((b, port, n) for n in names if n != alone)
        self.ids = {switch: MeterIds.of(found) for switch, found in keys.items()}
        self._owned.update(self.ids)
        for name in names:
            self._entries_of(name)
        return {link: (old_holds.get(link), self.holds.get(link))
                for link in old_holds.keys() | self.holds.keys()}

    def _known(self, fabric: Fabric, link: Link) -> tuple[int, int] | None:
        """(port towards, capacity in kbit/s) of a link direction, None if not known."""
        if link not in self._capacity:
            capacity = fabric.graph.edges[link].get("capacity_mbps")
            self._capacity[link] = ((fabric.port_towards(*link), int(capacity * 1000))
                                    if capacity else None)
        return self._capacity[link]

    def _cross(self, fabric: Fabric, name: str, more: Iterable[Link], fewer: Iterable[Link],
               before: dict[Link, frozenset[str]]) -> None:
        """Network `name` now crosses links `more`, no longer `fewer` (noting each link's
        holders before its first change in `before`)."""
        for link in more:
            if self._known(fabric, link) is not None:
                before.setdefault(link, self.holds.get(link, frozenset()))
                self._holders_of(link).add(name)
        for link in fewer:
            if link in self.holders:
                before.setdefault(link, self.holds.get(link, frozenset()))
                self._holders_of(link).discard(name)

    def _rekey(self, link: Link, old: frozenset[str] | None, new: frozenset[str] | None,
               names: tuple[frozenset[str], frozenset[str], frozenset[str]],
               changes: dict[str, tuple[set[IdKey], set[IdKey]]]) -> None:
        """The meter keys on `link` as its holders go from `old` to `new` and the
        networks come and go (`names`: those added, those gone, those before)."""
        added, gone, was = names
        a, b = link
        port = self._capacity[link][0]  # type: ignore[index]
        more, fewer = changes.setdefault(a, (set(), set()))
        if not old:
            if new:
                alone = _alone(new)
                more.update((b, port, n) for n in self.names if n != alone)
            return
        old_alone = _alone(old)
        if not new:
            fewer.update((b, port, n) for n in was if n != old_alone)
            return
        alone = _alone(new)
        more.update((b, port, n) for n in added if n != alone)
        fewer.update((b, port, n) for n in gone if n != old_alone)
        if old_alone != alone:
            if old_alone is not None and old_alone in self.names:
                more.add((b, port, old_alone))
            if alone is not None and alone in was:
                fewer.add((b, port, alone))

    def _entries_of(self, name: str) -> None:
        """Work out network `name`'s meters again (a new object only if they changed)."""
        found = []
        for a, b in self.holds:
            port, kbps = self._capacity[(a, b)]  # type: ignore[misc]
            meter_id = self.ids[a].ids.get((b, port, name))
            if meter_id is not None:
                found.append((a, port, meter_id, b, kbps))
        entries = tuple(sorted(found))
        if self.entries.get(name, ()) == entries:
            return
        if entries:
            self.entries[name] = entries
        else:
            self.entries.pop(name, None)


def _alone(holds: frozenset[str]) -> str | None:
    """The one network holding a link, if only one does (it gets no meter there)."""
    return next(iter(holds)) if len(holds) == 1 else None
