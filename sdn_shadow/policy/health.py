"""Failover and failback per subject from up/down observations: wait-to-restore, hold, grace (pure).

A subject is any hashable key the caller picks: a fabric link `("s1", "s2")`, a host
`("tenant-a", "h1")`. `HealthMachine.observe` is fed up/down from port status, BFD
or a health probe (`ProbeCounter` turns probe misses into up/down) and answers with
`Decision`s: `failover` moves traffic off the subject onto its shadow, `failback`
moves it back. States: `up` (traffic on the subject), `failed` (traffic off, subject
down) and `restoring` (traffic off, subject up, waiting out wait-to-restore).

Rules, in the order they apply:

- Down is acted on at once: the first down of an `up` subject is a failover.
  A down while `restoring` goes back to `failed` without a decision.
- Failback needs the subject up continuously for `wait_to_restore` seconds.
- A failback also waits until `hold` seconds have passed since the failover, so a
  flapping subject moves off once and back once per hold period at most. A failover
  is never postponed: a dead link or host cannot carry traffic, whatever the
  history (and with fast-failover groups the data plane has moved already).
- `ignore_until(subject, until)`: observations of the subject before `until` are
  dropped, but the last one is remembered. The grace ends at the first `tick` or
  `observe` with `now >= until`: an `observe` of that subject supersedes the
  remembered observation, otherwise the remembered one is applied as if seen at
  that `now` (so wait-to-restore counts from the end of the grace, not from a
  flap inside it). No decision is made for a subject during its grace.
- Repeated identical observations are no-ops (they do not restart wait-to-restore).

Decisions are only made inside `observe` and `tick`; `observe` also returns anything
else due at its `now`, so every decision is returned exactly once. One subject is
expected to have one health signal: a caller with several (port status and BFD)
combines them before observing.
"""

from __future__ import annotations

import math
from collections.abc import Hashable
from dataclasses import dataclass

Subject = Hashable

STATES = ("up", "failed", "restoring")
KINDS = ("failover", "failback")

_SEEN_DOWN = {
    "port": "port down (port status)",
    "bfd": "BFD session down (BFD)",
    "probe": "health probes unanswered (probe)",
}


@dataclass(frozen=True, slots=True)
class HealthPolicy:
    """Timers for a `HealthMachine`, in seconds."""

    wait_to_restore: float = 3.0
    hold: float = 10.0

    def __post_init__(self) -> None:
        for name in ("wait_to_restore", "hold"):
            value = getattr(self, name)
            if (isinstance(value, bool) or not isinstance(value, int | float)
                    or not math.isfinite(value) or value < 0):
                raise ValueError(
                    f"HealthPolicy.{name} must be a finite number of seconds >= 0, got {value!r}")


@dataclass(frozen=True, slots=True)
class Decision:
    """Move traffic off a subject onto its shadow (`failover`) or back (`failback`)."""

    kind: str
    subject: Subject
    at: float
    reason: str
    source: str


@dataclass(slots=True)
class _Subject:
    state: str
    since: float  # when `state` was entered
    healthy: bool = True  # latest applied observation
    source: str = ""  # source of the observation that last changed `healthy`
    changed: float = 0.0  # when `healthy` last changed
    last_move: float | None = None
    moves: int = 0


@dataclass(slots=True)
class _Grace:
    until: float
    held: tuple[bool, str] | None = None  # last (up, source) seen during it


class HealthMachine:
    """Failover/failback state per subject; every method that can decide takes `now`."""

    def __init__(self, policy: HealthPolicy | None = None) -> None:
        self.policy = policy if policy is not None else HealthPolicy()
        self._subjects: dict[Subject, _Subject] = {}
        self._grace: dict[Subject, _Grace] = {}

    def ignore_until(self, subject: Subject, until: float) -> None:
        """Drop observations of `subject` before `until` (e.g. while BFD comes up)."""
        grace = self._grace.get(subject)
        if grace is None:
            self._grace[subject] = _Grace(until)
        else:
            grace.until = until

    def observe(self, now: float, subject: Subject, up: bool, source: str) -> list[Decision]:
        """Subject seen up or down by `source`; the decisions this and `now` make due."""
        grace = self._grace.get(subject)
        if grace is not None:
            if now < grace.until:
                grace.held = (up, source)
                return self._due(now)
            del self._grace[subject]  # this observation is newer than the held one
        self._apply(now, subject, up, source)
        return self._due(now)

    def tick(self, now: float) -> list[Decision]:
        """Decisions due at `now` (failbacks, postponed failovers, ended graces)."""
        return self._due(now)

    def state(self, subject: Subject) -> str:
        """`up`, `failed` or `restoring`; subjects never observed are `up`."""
        record = self._subjects.get(subject)
        return record.state if record is not None else "up"

    def failed(self) -> set[Subject]:
        """Subjects whose traffic is off them now (`failed` or `restoring`)."""
        return {subject for subject, s in self._subjects.items() if s.state != "up"}

    def next_due(self) -> float | None:
        """Earliest `now` at which `tick` may decide something; None if nothing is pending."""
        times = []
        for subject in self._subjects.keys() | self._grace.keys():
            record, grace = self._subjects.get(subject), self._grace.get(subject)
            due = self._due_at(record) if record is not None else None
            if grace is not None:
                if grace.held is not None:
                    due = grace.until
                elif due is not None:
                    due = max(due, grace.until)
            if due is not None:
                times.append(due)
        return min(times, default=None)

    def snapshot(self) -> dict[str, dict[str, object]]:
        """Per subject (keyed `s1/s2`): state, since, last_move, moves, observed, grace_until."""
        out: dict[str, dict[str, object]] = {}
        for subject, s in self._subjects.items():
            grace = self._grace.get(subject)
            out[_label(subject)] = {
                "state": s.state,
                "since": s.since,
                "last_move": s.last_move,
                "moves": s.moves,
                "observed": "up" if s.healthy else "down",
                "grace_until": grace.until if grace is not None else None,
            }
        return out

    def _apply(self, now: float, subject: Subject, up: bool, source: str) -> None:
        s = self._subjects.get(subject)
        if s is None:
            s = self._subjects[subject] = _Subject("up", now, changed=now)
        if up == s.healthy:
            return
        s.healthy, s.source, s.changed = up, source, now
        if up and s.state == "failed":
            s.state, s.since = "restoring", now
        elif not up and s.state == "restoring":
            s.state, s.since = "failed", now
        # Down while `up` and up while `up` (a postponed failover cancelled) are left to _due.

    def _due(self, now: float) -> list[Decision]:
        for subject, grace in list(self._grace.items()):
            if now >= grace.until:
                del self._grace[subject]
                if grace.held is not None:
                    self._apply(now, subject, *grace.held)
        decisions = []
        for subject, s in self._subjects.items():
            if subject in self._grace:
                continue
            due = self._due_at(s)
            if due is not None and now >= due:
                decisions.append(self._move(now, subject, s))
        return decisions

    def _hold_end(self, s: _Subject) -> float:
        return -math.inf if s.last_move is None else s.last_move + self.policy.hold

    def _due_at(self, s: _Subject) -> float | None:
        if s.state == "up" and not s.healthy:
            return s.changed
        if s.state == "restoring":
            return max(s.since + self.policy.wait_to_restore, self._hold_end(s))
        return None

    def _move(self, now: float, subject: Subject, s: _Subject) -> Decision:
        policy = self.policy
        if s.state == "up":
            kind, state = "failover", "failed"
            reason = _SEEN_DOWN.get(s.source, f"down ({s.source})")
        else:
            kind, state = "failback", "up"
            reason = f"up for {now - s.since:.1f} s (wait-to-restore {policy.wait_to_restore:.1f} s"
            if self._hold_end(s) > s.since + policy.wait_to_restore:
                reason += f", hold {policy.hold:.1f} s"
            reason += ")"
        s.state, s.since, s.last_move = state, now, now
        s.moves += 1
        return Decision(kind, subject, now, reason, s.source)


class ProbeCounter:
    """Host health from probes: `misses` unanswered in a row is down, the next answer is up.

    Answers carry no probe id, so an answer settles every probe outstanding for the
    subject, and an answer that arrives after its probe was counted missed still
    counts (it proves the host is alive).
    """

    def __init__(self, misses: int = 3) -> None:
        if isinstance(misses, bool) or not isinstance(misses, int) or misses < 1:
            raise ValueError(f"ProbeCounter.misses must be an int >= 1, got {misses!r}")
        self.misses = misses
        self._outstanding: dict[Subject, list[float]] = {}
        self._missed: dict[Subject, int] = {}
        self._down: set[Subject] = set()

    def sent(self, now: float, subject: Subject) -> None:
        """A probe was sent to `subject` at `now`."""
        self._outstanding.setdefault(subject, []).append(now)

    def answered(self, now: float, subject: Subject) -> list[tuple[Subject, bool]]:
        """`subject` answered: resets its misses; `[(subject, True)]` if it was down."""
        self._outstanding.pop(subject, None)
        self._missed.pop(subject, None)
        if subject in self._down:
            self._down.discard(subject)
            return [(subject, True)]
        return []

    def expired(self, now: float, timeout: float) -> list[tuple[Subject, bool]]:
        """Probes unanswered `timeout` s after sending count as misses; down at `misses`."""
        transitions: list[tuple[Subject, bool]] = []
        for subject, times in self._outstanding.items():
            late = sum(1 for t in times if now >= t + timeout)
            if not late:
                continue
            times[:] = [t for t in times if now < t + timeout]
            missed = self._missed[subject] = self._missed.get(subject, 0) + late
            if missed >= self.misses and subject not in self._down:
                self._down.add(subject)
                transitions.append((subject, False))
        return transitions

    def down(self) -> set[Subject]:
        """Subjects currently considered down by their probes."""
        return set(self._down)


def _label(subject: Subject) -> str:
    if isinstance(subject, tuple):
        return "/".join(str(part) for part in subject)
    return str(subject)
