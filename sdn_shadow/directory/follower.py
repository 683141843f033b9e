"""Mirror rounds and the follow loop: read, plan, apply, report; back-off when unreachable."""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from sdn_shadow.directory.ldap_io import DirectoryError, OpResult
from sdn_shadow.directory.mirror import (
    DN_ATTRIBUTES,
    Add,
    Delete,
    Drift,
    Entry,
    MappingRule,
    ModDN,
    Modify,
    Op,
    drift,
    expected_shadow,
    norm_dn,
    plan,
    preserve_drift,
    rebase_dn,
    record_after,
    renames,
)

LOG = logging.getLogger("sdn_shadow.directory")
_VERBS = {Add: "add", Modify: "modify", ModDN: "rename", Delete: "delete"}


class Directory(Protocol):
    """What a round needs from the server (ldap_io.LdapDirectory is one)."""

    def read(self, base: str) -> dict[str, Entry]:
        """The subtree at `base`."""

    def fingerprint(self, base: str) -> str:
        """A digest that changes whenever the subtree changes."""

    def apply(self, ops: Iterable[Op]) -> list[OpResult]:
        """Apply the operations; DirectoryError when the session breaks."""

    def close(self) -> None:
        """Release the connection."""


@dataclass(frozen=True)
class Failure:
    """An operation the server rejected: the DN and the server's reason."""

    dn: str
    operation: str
    reason: str
    code: int | None = None

    def __str__(self) -> str:
        """`rejected DN: reason` (with the operation when it was not an add)."""
        verb = "" if self.operation == "add" else f" ({self.operation})"
        return f"rejected {self.dn}{verb}: {self.reason}"


@dataclass(frozen=True)
class RoundReport:
    """What one round did: operations applied, rejections, drift found, or the error."""

    number: int
    at: float
    duration: float
    added: int = 0
    modified: int = 0
    renamed: int = 0
    deleted: int = 0
    failures: tuple[Failure, ...] = ()
    drift: tuple[Drift, ...] = ()
    reverted: bool = False
    unchanged: bool = False
    error: str | None = None
    retry_in: float | None = None

    @property
    def ok(self) -> bool:
        """True when the round reached the server and nothing was rejected."""
        return self.error is None and not self.failures

    def line(self) -> str:
        """The one-line summary, e.g. `round 3: 2 added, ... drift 0 (12 ms)`."""
        took = f"({self.duration * 1000:.0f} ms)"
        if self.error is not None:
            retry = f"; retry in {self.retry_in:g} s" if self.retry_in is not None else ""
            return f"round {self.number}: error: {self.error}{retry} {took}"
        if self.unchanged:
            return f"round {self.number}: no change {took}"
        drift = f"drift {len(self.drift)}"
        if self.drift:
            drift += " reverted" if self.reverted else " kept"
        return (f"round {self.number}: {self.added} added, {self.modified} modified, "
                f"{self.renamed} renamed, {self.deleted} deleted, {len(self.failures)} "
                f"rejected, {drift} {took}")

    def lines(self) -> list[str]:
        """The summary line, then one line per rejected entry and per drift."""
        return ([self.line()] + [str(f) for f in self.failures]
                + [f"drift: {d}" for d in self.drift])

    def to_json(self) -> dict[str, Any]:
        """The report as JSON-ready data."""
        data = dataclasses.asdict(self)
        data["failures"] = [dataclasses.asdict(f) for f in self.failures]
        data["drift"] = [dataclasses.asdict(d) for d in self.drift]
        data["line"] = self.line()
        return data


@dataclass
class _Backoff:
    """Exponential back-off: initial, doubling, capped; reset after a good round."""

    initial: float
    cap: float
    failures: int = 0

    def next(self) -> float:
        """The wait before the next attempt after one more failure."""
        self.failures += 1
        return min(self.cap, self.initial * 2 ** (self.failures - 1))


class Mirror:
    """Keeps the shadow subtree a mirror of the primary subtree, one round at a time.

    The mirror remembers across rounds (in memory only) what the primary
    implied for the shadow (the record), which primary entryUUID became which
    shadow DN (for renames), and the subtrees' fingerprints (to skip rounds
    where neither side changed). Anything in the shadow that differs from the
    record is drift: reported, and reverted only with `revert_drift`. A first
    round has no record: it brings the shadow to the primary and reports no
    drift.
    """

    def __init__(self, connect: Callable[[], Directory], primary_base: str, shadow_base: str,
                 rules: Iterable[MappingRule] = (), *, dn_attributes: Iterable[str] = (),
                 revert_drift: bool = False, backoff_initial: float = 1.0,
                 backoff_max: float = 30.0,
                 on_report: Callable[[RoundReport], None] | None = None,
                 clock: Callable[[], float] = time.monotonic, history: int = 100,
                 log_reports: bool = True) -> None:
        """Configure; nothing is contacted until the first round."""
        if backoff_initial <= 0 or backoff_max < backoff_initial:
            raise ValueError("back-off: need 0 < initial <= max")
        self.connect = connect
        self.primary_base = primary_base
        self.shadow_base = shadow_base
        self.rules = tuple(rules)
        self.dn_attributes = frozenset(DN_ATTRIBUTES | {a.lower() for a in dn_attributes})
        self.revert_drift = revert_drift
        self.on_report = on_report
        self.clock = clock
        self.log_reports = log_reports
        self._backoff = _Backoff(backoff_initial, backoff_max)
        self._directory: Directory | None = None
        self._record: dict[str, Entry] | None = None
        self._known: dict[str, str] = {}
        self._fingerprint: tuple[str, str] | None = None
        self._number = 0
        self._lock = threading.Lock()
        self._history: deque[RoundReport] = deque(maxlen=history)

    def reports(self) -> list[RoundReport]:
        """The latest rounds' reports, oldest first (safe from another thread)."""
        with self._lock:
            return list(self._history)

    def run_once(self, now: float | None = None) -> RoundReport:
        """One round: read both subtrees, plan, apply, report; never raises DirectoryError."""
        report = self._round(time.time() if now is None else now)
        self._publish(report)
        return report

    def follow(self, interval: float, stop_event: threading.Event) -> None:
        """Run rounds every `interval` s until `stop_event` is set; errors back off, never raise."""
        while not stop_event.is_set():
            try:
                report = self._round(time.time())
            except Exception as exc:  # a bug must not stop the controller's mirror
                LOG.exception("LDAP mirror round failed")
                self._drop()
                report = RoundReport(self._number, time.time(), 0.0,
                                     error=f"internal error: {exc!r}")
            if report.error is not None:
                wait = self._backoff.next()
                report = dataclasses.replace(report, retry_in=wait)
            else:
                self._backoff.failures = 0
                wait = interval
            self._publish(report)
            stop_event.wait(wait)
        self._drop()

    def close(self) -> None:
        """Close the connection, if any."""
        self._drop()

    def _publish(self, report: RoundReport) -> None:
        """Keep the report, log it, and hand it to `on_report`."""
        with self._lock:
            self._history.append(report)
        if self.log_reports:
            level = (logging.WARNING if not report.ok
                     else logging.DEBUG if report.unchanged else logging.INFO)
            for text in report.lines():
                LOG.log(level, "ldap mirror %s", text)
        if self.on_report is not None:
            try:
                self.on_report(report)
            except Exception:  # a failing consumer must not stop the mirroring
                LOG.exception("LDAP mirror report consumer failed")

    def _drop(self) -> None:
        """Forget the connection (after an error) and the fingerprints."""
        directory, self._directory = self._directory, None
        self._fingerprint = None
        if directory is not None:
            directory.close()

    def _round(self, at: float) -> RoundReport:
        """One round, its errors turned into a report."""
        self._number += 1
        started = self.clock()
        try:
            return self._sync(at, started)
        except DirectoryError as exc:
            self._drop()
            return RoundReport(self._number, at, self.clock() - started, error=str(exc))

    def _sync(self, at: float, started: float) -> RoundReport:
        """Read, plan and apply; DirectoryError before anything was applied."""
        if self._directory is None:
            self._directory = self.connect()
        directory = self._directory
        fingerprint = (directory.fingerprint(self.primary_base),
                       directory.fingerprint(self.shadow_base))
        if fingerprint == self._fingerprint:
            return RoundReport(self._number, at, self.clock() - started, unchanged=True)
        primary = directory.read(self.primary_base)
        if norm_dn(self.primary_base) not in primary:
            raise DirectoryError(f"primary base {self.primary_base} not found: "
                                 f"nothing mirrored")
        shadow = directory.read(self.shadow_base)
        expected = expected_shadow(primary, self.primary_base, self.shadow_base, self.rules,
                                   self.dn_attributes)
        found = [] if self._record is None else drift(self._record, shadow, self.dn_attributes)
        target = expected
        if self._record is not None and not self.revert_drift:
            target = preserve_drift(expected, self._record, shadow, self.dn_attributes)
        moves = renames(primary, self._known, self.primary_base, self.shadow_base)
        ops = plan(target, shadow, moves, self.dn_attributes)
        error = None
        try:
            results = directory.apply(ops)
        except DirectoryError as exc:
            results, error = exc.results, str(exc)
            self._drop()
        self._remember(primary, expected, shadow, ops, results)
        if error is None and not any(r.ok for r in results):
            self._fingerprint = fingerprint
        else:
            self._fingerprint = None
        return self._report(at, started, results, found, error)

    def _remember(self, primary: Mapping[str, Entry], expected: dict[str, Entry],
                  shadow: dict[str, Entry], ops: list[Op], results: list[OpResult]) -> None:
        """Update the record and the UUID -> shadow DN map after applying."""
        failed = [r.op for r in results if not r.ok] + ops[len(results):]
        previous = self._record if self._record is not None else shadow
        self._record = record_after(expected, previous, failed)
        known: dict[str, str] = {}
        for entry in primary.values():
            if not entry.uuid:
                continue
            key = norm_dn(rebase_dn(entry.dn, self.primary_base, self.shadow_base))
            if key in self._record:
                known[entry.uuid] = self._record[key].dn
            elif entry.uuid in self._known:
                known[entry.uuid] = self._known[entry.uuid]
        self._known = known

    def _report(self, at: float, started: float, results: list[OpResult],
                found: list[Drift], error: str | None) -> RoundReport:
        """Count what was applied and collect the rejections."""
        done = [r.op for r in results if r.ok]
        failures = tuple(Failure(r.op.dn, _VERBS[type(r.op)], r.reason, r.code)
                         for r in results if not r.ok)
        return RoundReport(
            self._number, at, self.clock() - started,
            added=sum(isinstance(op, Add) for op in done),
            modified=sum(isinstance(op, Modify) for op in done),
            renamed=sum(isinstance(op, ModDN) for op in done),
            deleted=sum(isinstance(op, Delete) for op in done),
            failures=failures, drift=tuple(found),
            reverted=bool(found) and self.revert_drift, error=error)
