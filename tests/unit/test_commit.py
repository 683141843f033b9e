"""Commits/Commit: bundle replies and errors by xid settle a change across switches (no waits)."""

from __future__ import annotations

import threading

import pytest

from sdn_shadow.openflow.bundle import pack_bundle, xids_needed
from sdn_shadow.openflow.commit import Commit, Commits
from sdn_shadow.openflow.messages import GroupDelete

# Two switches, one bundle each: OPEN, two ADDs, COMMIT.
S1, S1_FIRST, S1_COMMIT = 1, 100, 103
S2, S2_FIRST, S2_COMMIT = 2, 200, 203


def _two_switches() -> tuple[Commits, Commit]:
    commits, commit = Commits(), Commit()
    commits.expect(commit, S1, 10, S1_FIRST, S1_COMMIT)
    commits.expect(commit, S2, 11, S2_FIRST, S2_COMMIT)
    return commits, commit


def _wait_at_once(commit: Commit) -> dict[int, str]:
    """commit.wait(5), failing instead of blocking if it would wait on an unset event."""
    event, wait = commit.done, commit.done.wait

    def checked(timeout: float | None = None) -> bool:
        assert event.is_set(), "wait() would block, though no answer is outstanding"
        return wait(timeout)

    event.wait = checked  # type: ignore[method-assign]
    return commit.wait(5)


def test_expect_registers_pending_switches():
    commits, commit = _two_switches()
    assert commit.pending == {S1, S2}
    assert (commit.applied, commit.refused, commit.done.is_set()) == (set(), {}, False)
    assert [(b.dpid, b.bundle_id, b.first_xid, b.commit_xid) for b in commits.bundles[S1]] == [
        (S1, 10, S1_FIRST, S1_COMMIT)]


def test_both_commit_replies_apply_everywhere():
    commits, commit = _two_switches()
    commits.committed(S1, S1_COMMIT)
    assert (commit.pending, commit.done.is_set()) == ({S2}, False)
    commits.committed(S2, S2_COMMIT)
    assert _wait_at_once(commit) == {}
    assert commit.applied == {S1, S2}
    assert (commit.pending, commit.done.is_set()) == (set(), True)
    assert commits.failed(S1, S1_FIRST, "late") is False  # the settled bundle is gone
    assert commit.refused == {}


def test_a_commit_reply_for_another_xid_or_switch_is_ignored():
    commits, commit = _two_switches()
    commits.committed(S1, S1_FIRST + 1)  # an ADD's xid, not the commit's
    commits.committed(S1, S2_COMMIT)  # the other switch's commit xid
    commits.committed(3, S1_COMMIT)  # an unknown switch
    assert (commit.applied, commit.pending, commit.done.is_set()) == (set(), {S1, S2}, False)


def test_an_add_error_then_the_commit_reply_is_refused_and_partially_applied():
    commits, commit = _two_switches()
    assert commits.failed(S1, S1_FIRST + 1, "error type=1 code=2") is True
    assert commit.refused == {S1: "error type=1 code=2"}
    assert (commit.pending, commit.done.is_set()) == ({S1, S2}, False)  # waits for the commit
    assert commits.failed(S1, S1_FIRST + 2, "second error") is True
    commits.committed(S1, S1_COMMIT)
    commits.committed(S2, S2_COMMIT)
    assert commit.wait(5) == {S1: "error type=1 code=2"}  # the first reason
    assert commit.applied == {S1, S2}


def test_an_error_on_the_commit_xid_refuses_without_applying_and_wakes_wait_at_once():
    commits, commit = Commits(), Commit()
    commits.expect(commit, S1, 10, S1_FIRST, S1_COMMIT)
    assert commits.failed(S1, S1_COMMIT, "error type=17 code=14") is True
    assert _wait_at_once(commit) == {S1: "error type=17 code=14"}
    assert (commit.applied, commit.pending) == (set(), set())
    commits.committed(S1, S1_COMMIT)  # nothing left to apply
    assert commit.applied == set()


def test_ovs_failing_commit_reports_the_message_error_then_the_commit_error():
    commits, commit = _two_switches()
    assert commits.failed(S1, S1_FIRST + 2, "error type=5 code=6") is True  # the failing ADD
    assert commits.failed(S1, S1_COMMIT, "error type=17 code=13") is True  # MSG_FAILED
    commits.committed(S2, S2_COMMIT)
    assert commit.wait(5) == {S1: "error type=5 code=6"}
    assert commit.applied == {S2}


def test_wait_on_a_commit_with_no_bundles_returns_at_once():
    assert _wait_at_once(Commit()) == {}


def test_a_disconnected_switch_is_refused():
    commits, commit = _two_switches()
    other = Commit()
    commits.expect(other, S1, 12, S1_COMMIT + 1, S1_COMMIT + 4)
    commits.disconnected(S1)
    assert commit.refused == other.refused == {S1: "the switch disconnected"}
    assert (other.pending, other.done.is_set()) == (set(), True)
    assert other.wait(5) == {S1: "the switch disconnected"}
    commits.committed(S2, S2_COMMIT)
    assert commit.wait(5) == {S1: "the switch disconnected"}
    assert commit.applied == {S2}
    assert commits.failed(S1, S1_FIRST + 1, "late") is False
    commits.committed(S1, S1_COMMIT)
    assert commit.applied == {S2}
    commits.disconnected(S1)  # again, and for a switch never seen
    commits.disconnected(9)
    assert commit.refused == {S1: "the switch disconnected"}


def test_a_reason_given_before_the_disconnect_is_kept():
    commits, commit = Commits(), Commit()
    commits.expect(commit, S1, 10, S1_FIRST, S1_COMMIT)
    commits.failed(S1, S1_FIRST + 1, "error type=1 code=2")
    commits.disconnected(S1)
    assert commit.wait(5) == {S1: "error type=1 code=2"}


@pytest.mark.parametrize(("dpid", "xid"), [
    (S1, S1_FIRST - 1), (S1, S1_COMMIT + 1), (S1, S2_FIRST), (S2, S1_COMMIT), (3, S1_FIRST),
])  # fmt: skip
def test_errors_for_xids_of_no_bundle_are_not_ours(dpid, xid):
    commits, commit = _two_switches()
    assert commits.failed(dpid, xid, "error type=1 code=1") is False
    assert (commit.refused, commit.pending) == ({}, {S1, S2})


@pytest.mark.parametrize("xid", [S1_FIRST, S1_FIRST + 1, S1_FIRST + 2])
def test_errors_anywhere_from_open_to_the_last_add_belong_to_the_bundle(xid):
    commits, commit = _two_switches()
    assert commits.failed(S1, xid, "r") is True
    assert (commit.refused, commit.pending) == ({S1: "r"}, {S1, S2})


def test_xid_range_wrapping_past_2_32():
    msgs = [GroupDelete(1), GroupDelete(2)]
    first = 0xFFFFFFFE
    _, commit_xid = pack_bundle(msgs, 5, first)
    assert (commit_xid, xids_needed(msgs)) == (1, 4)  # FFFFFFFE, FFFFFFFF, 0, 1
    commits, commit = Commits(), Commit()
    commits.expect(commit, S1, 5, first, commit_xid)
    for xid in (2, 0xFFFFFFFD, 0x7FFFFFFF):
        assert commits.failed(S1, xid, "no") is False
    assert commits.failed(S1, 0xFFFFFFFF, "add 1") is True
    assert commits.failed(S1, 0, "add 2") is True
    assert commit.pending == {S1}
    commits.committed(S1, commit_xid)
    assert commit.wait(5) == {S1: "add 1"}
    assert commit.applied == {S1}


def test_a_wrapped_commit_error_settles():
    commits, commit = Commits(), Commit()
    commits.expect(commit, S1, 5, 0xFFFFFFFF, 0)
    assert commits.failed(S1, 0, "commit failed") is True
    assert commit.wait(5) == {S1: "commit failed"}
    assert commit.applied == set()


def test_two_commits_in_flight_on_one_switch_are_kept_apart():
    commits, first, second = Commits(), Commit(), Commit()
    commits.expect(first, S1, 10, 100, 103)
    commits.expect(second, S1, 11, 104, 107)
    assert commits.failed(S1, 105, "error type=1 code=2") is True
    assert (first.refused, second.refused) == ({}, {S1: "error type=1 code=2"})
    commits.committed(S1, 103)
    assert (first.done.is_set(), second.done.is_set()) == (True, False)
    assert first.wait(5) == {}
    assert (first.applied, second.applied) == ({S1}, set())
    commits.committed(S1, 107)
    assert second.wait(5) == {S1: "error type=1 code=2"}
    assert second.applied == {S1}


def test_a_commit_error_on_one_of_two_bundles_on_a_switch_leaves_the_other():
    commits, first, second = Commits(), Commit(), Commit()
    commits.expect(first, S1, 10, 100, 103)
    commits.expect(second, S1, 11, 104, 107)
    assert commits.failed(S1, 103, "commit failed") is True
    assert (first.refused, first.done.is_set()) == ({S1: "commit failed"}, True)
    assert (second.refused, second.pending, second.done.is_set()) == ({}, {S1}, False)
    commits.committed(S1, 107)
    assert (first.wait(5), second.wait(5)) == ({S1: "commit failed"}, {})
    assert (first.applied, second.applied) == (set(), {S1})


def test_bundle_id_increments_from_1_and_wraps_past_0():
    commits = Commits()
    assert [commits.bundle_id() for _ in range(3)] == [1, 2, 3]
    commits.next_id = 0xFFFFFFFE
    assert [commits.bundle_id() for _ in range(3)] == [0xFFFFFFFE, 0xFFFFFFFF, 1]


def test_bundle_ids_from_many_threads_are_unique():
    commits = Commits()
    got: list[list[int]] = [[] for _ in range(8)]

    def take(out: list[int]) -> None:
        for _ in range(500):
            out.append(commits.bundle_id())

    threads = [threading.Thread(target=take, args=(out,)) for out in got]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(i for out in got for i in out) == list(range(1, 4001))
