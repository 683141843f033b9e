"""Poll scheduling and reply bookkeeping: pure values, a given `now`."""

from __future__ import annotations

from sdn_shadow.control.polls import STALE_AFTER, Poll, Requests, Schedule, polls_of
from sdn_shadow.control.sync import Barriers, Collecting, Xids, last_xid


def schedule() -> Schedule:
    return Schedule((Poll("ports", 1.0), Poll("demand", 2.0)))


def test_every_kind_is_due_at_first_on_every_synced_switch() -> None:
    after, due = schedule().due(100.0, [2, 1], {})
    assert due == [(1, "ports"), (1, "demand"), (2, "ports"), (2, "demand")]
    assert after.last_sent[(1, "ports")] == 100.0


def test_a_kind_is_due_again_after_its_interval() -> None:
    s, _ = schedule().due(100.0, [1], {})
    s, due = s.due(100.5, [1], {})
    assert due == []
    s, due = s.due(101.0, [1], {})
    assert due == [(1, "ports")]
    _, due = s.due(102.0, [1], {})
    assert due == [(1, "ports"), (1, "demand")]


def test_an_unanswered_request_holds_its_kind_until_stale() -> None:
    s, _ = schedule().due(100.0, [1], {})
    waiting = {(1, "ports"): 100.0}
    _, due = s.due(103.0, [1], waiting)
    assert due == [(1, "demand")]
    _, due = s.due(100.0 + STALE_AFTER * 1.0, [1], waiting)
    assert (1, "ports") in due


def test_nothing_due_leaves_the_schedule_as_it_was() -> None:
    s, _ = schedule().due(100.0, [1], {})
    same, due = s.due(100.1, [1], {})
    assert due == [] and same is s


def test_the_controller_polls_four_kinds() -> None:
    assert [p.kind for p in polls_of(1, 2, 3, 4)] == ["ports", "demand", "mirror", "meters"]


def test_a_reply_names_its_request_until_its_last_part() -> None:
    r = Requests().add(1, 7, "demand", 5.0).add(1, 8, "ports", 5.5)
    assert r.outstanding() == {(1, "demand"): 5.0, (1, "ports"): 5.5}
    kind, r = r.answer(1, 7, more=True)
    assert kind == "demand" and (1, 7) in r.sent
    kind, r = r.answer(1, 7, more=False)
    assert kind == "demand" and (1, 7) not in r.sent
    kind, r2 = r.answer(1, 99, more=False)
    assert kind is None and r2 is r
    assert r.forget(1).sent == {}


def test_outstanding_takes_the_latest_request_of_a_kind() -> None:
    r = Requests().add(1, 7, "mirror", 5.0).add(1, 8, "mirror", 6.0)
    assert r.outstanding() == {(1, "mirror"): 6.0}


def test_collecting_is_complete_with_all_three_readings() -> None:
    c = Collecting().with_flows([], False).with_groups([1, 2], True)
    assert not c.complete
    c = c.with_meters([], True).with_flows([], True)
    assert c.complete and c.groups == (1, 2)


def test_xids_wrap_and_skip_zero() -> None:
    first, after = Xids(0xFFFFFFFE).take(2)
    assert first == 0xFFFFFFFE and after.next == 1
    assert last_xid(0xFFFFFFFF, 2) == 0


def test_only_the_awaited_barrier_counts() -> None:
    b = Barriers().expect(1, 50, 3.0)
    started, same = b.answered(1, 49)
    assert started is None and same is b
    started, after = b.answered(1, 50)
    assert started == 3.0 and after.waiting == {}
    assert b.forget(1).waiting == {} and b.forget(2) is b
