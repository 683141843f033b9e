"""A capture whose clock steps back: a new stretch with a note, not one giant interval."""

from __future__ import annotations

import math
import struct
from pathlib import Path

from sdn_shadow.analytics.analyze import analyze, capture_intervals
from tests.unit.test_volume_unbaselined import CLIENT, T0, _burst, _frame


def _write_as_given(path: Path, packets: list[tuple[float, bytes]]) -> Path:
    """A pcap with the packets in the order given (not sorted by time)."""
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)]
    for when, data in packets:
        sec = math.floor(when)
        out.append(struct.pack("<IIII", sec, round((when - sec) * 1e6), len(data), len(data)))
        out.append(data)
    path.write_bytes(b"".join(out))
    return path


def test_a_clock_step_back_starts_a_new_stretch(tmp_path: Path) -> None:
    later, earlier = _burst(100, 60, 3600.0), _burst(100, 60, 0.0)
    path = _write_as_given(tmp_path / "back.pcap", later + earlier)
    capture = capture_intervals(path, 1.0)
    assert max(iv.packets for iv in capture.intervals) <= 101, "lumped into one interval"
    assert sum(iv.packets for iv in capture.intervals) == 12_000
    assert any("time goes back 3659 s to 1700000000.000000" in note for note in capture.notes)
    assert [a for a in analyze(path).alerts if a.kind == "volume"] == []


def test_small_reorderings_stay_in_their_interval(tmp_path: Path) -> None:
    packets = _burst(100, 30, 0.0)
    packets[500], packets[501] = packets[501], packets[500]
    packets.insert(900, (T0 + 8.5, _frame(CLIENT)))  # 0.5 s late
    capture = capture_intervals(_write_as_given(tmp_path / "swap.pcap", packets), 1.0)
    assert not any("time goes back" in note for note in capture.notes)
    assert sum(iv.packets for iv in capture.intervals) == 3001
