"""The event timeline's lines: order, relative times, subjects and cut reasons."""

from __future__ import annotations

from sdn_shadow.timeline import describe, timeline


def test_lines_come_in_time_order_with_seconds_from_the_start() -> None:
    events = [
        {"t": 112.5, "kind": "failback", "link": "s1-s2", "reason": "up for 1.0 s"},
        {"t": 100.0, "kind": "move", "network": "tenant-a", "client": "h1", "path": "shadow",
         "reason": "preempt: link link:s1:s2 planned 34 Mbit/s of 40 Mbit/s (85%) > 80%"},
        {"t": 110.25, "kind": "failover", "link": "s1-s2", "reason": "port down (port status)"},
    ]
    lines = timeline(events, start=90.0)
    assert [line.split()[0] for line in lines] == ["+10.0", "+20.2", "+22.5"]
    assert "move" in lines[0] and "tenant-a/h1 -> shadow path" in lines[0]
    assert lines[0].endswith("(85%) > 80%")
    assert "link s1-s2" in lines[1] and lines[1].endswith("port down (port status)")


def test_long_reasons_are_cut_to_the_width() -> None:
    [line] = timeline([{"t": 1.0, "kind": "config", "result": "applied", "reason": "x" * 500}],
                      start=0.0, width=100)
    assert len(line) == 100 and line.endswith("...")


def test_every_kind_the_core_records_is_described() -> None:
    cases = {
        "steer": ({"network": "n", "client": "h1", "service": "twin"},
                  "n/h1 new connections -> twins"),
        "takeover": ({"network": "n", "host": "h2"}, "n/h2 served by twin"),
        "restore": ({"network": "n", "host": "h2"}, "n/h2 served by itself"),
        "role_swap": ({"network": "n", "hosts": ["h1", "h2"]}, "n: h1, h2 swap roles"),
        "scale": ({"link": "twin:n:h2", "instances": 2}, "twin:n:h2: add 2 instances"),
        "shadow_serving": ({"network": "n"}, "network n"),
        "config": ({"result": "rejected"}, "configuration rejected"),
        "mystery": ({"a": 1}, "a=1"),
    }
    for kind, (fields, expected) in cases.items():
        assert describe({"kind": kind, **fields}).startswith(expected), kind


def test_scale_requests_of_one_round_are_one_line() -> None:
    events = [{"t": 5.0, "kind": "scale", "link": f"link:{a}", "instances": 1, "reason": "r"}
              for a in ("s1:s4", "s4:s3")]
    events.append({"t": 6.0, "kind": "scale", "link": "link:s1:s4", "instances": 0,
                   "reason": "fits"})
    lines = timeline(events, start=0.0)
    assert len(lines) == 2
    assert "link:s1:s4, link:s4:s3: add 1 instance" in lines[0]
    assert "link:s1:s4: no more needed" in lines[1]
