"""Statistics polling, decided: which request goes to which switch when, and what a reply answers.

Pure values changed by pure functions that take `now`. The app keeps the
current values and sends what `due` returns.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType

STALE_AFTER = 5.0
"""An unanswered request blocks its kind on that switch for this many intervals."""

Key = tuple[int, str]  # (dpid, kind)


@dataclass(frozen=True)
class Poll:
    """One kind of statistics request polled from every synced switch every `interval` s."""

    kind: str
    interval: float


def polls_of(port: float, demand: float, mirror: float, meters: float) -> tuple[Poll, ...]:
    """The polls the controller runs, in the order it sends them to a switch."""
    return (Poll("ports", port), Poll("demand", demand), Poll("mirror", mirror),
            Poll("meters", meters))


@dataclass(frozen=True)
class Requests:
    """Stats requests sent and not fully answered: (dpid, xid) -> (kind, sent at)."""

    sent: Mapping[tuple[int, int], tuple[str, float]] = field(
        default_factory=lambda: MappingProxyType({}))

    def add(self, dpid: int, xid: int, kind: str, now: float) -> Requests:
        """These requests plus one for `kind` sent to `dpid` with `xid` at `now`."""
        return Requests(MappingProxyType({**self.sent, (dpid, xid): (kind, now)}))

    def answer(self, dpid: int, xid: int, more: bool) -> tuple[str | None, Requests]:
        """What the reply `xid` from `dpid` answers (None: not ours), and the requests after
        it; the request is forgotten with its last part (`more` False)."""
        entry = self.sent.get((dpid, xid))
        if entry is None:
            return None, self
        if more:
            return entry[0], self
        return entry[0], Requests(MappingProxyType(
            {k: v for k, v in self.sent.items() if k != (dpid, xid)}))

    def forget(self, dpid: int) -> Requests:
        """Without `dpid`'s requests (it reconnected: their replies will not come)."""
        return Requests(MappingProxyType({k: v for k, v in self.sent.items() if k[0] != dpid}))

    def outstanding(self) -> dict[Key, float]:
        """When each (dpid, kind) still unanswered was sent (the latest, if several)."""
        out: dict[Key, float] = {}
        for (dpid, _), (kind, at) in self.sent.items():
            out[(dpid, kind)] = max(at, out.get((dpid, kind), at))
        return out


@dataclass(frozen=True)
class Schedule:
    """The polls and when each (dpid, kind) was last sent."""

    polls: tuple[Poll, ...]
    last_sent: Mapping[Key, float] = field(default_factory=lambda: MappingProxyType({}))

    def due(self, now: float, synced: Iterable[int], outstanding: Mapping[Key, float]
            ) -> tuple[Schedule, list[Key]]:
        """The (dpid, kind) requests to send at `now`, in order, and the schedule after.

        A kind is due on a synced switch once its interval has passed since it was
        last sent, unless its previous request is unanswered and younger than
        `STALE_AFTER` intervals: a slow switch does not get requests piled up.
        """
        due: list[Key] = []
        last = dict(self.last_sent)
        for dpid in sorted(synced):
            for poll in self.polls:
                key = (dpid, poll.kind)
                sent = outstanding.get(key)
                if sent is not None and now - sent < STALE_AFTER * poll.interval:
                    continue
                if now - last.get(key, float("-inf")) >= poll.interval:
                    last[key] = now
                    due.append(key)
        if not due:
            return self, due
        return replace(self, last_sent=MappingProxyType(last)), due
