"""Health machine: failover at once, failback after wait-to-restore and hold, grace, probes."""

from __future__ import annotations

import copy
import json
import math
import random
from typing import Any

import pytest

from sdn_shadow.policy.health import Decision, HealthMachine, HealthPolicy, ProbeCounter

LINK = ("s1", "s2")
OTHER = ("s2", "s3")
HOST = ("tenant-a", "h1")
PORT_DOWN = "port down (port status)"


class _Held:
    """A machine as its owner holds it: each step's new value swapped in."""

    def __init__(self, machine: HealthMachine) -> None:
        self.value = machine

    def observe(self, now: float, subject: object, up: bool, source: str) -> list[Decision]:
        self.value, decisions = self.value.observe(now, subject, up, source)
        return decisions

    def tick(self, now: float) -> list[Decision]:
        self.value, decisions = self.value.tick(now)
        return decisions

    def ignore_until(self, subject: object, until: float) -> None:
        self.value = self.value.ignore_until(subject, until)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.value, name)


class _Probes:
    """A probe counter as its owner holds it."""

    def __init__(self, counter: ProbeCounter) -> None:
        self.value = counter

    def sent(self, now: float, subject: object) -> None:
        self.value = self.value.sent(now, subject)

    def answered(self, now: float, subject: object) -> list[tuple[object, bool]]:
        self.value, transitions = self.value.answered(now, subject)
        return transitions

    def expired(self, now: float, timeout: float) -> list[tuple[object, bool]]:
        self.value, transitions = self.value.expired(now, timeout)
        return transitions

    def down(self) -> set[object]:
        return self.value.down()


def _machine(wait_to_restore: float = 3.0, hold: float = 10.0) -> _Held:
    return _Held(HealthMachine(HealthPolicy(wait_to_restore=wait_to_restore, hold=hold)))


def _failover(at: float, reason: str = PORT_DOWN, source: str = "port",
              subject: object = LINK) -> Decision:
    return Decision("failover", subject, at, reason, source)


def _failback(at: float, reason: str, source: str = "port", subject: object = LINK) -> Decision:
    return Decision("failback", subject, at, reason, source)


def _ticks(machine: _Held, start: float, stop: float, step: float = 0.5) -> list[Decision]:
    out: list[Decision] = []
    for i in range(round((stop - start) / step) + 1):
        out += machine.tick(start + i * step)
    return out


def test_first_observation_down_fails_over_at_once() -> None:
    m = _machine()
    assert m.observe(5.0, LINK, False, "port") == [_failover(5.0)]
    assert m.state(LINK) == "failed"
    assert m.failed() == {LINK}


def test_unknown_subject_is_up_and_first_up_is_a_no_op() -> None:
    m = _machine()
    assert m.state(LINK) == "up"
    assert m.observe(0.0, LINK, True, "port") == []
    assert m.state(LINK) == "up" and m.failed() == set()
    assert m.observe(1.0, LINK, False, "port") == [_failover(1.0)]


def test_failback_exactly_at_wait_to_restore_not_before() -> None:
    m = _machine(wait_to_restore=3.0, hold=0.0)
    assert m.observe(0.0, LINK, False, "port") == [_failover(0.0)]
    assert m.observe(1.0, LINK, True, "port") == []
    assert m.state(LINK) == "restoring"
    assert m.failed() == {LINK}  # traffic stays on the shadow while restoring
    assert m.tick(3.9) == []
    assert m.tick(4.0) == [_failback(4.0, "up for 3.0 s (wait-to-restore 3.0 s)")]
    assert m.state(LINK) == "up" and m.failed() == set()
    assert m.tick(100.0) == []


def test_down_while_restoring_returns_to_failed_without_a_decision() -> None:
    m = _machine(wait_to_restore=3.0, hold=0.0)
    m.observe(0.0, LINK, False, "port")
    m.observe(1.0, LINK, True, "port")
    assert m.observe(2.0, LINK, False, "port") == []
    assert m.state(LINK) == "failed"
    assert m.tick(4.0) == []  # the cancelled failback would have been due here
    assert m.observe(5.0, LINK, True, "port") == []
    assert m.tick(7.9) == []
    assert m.tick(8.0) == [_failback(8.0, "up for 3.0 s (wait-to-restore 3.0 s)")]


def test_repeated_observations_are_no_ops_and_do_not_restart_wait_to_restore() -> None:
    m = _machine(wait_to_restore=3.0, hold=0.0)
    assert m.observe(0.0, LINK, False, "port") == [_failover(0.0)]
    assert m.observe(0.5, LINK, False, "port") == []
    assert m.observe(1.0, LINK, True, "port") == []
    assert m.observe(2.0, LINK, True, "port") == []
    assert m.observe(3.0, LINK, True, "port") == []
    assert m.observe(4.0, LINK, True, "port") == [
        _failback(4.0, "up for 3.0 s (wait-to-restore 3.0 s)")]
    assert m.observe(5.0, LINK, True, "port") == []
    assert m.snapshot()["s1/s2"]["moves"] == 2


def test_flapping_five_times_in_ten_seconds_moves_once_each_way() -> None:
    m = _machine(wait_to_restore=3.0, hold=10.0)
    decisions: list[Decision] = []
    for i in range(5):  # down at 0, 2, 4, 6, 8; up at 1, 3, 5, 7, 9
        decisions += m.observe(2.0 * i, LINK, False, "port")
        decisions += m.tick(2.0 * i + 0.5)
        decisions += m.observe(2.0 * i + 1.0, LINK, True, "port")
        decisions += m.tick(2.0 * i + 1.5)
    decisions += _ticks(m, 10.0, 60.0)
    assert decisions == [
        _failover(0.0),
        _failback(12.0, "up for 3.0 s (wait-to-restore 3.0 s)"),
    ]
    assert m.state(LINK) == "up"


def test_failback_due_by_wait_to_restore_is_postponed_until_hold_has_passed() -> None:
    m = _machine(wait_to_restore=3.0, hold=10.0)
    assert m.observe(0.0, LINK, False, "port") == [_failover(0.0)]
    m.observe(1.0, LINK, True, "port")
    assert m.tick(4.0) == []
    assert m.tick(9.9) == []
    assert m.state(LINK) == "restoring"
    assert m.tick(10.0) == [_failback(10.0, "up for 9.0 s (wait-to-restore 3.0 s, hold 10.0 s)")]


def test_postponed_failback_is_dropped_if_down_when_the_hold_ends() -> None:
    m = _machine(wait_to_restore=3.0, hold=10.0)
    m.observe(0.0, LINK, False, "port")
    m.observe(1.0, LINK, True, "port")
    assert m.observe(9.5, LINK, False, "port") == []
    assert m.tick(10.0) == []
    assert m.state(LINK) == "failed"


def test_failover_soon_after_a_failback_is_immediate_and_its_failback_waits_again() -> None:
    m = _machine(wait_to_restore=0.0, hold=10.0)
    m.observe(0.0, LINK, False, "port")
    m.observe(1.0, LINK, True, "port")
    assert m.tick(10.0) == [_failback(10.0, "up for 9.0 s (wait-to-restore 0.0 s, hold 10.0 s)")]
    assert m.observe(12.0, LINK, False, "port") == [_failover(12.0, PORT_DOWN)]
    assert m.state(LINK) == "failed"
    assert m.observe(13.0, LINK, True, "port") == []
    assert m.next_due() == 22.0
    assert _ticks(m, 13.0, 21.5) == [] and m.tick(21.9) == []
    assert m.tick(22.0) == [_failback(22.0, "up for 9.0 s (wait-to-restore 0.0 s, hold 10.0 s)")]


def test_random_flapping_fails_back_only_after_the_hold_and_settles_up() -> None:
    hold = 10.0
    m = _machine(wait_to_restore=3.0, hold=hold)
    rng = random.Random(7)
    decisions: list[Decision] = []
    up = True
    for step in range(1200):  # 300 s of events on a 0.25 s grid
        now = step * 0.25
        if rng.random() < 0.3:
            up = not up
            decisions += m.observe(now, LINK, up, "bfd")
        decisions += m.tick(now)
    decisions += m.observe(300.0, LINK, True, "bfd")
    decisions += _ticks(m, 300.0, 400.0)
    assert len(decisions) >= 4
    assert [d.kind for d in decisions] == ["failover", "failback"] * (len(decisions) // 2)
    held = [b.at - a.at for a, b in zip(decisions[::2], decisions[1::2], strict=True)]
    assert min(held) >= hold  # every failback waits out the hold after its failover
    assert m.state(LINK) == "up"


def test_grace_ignores_the_bfd_start_up_flap() -> None:
    m = _machine()
    m.observe(0.0, LINK, True, "port")
    m.ignore_until(LINK, 5.0)
    for now, up in [(0.1, False), (0.2, True), (0.3, False), (0.4, True)]:
        assert m.observe(now, LINK, up, "bfd") == []
    assert m.state(LINK) == "up"
    assert m.snapshot()["s1/s2"]["grace_until"] == 5.0
    assert m.tick(5.0) == []
    assert m.state(LINK) == "up" and m.failed() == set()
    assert m.snapshot()["s1/s2"]["grace_until"] is None
    assert m.observe(6.0, LINK, False, "bfd") == [
        _failover(6.0, "BFD session down (BFD)", "bfd")]


def test_after_grace_the_state_follows_the_last_observation() -> None:
    m = _machine()
    m.ignore_until(LINK, 5.0)
    assert m.observe(0.1, LINK, True, "bfd") == []
    assert m.observe(0.3, LINK, False, "bfd") == []
    assert m.state(LINK) == "up"
    assert m.next_due() == 5.0
    assert m.tick(4.9) == []
    assert m.tick(5.0) == [_failover(5.0, "BFD session down (BFD)", "bfd")]
    assert m.state(LINK) == "failed"


def test_grace_on_a_failed_subject_counts_wait_to_restore_from_the_end_of_grace() -> None:
    m = _machine(wait_to_restore=3.0, hold=0.0)
    m.observe(0.0, LINK, False, "port")
    m.ignore_until(LINK, 10.0)
    assert m.observe(2.0, LINK, True, "bfd") == []
    assert m.tick(5.0) == []
    assert m.state(LINK) == "failed"
    assert m.tick(10.0) == []
    assert m.state(LINK) == "restoring"
    assert m.tick(12.9) == []
    assert m.tick(13.0) == [_failback(13.0, "up for 3.0 s (wait-to-restore 3.0 s)", "bfd")]


def test_no_decision_during_grace_even_if_one_was_due() -> None:
    m = _machine(wait_to_restore=3.0, hold=0.0)
    m.observe(0.0, LINK, False, "port")
    m.observe(1.0, LINK, True, "port")
    m.ignore_until(LINK, 10.0)
    assert m.tick(4.0) == []
    assert m.next_due() == 10.0
    assert m.tick(10.0) == [_failback(10.0, "up for 9.0 s (wait-to-restore 3.0 s)")]


def test_an_observation_after_grace_supersedes_the_held_one() -> None:
    m = _machine()
    m.ignore_until(LINK, 5.0)
    assert m.observe(1.0, LINK, False, "bfd") == []
    assert m.observe(6.0, LINK, True, "bfd") == []
    assert m.state(LINK) == "up"
    assert m.tick(7.0) == []


def test_independent_subjects_do_not_interfere() -> None:
    m = _machine(wait_to_restore=3.0, hold=10.0)
    m.ignore_until(HOST, 50.0)
    assert m.observe(0.0, LINK, False, "port") == [_failover(0.0)]
    # OTHER's first move is not held back by LINK's move a second earlier.
    assert m.observe(1.0, OTHER, False, "bfd") == [
        _failover(1.0, "BFD session down (BFD)", "bfd", OTHER)]
    assert m.observe(2.0, LINK, True, "port") == []
    assert m.observe(3.0, OTHER, True, "bfd") == []
    assert m.failed() == {LINK, OTHER}
    # An observation of another subject returns whatever else is due at its time.
    assert m.observe(10.0, HOST, False, "probe") == [
        _failback(10.0, "up for 8.0 s (wait-to-restore 3.0 s, hold 10.0 s)")]
    assert m.tick(10.5) == []
    assert m.tick(11.0) == [
        _failback(11.0, "up for 8.0 s (wait-to-restore 3.0 s, hold 10.0 s)", "bfd", OTHER)]
    assert m.state(HOST) == "up" and m.failed() == set()


def test_sources_are_carried_and_named_in_reasons() -> None:
    m = _machine()
    assert m.observe(0.0, HOST, False, "probe") == [
        _failover(0.0, "health probes unanswered (probe)", "probe", HOST)]
    assert m.observe(0.0, LINK, False, "lldp") == [_failover(0.0, "down (lldp)", "lldp")]


def test_next_due() -> None:
    m = _machine(wait_to_restore=3.0, hold=10.0)
    assert m.next_due() is None
    m.observe(0.0, LINK, False, "port")
    assert m.next_due() is None  # failed: waiting for an up, not for a time
    m.observe(1.0, LINK, True, "port")
    assert m.next_due() == 10.0
    m.observe(2.0, OTHER, False, "port")
    m.observe(2.5, OTHER, True, "port")
    assert m.next_due() == 10.0
    m.ignore_until(LINK, 15.0)  # LINK frozen until 15; OTHER's failback is due at 12
    assert m.next_due() == 12.0


def test_snapshot_is_json_serialisable() -> None:
    m = _machine(wait_to_restore=3.0, hold=10.0)
    m.observe(0.0, LINK, False, "port")
    m.observe(1.0, LINK, True, "port")
    m.observe(2.0, HOST, True, "probe")
    m.ignore_until(HOST, 30.0)
    assert json.loads(json.dumps(m.snapshot())) == {
        "s1/s2": {"state": "restoring", "since": 1.0, "last_move": 0.0, "moves": 1,
                  "observed": "up", "grace_until": None},
        "tenant-a/h1": {"state": "up", "since": 2.0, "last_move": None, "moves": 0,
                        "observed": "up", "grace_until": 30.0},
    }


def test_default_policy() -> None:
    assert HealthPolicy() == HealthPolicy(wait_to_restore=3.0, hold=10.0)
    assert HealthMachine().policy == HealthPolicy()
    HealthPolicy(wait_to_restore=0.0, hold=0)


@pytest.mark.parametrize("name", ["wait_to_restore", "hold"])
@pytest.mark.parametrize("value", [-1.0, -0.001, math.nan, math.inf, "3", None, True])
def test_bad_policy_values_raise_naming_the_field(name: str, value: object) -> None:
    with pytest.raises(ValueError, match=f"HealthPolicy.{name} must be"):
        HealthPolicy(**{name: value})


def test_policy_is_frozen() -> None:
    with pytest.raises(AttributeError):
        HealthPolicy().hold = 1.0  # type: ignore[misc]


# --- ProbeCounter -----------------------------------------------------------------------------


def test_probe_misses_make_down_and_the_next_answer_up() -> None:
    probes = _Probes(ProbeCounter(misses=3))
    for now in (0.0, 1.0, 2.0):
        probes.sent(now, HOST)
    assert probes.expired(2.5, timeout=1.0) == []  # probes at 0 and 1 missed: 2 of 3
    assert probes.expired(3.0, timeout=1.0) == [(HOST, False)]
    assert probes.down() == {HOST}
    probes.sent(3.0, HOST)
    assert probes.expired(4.0, timeout=1.0) == []  # already down: no second transition
    assert probes.answered(4.5, HOST) == [(HOST, True)]
    assert probes.down() == set()
    assert probes.answered(5.0, HOST) == []  # already up


def test_probe_answer_in_time_is_not_a_miss() -> None:
    probes = _Probes(ProbeCounter(misses=1))
    probes.sent(0.0, HOST)
    assert probes.answered(0.2, HOST) == []
    assert probes.expired(5.0, timeout=1.0) == []
    probes.sent(5.0, HOST)
    assert probes.expired(5.9, timeout=1.0) == []
    assert probes.expired(6.0, timeout=1.0) == [(HOST, False)]


def test_probe_misses_must_be_consecutive() -> None:
    probes = _Probes(ProbeCounter(misses=3))
    probes.sent(0.0, HOST)
    probes.sent(1.0, HOST)
    assert probes.expired(2.0, timeout=1.0) == []
    assert probes.answered(2.1, HOST) == []  # resets the two misses
    probes.sent(3.0, HOST)
    probes.sent(4.0, HOST)
    assert probes.expired(5.0, timeout=1.0) == []
    probes.sent(5.0, HOST)
    assert probes.expired(6.0, timeout=1.0) == [(HOST, False)]


def test_probe_late_answer_after_down_is_up() -> None:
    probes = _Probes(ProbeCounter(misses=2))
    probes.sent(0.0, HOST)
    probes.sent(1.0, HOST)
    assert probes.expired(3.0, timeout=1.0) == [(HOST, False)]
    assert probes.answered(3.5, HOST) == [(HOST, True)]  # answer to an expired probe


def test_probe_subjects_are_independent() -> None:
    probes = _Probes(ProbeCounter(misses=1))
    other = ("tenant-b", "h2")
    probes.sent(0.0, HOST)
    probes.sent(0.0, other)
    probes.answered(0.5, other)
    assert probes.expired(1.0, timeout=1.0) == [(HOST, False)]
    assert probes.down() == {HOST}


@pytest.mark.parametrize("misses", [0, -1, 1.5, True])
def test_probe_bad_misses_raise(misses: object) -> None:
    with pytest.raises(ValueError, match="ProbeCounter.misses"):
        ProbeCounter(misses=misses)  # type: ignore[arg-type]


def test_probe_transitions_drive_the_machine() -> None:
    probes = _Probes(ProbeCounter(misses=3))
    m = _machine(wait_to_restore=3.0, hold=10.0)
    decisions: list[Decision] = []
    for second in range(30):
        now = float(second)
        for subject, up in probes.expired(now, timeout=1.0):
            decisions += m.observe(now, subject, up, "probe")
        if second == 12:  # the host answers again from t=12
            for subject, up in probes.answered(now, HOST):
                decisions += m.observe(now, subject, up, "probe")
        if second < 12:
            probes.sent(now, HOST)  # unanswered
        decisions += m.tick(now)
    assert decisions == [
        _failover(3.0, "health probes unanswered (probe)", "probe", HOST),
        _failback(15.0, "up for 3.0 s (wait-to-restore 3.0 s)", "probe", HOST),
    ]


# --- values -----------------------------------------------------------------------------------


def _script(m: HealthMachine) -> tuple[HealthMachine, list[Decision]]:
    """A fixed run of observations, graces and ticks; the machine and decisions after it."""
    out: list[Decision] = []
    m = m.ignore_until(OTHER, 2.0)
    for now, subject, up in [(0.0, LINK, False), (1.0, OTHER, False), (1.5, LINK, True),
                             (3.0, HOST, False), (4.0, HOST, True), (4.5, LINK, False)]:
        m, decided = m.observe(now, subject, up, "port")
        out += decided
    for now in (2.0, 5.0, 9.0, 20.0):
        m, decided = m.tick(now)
        out += decided
    return m, out


def test_a_step_leaves_the_machine_it_started_from_untouched() -> None:
    m = HealthMachine(HealthPolicy(wait_to_restore=3.0, hold=0.0))
    m, _ = m.observe(0.0, LINK, False, "port")
    m = m.ignore_until(OTHER, 5.0)
    before = copy.deepcopy(m)
    after, decided = m.observe(1.0, LINK, True, "port")
    after, _ = after.observe(2.0, OTHER, False, "port")
    after, decided = after.tick(4.0)
    assert decided == [_failback(4.0, "up for 3.0 s (wait-to-restore 3.0 s)")]
    assert m == before and m.state(LINK) == "failed" and m.grace[OTHER].held is None
    assert after != before and after.state(LINK) == "up"
    with pytest.raises(AttributeError):
        m.subjects = after.subjects  # type: ignore[misc]


def test_a_step_that_decides_nothing_returns_the_same_machine() -> None:
    m, _ = HealthMachine().observe(0.0, LINK, True, "port")
    assert m.tick(1.0)[0] is m
    assert m.observe(2.0, LINK, True, "port")[0] is m  # a repeated observation


def test_replaying_the_same_inputs_gives_the_same_machine() -> None:
    first, decided = _script(HealthMachine())
    again, decided_again = _script(HealthMachine())
    assert first == again and decided == decided_again
    assert [d.kind for d in decided] == ["failover", "failover", "failover", "failback"]


def test_observe_all_is_observe_one_after_the_other() -> None:
    m, _ = HealthMachine(HealthPolicy(wait_to_restore=0.0, hold=0.0)).observe(
        0.0, LINK, False, "port")
    seen = [(LINK, True, "port"), (OTHER, False, "bfd"), (HOST, True, "probe")]
    together = m.observe_all(1.0, seen)
    one_by_one, decided = m, []
    for subject, up, source in seen:
        one_by_one, more = one_by_one.observe(1.0, subject, up, source)
        decided += more
    assert together == (one_by_one, decided)


def test_probe_counter_steps_leave_the_old_counter_untouched() -> None:
    counter = ProbeCounter(misses=1).sent_all(0.0, [HOST, OTHER])
    before = copy.deepcopy(counter)
    after, down = counter.expired(1.0, timeout=1.0)
    assert down == [(HOST, False), (OTHER, False)]
    after, up = after.answered(1.5, HOST)
    assert up == [(HOST, True)] and after.down() == {OTHER}
    assert counter == before and counter.down() == set()
    assert counter.outstanding == {HOST: (0.0,), OTHER: (0.0,)}
