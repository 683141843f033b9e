"""Commit.wait on the wall clock: timeouts that run out, replies from other threads."""

from __future__ import annotations

import threading
import time

from sdn_shadow.openflow.commit import Commit, Commits
from tests.unit.test_commit import S1, S1_COMMIT, S1_FIRST, S2, S2_COMMIT, _two_switches


def _timed_wait(commit: Commit, timeout: float) -> tuple[dict[int, str], float]:
    start = time.monotonic()
    refused = commit.wait(timeout)
    return refused, time.monotonic() - start


def test_no_answer_counts_as_refused_after_the_timeout():
    commits, commit = _two_switches()
    commits.committed(S2, S2_COMMIT)
    refused, took = _timed_wait(commit, 0.05)
    assert refused == {S1: "no answer within 0.05 s"}
    assert took >= 0.04, "it did not wait for the timeout"
    assert took < 30, "a hang guard only"
    assert commit.applied == {S2}


def test_no_answer_from_anyone():
    _, commit = _two_switches()
    assert commit.wait(0.01) == {S1: "no answer within 0.01 s", S2: "no answer within 0.01 s"}
    assert commit.applied == set()


def test_a_switch_that_did_not_answer_in_time_is_unknown_and_late_replies_are_ignored():
    commits, commit = Commits(), Commit()
    commits.expect(commit, S1, 10, S1_FIRST, S1_COMMIT)
    assert commit.wait(0.01) == {S1: "no answer within 0.01 s"}
    assert commit.unknown == {S1}  # the caller undoes it there too, to be safe
    commits.committed(S1, S1_COMMIT)
    assert commit.applied == set()


def test_replies_from_another_thread_wake_wait():
    commits, commit = _two_switches()

    def reply() -> None:
        time.sleep(0.02)
        commits.failed(S1, S1_FIRST + 1, "error type=1 code=2")
        commits.committed(S1, S1_COMMIT)
        time.sleep(0.02)
        commits.committed(S2, S2_COMMIT)

    thread = threading.Thread(target=reply)
    thread.start()
    refused, took = _timed_wait(commit, 60)
    thread.join()
    assert refused == {S1: "error type=1 code=2"}
    assert commit.applied == {S1, S2}
    assert took >= 0.03, "it did not wait for the replies"
    assert took < 30, "not woken by the replies: it waited for its 60 s timeout"


def test_many_commits_settled_concurrently_from_threads():
    commits = Commits()
    pairs = []
    for i in range(50):
        commit, first = Commit(), 1000 + 10 * i
        for dpid in (S1, S2):
            commits.expect(commit, dpid, i + 1, first, first + 3)
        pairs.append((commit, first + 3))

    def answer(dpid: int) -> None:
        for commit_index, (_, commit_xid) in enumerate(pairs):
            if commit_index % 2:
                commits.failed(dpid, commit_xid, f"refused {commit_index}")
            else:
                commits.committed(dpid, commit_xid)

    threads = [threading.Thread(target=answer, args=(dpid,)) for dpid in (S1, S2)]
    for t in threads:
        t.start()
    results = [commit.wait(5) for commit, _ in pairs]
    for t in threads:
        t.join()
    for i, ((commit, _), refused) in enumerate(zip(pairs, results, strict=True)):
        if i % 2:
            assert refused == {S1: f"refused {i}", S2: f"refused {i}"}
            assert commit.applied == set()
        else:
            assert refused == {}
            assert commit.applied == {S1, S2}
    assert commits.bundles == {S1: [], S2: []}


def test_a_wait_that_runs_out_forgets_its_bundles() -> None:
    commits, commit = Commits(), Commit()
    commits.expect(commit, 1, 7, 100, 102)
    assert commit.wait(0.01) == {1: "no answer within 0.01 s"}
    assert commits.bundles == {1: []}
    assert commits.failed(1, 101, "late") is False, "a late error is no longer ours"
