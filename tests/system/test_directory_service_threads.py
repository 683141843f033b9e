"""The controller's LDAP mirror threads (`DirectoryMirrors`) with an in-memory directory:
real threads, waits on the wall clock."""

from __future__ import annotations

import threading
import time

import pytest

from sdn_shadow.config.model import LdapMirrorSettings
from sdn_shadow.directory.dn import within
from sdn_shadow.directory.follower import RoundReport
from sdn_shadow.directory.ldap_io import DirectoryError, OpResult
from sdn_shadow.directory.mirror import Entry, by_dn, norm_dn, simulate
from sdn_shadow.directory.service import DirectoryMirrors
from tests.unit.test_directory_service import P, Reports, S, config


class FakeDirectory:
    """An in-memory directory (follower.Directory) that can be down or break in odd ways."""

    def __init__(self) -> None:
        self.entries = by_dn([
            Entry.of(P, {"objectClass": "organizationalUnit", "ou": "tenant-a"}),
            Entry.of(f"cn=h1,{P}", {"objectClass": ["device", "ipHost"], "cn": "h1",
                                    "ipHostNumber": "10.0.0.1"})])
        self.down = False
        self.bug: Exception | None = None  # raised once by the next read
        self.close_bug: Exception | None = None  # raised once by the next close
        self.lock = threading.Lock()

    def _check(self) -> None:
        if self.down:
            raise DirectoryError("cannot reach ldap://fake: down")

    def read(self, base: str) -> dict[str, Entry]:
        self._check()
        bug, self.bug = self.bug, None
        if bug is not None:
            raise bug
        with self.lock:
            return {k: e for k, e in self.entries.items() if within(k, base)}

    def fingerprint(self, base: str) -> str:
        self._check()
        with self.lock:
            return repr(sorted((k, sorted(e.attributes.items()))
                               for k, e in self.entries.items() if within(k, base)))

    def apply(self, ops) -> list[OpResult]:
        self._check()
        with self.lock:
            for op in ops:
                self.entries = simulate(self.entries, [op])
        return [OpResult(op, True, 0, "success") for op in ops]

    def close(self) -> None:
        bug, self.close_bug = self.close_bug, None
        if bug is not None:
            raise bug

    def add(self, entry: Entry) -> None:
        """An operator's change in the primary."""
        with self.lock:
            self.entries = {**self.entries, norm_dn(entry.dn): entry}


@pytest.fixture
def mirrors():
    """DirectoryMirrors started by the test; always stopped."""
    started: list[DirectoryMirrors] = []
    yield started.append
    for service in started:
        assert service.stop(5)


def fails_first(directory: FakeDirectory, times: int = 1):
    """A connector whose connect() fails `times` times, then returns `directory`."""
    calls = {"n": 0}
    seen: list[LdapMirrorSettings] = []

    def connector(settings: LdapMirrorSettings):
        seen.append(settings)

        def connect() -> FakeDirectory:
            calls["n"] += 1
            if calls["n"] <= times:
                raise DirectoryError("cannot reach ldap://127.0.0.1:1: connection refused")
            return directory
        return connect
    connector.seen = seen  # type: ignore[attr-defined]
    return connector


def test_a_failed_round_then_an_ok_one_then_changes_follow(tmp_path, mirrors) -> None:
    directory = FakeDirectory()
    reports = Reports()
    connector = fails_first(directory)
    service = DirectoryMirrors(config(tmp_path), reports, connector=connector,
                               backoff_initial=0.01)
    mirrors(service.start())
    assert [s.shadow_base for s in connector.seen] == [S]
    got = reports.wait(lambda rs: len(rs) >= 2)
    assert not got[0].ok and "connection refused" in got[0].error and got[0].retry_in == 0.01
    assert got[1].ok and got[1].added == 2
    assert norm_dn(f"cn=h1,{S}") in directory.entries
    directory.add(Entry.of(f"cn=h2,{P}", {"objectClass": ["device", "ipHost"], "cn": "h2",
                                          "ipHostNumber": "10.0.0.2"}))
    reports.wait(lambda rs: any(r.added == 1 for r in rs))
    assert norm_dn(f"cn=h2,{S}") in directory.entries
    assert reports.wait(lambda rs: rs[-1].unchanged)


def test_stop_ends_the_threads_promptly_even_with_a_long_interval(tmp_path) -> None:
    reports = Reports()
    service = DirectoryMirrors(config(tmp_path, interval=3600, networks=("tenant-a", "b")),
                               reports, connector=lambda settings: FakeDirectory)
    service.start()
    assert set(service.threads) == {"tenant-a", "b"}
    reports.wait(lambda rs: len(rs) >= 1)
    reports.wait(lambda rs: len(rs) >= 1, network="b")
    assert service.stop(30), "still running: stop() waited for the hour-long interval"
    assert not any(t.is_alive() for t in service.threads.values())
    assert all(t.daemon for t in service.threads.values())


def test_an_unexpected_exception_does_not_end_the_thread(tmp_path, mirrors) -> None:
    directory = FakeDirectory()
    reports = Reports()
    service = DirectoryMirrors(config(tmp_path), reports, connector=lambda s: lambda: directory,
                               backoff_initial=0.01)
    mirrors(service.start())
    reports.wait(lambda rs: any(r.added == 2 for r in rs))
    thread = service.threads["tenant-a"]
    # a bug inside a round: the mirror reports it and backs off
    directory.bug = KeyError("boom")
    got = reports.wait(lambda rs: any(r.error and "boom" in r.error for r in rs))
    assert any(r.retry_in for r in got if r.error)
    # a bug out of the follow loop itself (closing after an error fails): restarted
    directory.close_bug = RuntimeError("close bug")  # before the bug that leads to a close
    directory.bug = RuntimeError("read bug")
    got = reports.wait(lambda rs: any(r.error and "close bug" in r.error for r in rs))
    crash = next(r for r in got if r.error and "close bug" in r.error)
    assert crash.error == "internal error: RuntimeError('close bug')" and crash.retry_in == 0.01
    assert thread.is_alive()
    count = len(got)
    directory.add(Entry.of(f"cn=h3,{P}", {"objectClass": ["device", "ipHost"], "cn": "h3",
                                          "ipHostNumber": "10.0.0.3"}))
    got = reports.wait(lambda rs: any(r.ok and r.added == 1 for r in rs[count:]))
    assert norm_dn(f"cn=h3,{S}") in directory.entries and thread.is_alive()


def test_a_consumer_that_raises_does_not_stop_the_mirror(tmp_path, mirrors) -> None:
    directory = FakeDirectory()
    seen: list[RoundReport] = []

    def broken(network: str, report: RoundReport) -> None:
        seen.append(report)
        raise RuntimeError("consumer bug")

    service = DirectoryMirrors(config(tmp_path), broken, connector=lambda s: lambda: directory)
    mirrors(service.start())
    deadline = time.monotonic() + 5
    while len(seen) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(seen) >= 3 and service.threads["tenant-a"].is_alive()
