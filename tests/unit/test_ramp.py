"""The lab's ramp schedule: rate, its integral (what the sender paces by) and crossing times."""

from __future__ import annotations

import pytest

from sdn_shadow.lab.ramp import RampSchedule, main


def test_rate_is_flat_then_rises_then_holds_at_the_peak() -> None:
    s = RampSchedule(start_mbps=4, slope=2, peak_mbps=10, flat=5)
    assert [s.mbps_at(t) for t in (0, 5, 6, 8, 20)] == [4, 4, 6, 10, 10]
    assert s.rise == 3.0


def test_bytes_by_is_the_integral_of_the_rate() -> None:
    s = RampSchedule(start_mbps=4, slope=2, peak_mbps=10, flat=5)
    step, total, t = 0.001, 0.0, 0.0
    while t < 12 - 1e-9:
        total += s.mbps_at(t + step / 2) * step
        t += step
    assert s.bytes_by(12) == pytest.approx(total * 1e6 / 8, rel=1e-6)
    assert s.bytes_by(0) == 0 and s.bytes_by(-1) == 0
    # flat 5 s at 4 + rise 3 s averaging 7 + 4 s at 10 = 20 + 21 + 40 megabits
    assert s.bytes_by(12) == pytest.approx(81e6 / 8)


def test_reaches_tells_when_a_rate_is_first_offered() -> None:
    s = RampSchedule(start_mbps=4, slope=1, peak_mbps=48, flat=34)
    assert s.reaches(40) == 70.0
    assert s.reaches(3) == 0.0
    assert s.reaches(50) is None


@pytest.mark.parametrize("args", [dict(start_mbps=5, slope=1, peak_mbps=4),
                                  dict(start_mbps=1, slope=0, peak_mbps=4),
                                  dict(start_mbps=1, slope=1, peak_mbps=4, flat=-1)])
def test_nonsense_schedules_are_refused(args) -> None:
    with pytest.raises(ValueError):
        RampSchedule(**args)


def test_the_command_line_refuses_a_bad_schedule(capsys) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["send", "--dst", "127.0.0.1", "--start", "9", "--slope", "1", "--peak", "1",
              "--seconds", "1"])
    assert exit_.value.code == 2 and "start_mbps <= peak_mbps" in capsys.readouterr().err
