"""The replay schedule and the pacer that keeps to it, on a fake clock."""

from __future__ import annotations

import math
from collections.abc import Iterator

import pytest

from sdn_shadow.analytics.pacing import Pacer, send_schedule


class FakeClock:
    """A monotonic clock that only sleeping (and sending, at `send_cost`) moves."""

    def __init__(self, start: float = 1000.0, oversleep: float = 0.0) -> None:
        self.now = start
        self.oversleep = oversleep
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds > 0, "never asked to sleep a negative or zero time"
        self.sleeps.append(seconds)
        self.now += seconds + self.oversleep


@pytest.fixture
def clock() -> Iterator[FakeClock]:
    fake = FakeClock()
    yield fake
    fake.sleeps.clear()


def test_gaps_are_the_capture_gaps_divided_by_speed() -> None:
    times = [100.0, 100.5, 101.5, 101.75]
    assert send_schedule(times) == pytest.approx([0.0, 0.5, 1.5, 1.75])
    assert send_schedule(times, speed=2.0) == pytest.approx([0.0, 0.25, 0.75, 0.875])
    assert send_schedule(times, speed=0.5) == pytest.approx([0.0, 1.0, 3.0, 3.5])
    assert send_schedule([]) == [] and send_schedule([], pps=10, loop=3) == []
    assert send_schedule([5.0]) == [0.0]


def test_pps_spaces_packets_evenly_whatever_the_timestamps() -> None:
    assert send_schedule([0.0, 9.0, 9.0, 50.0], pps=4) == pytest.approx([0, 0.25, 0.5, 0.75])
    assert send_schedule([1.0, 2.0], pps=2, loop=3) == pytest.approx([0, .5, 1, 1.5, 2, 2.5])


def test_loops_follow_each_other_with_the_median_gap() -> None:
    times = [0.0, 1.0, 2.0, 10.0]  # gaps 1, 1, 8: median 1
    assert send_schedule(times, loop=3) == pytest.approx(
        [0, 1, 2, 10, 11, 12, 13, 21, 22, 23, 24, 32])
    assert send_schedule(times, speed=2.0, loop=2) == pytest.approx(
        [0, .5, 1, 5, 5.5, 6, 6.5, 10.5])
    assert send_schedule([7.0], loop=3) == [0.0, 0.0, 0.0], "one packet: loops back to back"


def test_out_of_order_timestamps_never_give_negative_gaps() -> None:
    offsets = send_schedule([10.0, 12.0, 11.0, 11.5, 13.0, 9.0, 14.0])
    assert offsets == pytest.approx([0, 2, 2, 2, 3, 3, 4])
    assert all(b >= a for a, b in zip(offsets, offsets[1:], strict=False))
    assert send_schedule([5.0, 1.0, 2.0]) == [0.0, 0.0, 0.0]
    looped = send_schedule([10.0, 12.0, 11.0], loop=2)
    assert all(b >= a for a, b in zip(looped, looped[1:], strict=False))


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"speed": 0}, "speed must be a positive finite number, not 0"),
    ({"speed": -2.0}, "speed must be a positive finite number"),
    ({"speed": math.inf}, "speed must be a positive finite number, not inf"),
    ({"speed": math.nan}, "speed must be a positive finite number, not nan"),
    ({"pps": 0.0}, "pps must be a positive finite number"),
    ({"pps": -1}, "pps must be a positive finite number"),
    ({"speed": 2.0, "pps": 100.0}, "give speed or pps, not both"),
    ({"loop": 0}, "loop must be a whole number of at least 1, not 0"),
    ({"loop": 1.5}, "loop must be a whole number"),
])
def test_bad_arguments_are_clear_errors(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace(".", r"\.")):
        send_schedule([0.0, 1.0], **kwargs)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_capture_times_are_refused(bad: float) -> None:
    with pytest.raises(ValueError, match=f"capture time of packet 1 is {bad}"):
        send_schedule([0.0, bad, 2.0])


def test_the_pacer_sends_each_packet_at_its_offset(clock: FakeClock) -> None:
    offsets = [0.0, 0.1, 0.1, 0.35, 1.0]
    sent: list[tuple[int, float]] = []
    stats = Pacer(offsets, clock=clock, sleep=clock.sleep).run(
        lambda i: sent.append((i, clock.now - 1000.0)))
    assert [i for i, _ in sent] == [0, 1, 2, 3, 4]
    assert [at for _, at in sent] == pytest.approx(offsets)
    assert clock.sleeps == pytest.approx([0.1, 0.25, 0.65])
    assert (stats.sent, stats.batches) == (5, 4)
    assert stats.max_late == pytest.approx(0.0) and stats.mean_late == pytest.approx(0.0)
    assert stats.duration == pytest.approx(1.0)


def test_a_late_waking_pacer_reports_how_late_it_ran() -> None:
    clock = FakeClock(oversleep=0.002)
    stats = Pacer([0.0, 0.5, 1.0, 1.5], clock=clock, sleep=clock.sleep).run(lambda i: None)
    assert stats.max_late == pytest.approx(0.002)
    assert stats.mean_late == pytest.approx(0.0015)  # 0 + 3 x 2 ms over 4 packets
    assert clock.now - 1000.0 == pytest.approx(1.502), "no drift: each wait is from the start"


def test_a_slow_sender_catches_up_in_batches_without_negative_sleeps(clock: FakeClock) -> None:
    offsets = [i * 0.001 for i in range(100)]  # 1000 pps
    pacer = Pacer(offsets, clock=clock, sleep=clock.sleep, max_batch=16)
    sizes = []
    for batch in pacer.batches():
        sizes.append(len(batch))
        clock.now += 0.004 * len(batch)  # the sender manages only 250 pps
    assert sum(sizes) == 100 and max(sizes) <= 16 and max(sizes) > 1
    assert clock.sleeps == [], "always behind: it never sleeps"
    assert pacer.stats.max_late > 0.2 and pacer.stats.batches == len(sizes)


def test_the_pacer_refuses_an_empty_batch_size(clock: FakeClock) -> None:
    with pytest.raises(ValueError, match="max_batch must be at least 1"):
        Pacer([0.0], clock=clock, sleep=clock.sleep, max_batch=0)
    assert Pacer([], clock=clock, sleep=clock.sleep).run(lambda i: None).sent == 0
