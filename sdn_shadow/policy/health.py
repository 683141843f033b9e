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

`HealthMachine` is a value: `observe`, `tick` and `ignore_until` return a new machine
(with the decisions they made) and leave the old one as it was. Decisions are only
made inside `observe` and `tick`; `observe` also returns anything else due at its
`now`, so every decision is returned exactly once. One subject is
expected to have one health signal: a caller with several (port status and BFD)
combines them before observing.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field, replace

from sdn_shadow.frozen import EMPTY, FrozenMap, ShardedMap

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


@dataclass(frozen=True, slots=True)
class SubjectHealth:
    """One subject's record: its state, the latest observation applied, its moves."""

    state: str
    since: float  # when `state` was entered
    healthy: bool = True  # latest applied observation
    source: str = ""  # source of the observation that last changed `healthy`
    changed: float = 0.0  # when `healthy` last changed
    last_move: float | None = None
    moves: int = 0
    order: int = 0  # how many subjects were seen before this one (decisions go in this order)


@dataclass(frozen=True, slots=True)
class Grace:
    """Observations of a subject are ignored until `until`; `held` is the last one seen."""

    until: float
    held: tuple[bool, str] | None = None  # last (up, source) seen during it


@dataclass(frozen=True)
class HealthMachine:
    """Failover/failback state per subject, as a value: every step takes `now` and returns
    the new machine with the decisions it made; the old machine is left as it was."""

    policy: HealthPolicy = field(default_factory=HealthPolicy)
    subjects: FrozenMap[Subject, SubjectHealth] = EMPTY
    grace: FrozenMap[Subject, Grace] = EMPTY
    pending: frozenset[Subject] = frozenset()  # subjects a failover or failback may be due for

    def retuned(self, policy: HealthPolicy) -> HealthMachine:
        """This machine under new timers."""
        return self if policy == self.policy else replace(self, policy=policy)

    def ignore_until(self, subject: Subject, until: float) -> HealthMachine:
        """Drop observations of `subject` before `until` (e.g. while BFD comes up)."""
        grace = self.grace.get(subject)
        new = Grace(until) if grace is None else Grace(until, grace.held)
        return replace(self, grace=self.grace.set(subject, new))

    def observe(self, now: float, subject: Subject, up: bool, source: str
                ) -> tuple[HealthMachine, list[Decision]]:
        """Subject seen up or down by `source`: the new machine, and the decisions this
        and `now` make due."""
        return self.observe_all(now, ((subject, up, source),))

    def observe_all(self, now: float, seen: Iterable[tuple[Subject, bool, str]]
                    ) -> tuple[HealthMachine, list[Decision]]:
        """Several (subject, up, source) observations at `now`, as `observe` one after the
        other would take them, in one step."""
        step = _Step(self)
        decisions: list[Decision] = []
        for subject, up, source in seen:
            grace = step.grace.get(subject)
            if grace is not None:
                if now < grace.until:
                    step.put_grace(subject, Grace(grace.until, (up, source)))
                    decisions += step.due(now)
                    continue
                step.drop_grace(subject)  # this observation is newer than the held one
            step.apply(now, subject, up, source)
            decisions += step.due(now)
        return step.done(self), decisions

    def tick(self, now: float) -> tuple[HealthMachine, list[Decision]]:
        """Decisions due at `now` (failbacks, postponed failovers, ended graces), and the
        machine after them."""
        step = _Step(self)
        decisions = step.due(now)
        return step.done(self), decisions

    def state(self, subject: Subject) -> str:
        """`up`, `failed` or `restoring`; subjects never observed are `up`."""
        record = self.subjects.get(subject)
        return record.state if record is not None else "up"

    def failed(self) -> set[Subject]:
        """Subjects whose traffic is off them now (`failed` or `restoring`)."""
        return {subject for subject, s in self.subjects.items() if s.state != "up"}

    def next_due(self) -> float | None:
        """Earliest `now` at which `tick` may decide something; None if nothing is pending."""
        times = []
        for subject in self.pending | self.grace.keys():
            record, grace = self.subjects.get(subject), self.grace.get(subject)
            due = _due_at(self.policy, record) if record is not None else None
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
        for subject, s in self.subjects.items():
            grace = self.grace.get(subject)
            out[_label(subject)] = {
                "state": s.state,
                "since": s.since,
                "last_move": s.last_move,
                "moves": s.moves,
                "observed": "up" if s.healthy else "down",
                "grace_until": grace.until if grace is not None else None,
            }
        return out


class _Step:
    """One step's scratch: the machine's maps, copied at their first change (not state)."""

    __slots__ = ("policy", "frozen", "subjects", "grace", "_subjects", "_grace", "pending")

    def __init__(self, machine: HealthMachine) -> None:
        self.policy = machine.policy
        self.frozen = machine
        self.subjects: Mapping[Subject, SubjectHealth] = machine.subjects
        self.grace: Mapping[Subject, Grace] = machine.grace
        self._subjects: dict[Subject, SubjectHealth] | None = None  # own copies, once made
        self._grace: dict[Subject, Grace] | None = None
        self.pending = machine.pending

    def put(self, subject: Subject, record: SubjectHealth) -> None:
        if self._subjects is None:
            self.subjects = self._subjects = self.frozen.subjects.thaw()
        self._subjects[subject] = record
        waits = _due_at(self.policy, record) is not None
        if waits != (subject in self.pending):
            self.pending = self.pending | {subject} if waits else self.pending - {subject}

    def put_grace(self, subject: Subject, grace: Grace) -> None:
        if self._grace is None:
            self.grace = self._grace = self.frozen.grace.thaw()
        self._grace[subject] = grace

    def drop_grace(self, subject: Subject) -> None:
        if self._grace is None:
            self.grace = self._grace = self.frozen.grace.thaw()
        del self._grace[subject]

    def done(self, machine: HealthMachine) -> HealthMachine:
        """The machine after this step (`machine` itself when nothing changed)."""
        if self._subjects is None and self._grace is None:
            return machine
        return replace(
            machine,
            subjects=machine.subjects if self._subjects is None
            else FrozenMap.owning(self._subjects),
            grace=machine.grace if self._grace is None else FrozenMap.owning(self._grace),
            pending=self.pending)

    def apply(self, now: float, subject: Subject, up: bool, source: str) -> None:
        s = self.subjects.get(subject)
        if s is None:
            s = SubjectHealth("up", now, changed=now, order=len(self.subjects))
            self.put(subject, s)
        if up == s.healthy:
            return
        state, since = s.state, s.since
        if up and state == "failed":
            state, since = "restoring", now
        elif not up and state == "restoring":
            state, since = "failed", now
        # Down while `up` and up while `up` (a postponed failover cancelled) are left to due.
        self.put(subject, SubjectHealth(state, since, up, source, now, s.last_move, s.moves,
                                        s.order))

    def due(self, now: float) -> list[Decision]:
        for subject, grace in list(self.grace.items()):
            if now >= grace.until:
                self.drop_grace(subject)
                if grace.held is not None:
                    self.apply(now, subject, *grace.held)
        decisions = []
        policy, grace_now, subjects = self.policy, self.grace, self.subjects
        # Only pending subjects can be due; they go in the order they were first seen.
        for subject in sorted(self.pending, key=lambda subject: subjects[subject].order):
            if subject in grace_now:
                continue
            s = self.subjects[subject]
            due = _due_at(policy, s)
            if due is not None and now >= due:
                record, decision = _move(policy, now, subject, s)
                self.put(subject, record)
                decisions.append(decision)
        return decisions


def _hold_end(policy: HealthPolicy, s: SubjectHealth) -> float:
    return -math.inf if s.last_move is None else s.last_move + policy.hold


def _due_at(policy: HealthPolicy, s: SubjectHealth) -> float | None:
    if s.state == "up" and not s.healthy:
        return s.changed
    if s.state == "restoring":
        return max(s.since + policy.wait_to_restore, _hold_end(policy, s))
    return None


def _move(policy: HealthPolicy, now: float, subject: Subject, s: SubjectHealth
          ) -> tuple[SubjectHealth, Decision]:
    if s.state == "up":
        kind, state = "failover", "failed"
        reason = _SEEN_DOWN.get(s.source, f"down ({s.source})")
    else:
        kind, state = "failback", "up"
        reason = f"up for {now - s.since:.1f} s (wait-to-restore {policy.wait_to_restore:.1f} s"
        if _hold_end(policy, s) > s.since + policy.wait_to_restore:
            reason += f", hold {policy.hold:.1f} s"
        reason += ")"
    record = SubjectHealth(state, now, s.healthy, s.source, s.changed, now, s.moves + 1,
                           s.order)
    return record, Decision(kind, subject, now, reason, s.source)


@dataclass(frozen=True)
class ProbeCounter:
    """Host health from probes: `misses` unanswered in a row is down, the next answer is up.

    A value: `sent_all`, `answered` and `expired` return the new counter. Answers
    carry no probe id, so an answer settles every probe outstanding for the
    subject, and an answer that arrives after its probe was counted missed still
    counts (it proves the host is alive).
    """

    misses: int = 3
    outstanding: ShardedMap[Subject, tuple[float, ...]] = field(
        default_factory=ShardedMap)  # send times not settled (changed an answer at a time)
    missed: FrozenMap[Subject, int] = EMPTY  # misses in a row
    down_now: frozenset[Subject] = frozenset()

    def __post_init__(self) -> None:
        misses = self.misses
        if isinstance(misses, bool) or not isinstance(misses, int) or misses < 1:
            raise ValueError(f"ProbeCounter.misses must be an int >= 1, got {misses!r}")

    def sent(self, now: float, subject: Subject) -> ProbeCounter:
        """A probe was sent to `subject` at `now`."""
        return self.sent_all(now, (subject,))

    def sent_all(self, now: float, subjects: Iterable[Subject]) -> ProbeCounter:
        """A probe was sent to each of `subjects` at `now` (one new counter for them all)."""
        outstanding = self.outstanding
        changes = {subject: outstanding.get(subject, ()) + (now,) for subject in subjects}
        if not changes:
            return self
        return replace(self, outstanding=outstanding.updated(changes))

    def answered(self, now: float, subject: Subject
                 ) -> tuple[ProbeCounter, list[tuple[Subject, bool]]]:
        """`subject` answered: resets its misses; `[(subject, True)]` if it was down."""
        down = subject in self.down_now
        if not down and subject not in self.outstanding and subject not in self.missed:
            return self, []
        new = ProbeCounter(self.misses, self.outstanding.without(subject),
                           self.missed.without(subject),
                           self.down_now - {subject} if down else self.down_now)
        return new, [(subject, True)] if down else []

    def expired(self, now: float, timeout: float
                ) -> tuple[ProbeCounter, list[tuple[Subject, bool]]]:
        """Probes unanswered `timeout` s after sending count as misses; down at `misses`."""
        transitions: list[tuple[Subject, bool]] = []
        outstanding: dict[Subject, tuple[float, ...]] = {}
        missed: dict[Subject, int] = {}
        down = set()
        for subject, times in self.outstanding.items():
            late = sum(1 for t in times if now >= t + timeout)
            if not late:
                continue
            outstanding[subject] = tuple(t for t in times if now < t + timeout)
            count = missed[subject] = self.missed.get(subject, 0) + late
            if count >= self.misses and subject not in self.down_now:
                down.add(subject)
                transitions.append((subject, False))
        if not outstanding:
            return self, transitions
        return replace(self, outstanding=self.outstanding.updated(outstanding),
                       missed=self.missed.updated(missed),
                       down_now=self.down_now | down), transitions

    def down(self) -> set[Subject]:
        """Subjects currently considered down by their probes."""
        return set(self.down_now)


def _label(subject: Subject) -> str:
    if isinstance(subject, tuple):
        return "/".join(str(part) for part in subject)
    return str(subject)
