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


def test_the_sender_keeps_to_its_schedule_on_loopback() -> None:
    import socket
    import threading

    from sdn_shadow.lab.ramp import send, sink

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    got: dict = {}
    receiver = threading.Thread(target=lambda: got.update(sink(port, 2.0)))
    receiver.start()
    schedule = RampSchedule(start_mbps=4, slope=8, peak_mbps=12, flat=0.5)
    sent = send("127.0.0.1", port, schedule, 1.5, size=1000)
    receiver.join()
    assert sent["bytes"] == pytest.approx(schedule.bytes_by(1.5), abs=1000)
    assert sent["bytes_per_second"][0] < sent["bytes_per_second"][1]
    assert got["bytes"] == sent["bytes"] and got["datagrams"] == sent["datagrams"]


def test_each_new_connection_has_a_source_port_not_used_before_in_the_run() -> None:
    import socket
    import threading

    from sdn_shadow.lab.ramp import FIRST_SOURCE_PORT, LAST_SOURCE_PORT, send

    receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    receiver.bind(("127.0.0.1", 0))
    receiver.settimeout(0.5)
    ports: list[int] = []

    def receive() -> None:
        try:
            while True:
                _, (_, source_port) = receiver.recvfrom(2048)
                if not ports or ports[-1] != source_port:
                    ports.append(source_port)
        except TimeoutError:
            pass

    thread = threading.Thread(target=receive)
    thread.start()
    sent = send("127.0.0.1", receiver.getsockname()[1], RampSchedule(start_mbps=2, slope=1,
                peak_mbps=2, flat=1), 0.6, size=200, new_connection_every=0.05)
    thread.join()
    receiver.close()
    assert sent["connections"] >= 8
    assert len(ports) == sent["connections"] == len(set(ports))
    assert all(FIRST_SOURCE_PORT <= port <= LAST_SOURCE_PORT for port in ports)
