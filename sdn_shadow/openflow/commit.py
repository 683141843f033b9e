"""Track a change sent as bundles until every switch has committed or refused its part.

The controller's handlers report bundle replies and errors here from the
OS-Ken hub; the API thread that made the change waits on the `Commit`.
Nothing here sends: `Commits.expect` is told which xids each bundle used.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(slots=True)
class _Bundle:
    dpid: int
    bundle_id: int
    first_xid: int
    commit_xid: int
    commit: Commit

    def owns(self, xid: int) -> bool:
        if self.first_xid <= self.commit_xid:
            return self.first_xid <= xid <= self.commit_xid
        return xid >= self.first_xid or xid <= self.commit_xid  # the xids wrapped


@dataclass(slots=True)
class Commit:
    """One change across switches: which applied it, which refused it and why.

    `applied` holds every switch that committed anything, `refused` every
    switch that reported an error, with the first reason.
    """

    pending: set[int] = field(default_factory=set)
    applied: set[int] = field(default_factory=set)
    refused: dict[int, str] = field(default_factory=dict)
    unknown: set[int] = field(default_factory=set)
    """Switches that did not answer in time: their part may or may not have been applied."""
    done: threading.Event = field(default_factory=threading.Event)
    forget: list[Callable[[], None]] = field(default_factory=list)  # called once waiting is over

    def wait(self, timeout: float) -> dict[int, str]:
        """Block until every switch answered (or `timeout`); the refusals by dpid.

        A switch that has not answered in time counts as refused and is put
        in `unknown`: its part may or may not have been applied, so the
        caller undoes the change there as well as on the switches that took it.
        """
        if self.pending:
            self.done.wait(timeout)
        self.unknown = set(self.pending)
        for dpid in self.unknown:
            self.refused.setdefault(dpid, f"no answer within {timeout:g} s")
        for forget in self.forget:
            forget()  # late answers no longer matter, and their xids may be reused
        return dict(self.refused)

    def _settle(self, dpid: int) -> None:
        self.pending.discard(dpid)
        if not self.pending:
            self.done.set()


class Commits:
    """The bundles on their way, found again by the xids of the answers."""

    def __init__(self) -> None:
        self.bundles: dict[int, list[_Bundle]] = {}
        self.lock = threading.Lock()
        self.next_id = 1

    def bundle_id(self) -> int:
        """A fresh bundle id."""
        with self.lock:
            bundle_id, self.next_id = self.next_id, self.next_id % 0xFFFFFFFF + 1
        return bundle_id

    def expect(self, commit: Commit, dpid: int, bundle_id: int, first_xid: int,
               commit_xid: int) -> None:
        """A bundle with xids first_xid..commit_xid went to `dpid` as part of `commit`."""
        with self.lock:
            commit.pending.add(dpid)
            entry = _Bundle(dpid, bundle_id, first_xid, commit_xid, commit)
            self.bundles.setdefault(dpid, []).append(entry)
        commit.forget.append(lambda: self._drop(entry))

    def _drop(self, entry: _Bundle) -> None:
        with self.lock:
            bundles = self.bundles.get(entry.dpid, [])
            bundles[:] = [b for b in bundles if b is not entry]

    def committed(self, dpid: int, xid: int) -> None:
        """A COMMIT_REPLY with `xid` came from `dpid`.

        A switch that refused one ADD keeps the bundle open and commits the
        rest; such a switch stays refused but also counts as applied, so the
        change is undone there too.
        """
        bundle = self._take(dpid, xid)
        if bundle is not None:
            bundle.commit.applied.add(dpid)
            bundle.commit._settle(dpid)

    def failed(self, dpid: int, xid: int, reason: str) -> bool:
        """An error for `xid` came from `dpid`; True when it belonged to a bundle.

        The first error names the cause; the bundle is settled by the error
        for its commit (Open vSwitch always answers the commit), by a commit
        reply, or by the wait running out.
        """
        with self.lock:
            bundle = next((b for b in self.bundles.get(dpid, ()) if b.owns(xid)), None)
            if bundle is None:
                return False
            bundle.commit.refused.setdefault(dpid, reason)
            if xid != bundle.commit_xid:
                return True
        self._take(dpid, xid)
        bundle.commit._settle(dpid)
        return True

    def disconnected(self, dpid: int) -> None:
        """`dpid` went away: its bundles are refused."""
        with self.lock:
            gone = self.bundles.pop(dpid, [])
        for bundle in gone:
            bundle.commit.refused.setdefault(dpid, "the switch disconnected")
            bundle.commit._settle(dpid)

    def _take(self, dpid: int, commit_xid: int) -> _Bundle | None:
        """Remove and return the bundle on `dpid` whose commit has `commit_xid`."""
        with self.lock:
            bundles = self.bundles.get(dpid, [])
            for i, bundle in enumerate(bundles):
                if bundle.commit_xid == commit_xid:
                    del bundles[i]
                    return bundle
        return None
