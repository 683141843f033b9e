"""`volume` without a baseline: the level is learned from the capture's own past only."""

from __future__ import annotations

import io
import ipaddress
import json
import math
import random
import struct
from collections.abc import Callable
from functools import cache
from pathlib import Path

import numpy as np
import pytest
from sklearn.base import clone

from sdn_shadow.analytics.analyze import analyze, capture_intervals
from sdn_shadow.analytics.command import analyze_command
from sdn_shadow.analytics.detector import AnomalyDetector
from sdn_shadow.analytics.features import MAX_EMPTY, Interval, count
from sdn_shadow.analytics.live import LATE, LiveDetector, run_on_clock

T0 = 1_700_000_000.0  # capture time of the first packet
CLIENT, OTHERS, SERVER = "10.0.0.5", ("10.0.0.6", "10.0.0.7"), "10.0.0.100"
PAST = ("learned from the capture's own past (rolling median of 60 intervals, warm-up 10)")
Packets = list[tuple[float, bytes]]


@cache
def _frame(src: str) -> bytes:
    """An Ethernet/IPv4/UDP frame of 200 bytes from `src` to the server."""
    payload = b"d" * 158
    udp = struct.pack("!HHHH", 40000, 5001, 8 + len(payload), 0) + payload
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 1, 0, 64, 17, 0,
                         ipaddress.ip_address(src).packed, ipaddress.ip_address(SERVER).packed)
    total = sum(struct.unpack("!10H", header))
    while total > 0xFFFF:
        total = (total & 0xFFFF) + (total >> 16)
    header = header[:10] + struct.pack("!H", ~total & 0xFFFF) + header[12:]
    ethernet = bytes.fromhex("020000000002" "020000000001" "0800")
    return ethernet + header + udp


def _write(path: Path, packets: Packets) -> Path:
    """A classic little-endian microsecond pcap of `packets` (time order)."""
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)]
    for when, data in sorted(packets, key=lambda p: p[0]):
        sec = math.floor(when)
        out.append(struct.pack("<IIII", sec, round((when - sec) * 1e6), len(data), len(data)))
        out.append(data)
    path.write_bytes(b"".join(out))
    return path


def _stream(rate: Callable[[int], float], seconds: int, start: float = 0.0, src: str = CLIENT,
            seed: int = 1, jitter: float = 0.2) -> Packets:
    """`seconds` seconds of traffic from `src`; second i carries about rate(i) packets
    (+-jitter, seeded), spread evenly from its start; times from T0 + start."""
    rng = random.Random(seed)
    packets = []
    for i in range(seconds):
        n = max(0, round(rate(i) * (1 + rng.uniform(-jitter, jitter))))
        packets += [(T0 + start + i + k / n, _frame(src)) for k in range(n)]
    return packets


def _burst(pps: float, seconds: float, start: float, src: str = CLIENT) -> Packets:
    """A constant stream of `pps` packets/s for `seconds` from T0 + start."""
    return [(T0 + start + k / pps, _frame(src)) for k in range(round(pps * seconds))]


def _volume(path: Path, **kwargs) -> list:
    return [a for a in analyze(path, **kwargs).alerts if a.kind == "volume"]


# ---- a burst is found within 2 s of its start ------------------------------------------


def test_the_example_two_quiet_minutes_then_6000_pps_alerts_at_once(tmp_path: Path) -> None:
    start = 120.4
    path = _write(tmp_path / "burst.pcap",
                  _stream(lambda i: 3, 120) + _burst(6000, 10, start))
    analysis = analyze(path)
    [alert] = analysis.alerts
    assert alert.kind == "volume" and list(alert.sources) == [CLIENT]
    first = alert.start - analysis.origin
    assert start - 1 < first <= start, "the interval the burst began in"
    assert first + 1.0 <= start + 2, "raised at that interval's end, within 2 s"
    assert alert.end - analysis.origin >= start + 9, "the whole burst, not its first second"
    assert alert.evidence["pps"] == pytest.approx(6000, rel=0.01)
    assert alert.evidence["baseline_pps"] < 5 and alert.severity == "high"


@pytest.mark.parametrize(("quiet", "jitter", "factor", "offset"), [
    (2, 0.2, 100, 0.0), (5, 0.2, 100, 0.5), (2, 0.2, 150, 0.97), (20, 0.2, 100, 0.3),
    (1, 0.2, 300, 0.99), (1, 0.6, 100, 0.55), (1, 0.6, 100, 0.3), (3, 0.9, 100, 0.8)])
def test_a_100x_burst_from_one_client_alerts_within_2_s(
        tmp_path: Path, quiet: float, jitter: float, factor: float, offset: float) -> None:
    """Among other clients' traffic (steady, or noisy); wherever in an interval the burst
    begins: a first second too short to report does not become the busy level."""
    start = 40 + offset
    packets = _stream(lambda i: quiet, 60, jitter=jitter) + _burst(quiet * factor * 3, 5, start)
    packets += [p for n, src in enumerate(OTHERS)
                for p in _stream(lambda i: quiet, 60, src=src, seed=n + 7, jitter=jitter)]
    path = _write(tmp_path / "burst.pcap", packets)
    analysis = analyze(path)
    [alert] = _volume(path)
    assert alert.sources.most_common(1)[0][0] == CLIENT
    first = alert.start - analysis.origin
    assert start - 1 < first and first + 1.0 <= start + 2


def test_a_first_second_too_short_to_report_does_not_hide_the_burst(tmp_path: Path) -> None:
    """88 packets at 40.65-41 s (under volume_min_pps, so not reported) must not become the
    busy level the next second's 250 is judged against (it is 100x the usual 2.3)."""
    quiet = _stream(lambda i: (1, 2, 4)[i % 3], 40, jitter=0.0)  # MAD 0.41: 87 is z 5.5
    path = _write(tmp_path / "burst.pcap", quiet + _burst(250, 4, 40.65))
    [alert] = _volume(path)
    assert alert.start - T0 == pytest.approx(41.0, abs=1e-6)


def test_only_the_past_counts_a_prefix_of_the_capture_alerts_alike(tmp_path: Path) -> None:
    """The burst is judged before anything after it is read: cutting the capture 2 s after
    the burst began changes nothing, and a later, longer busy spell does not hide it."""
    before = _stream(lambda i: 4, 60) + _burst(800, 5, 60.2)
    after = _stream(lambda i: 800, 50, start=66, seed=2)
    whole = _volume(_write(tmp_path / "whole.pcap", before + after))
    cut = _volume(_write(tmp_path / "cut.pcap", [p for p in before if p[0] < T0 + 62.2]))
    assert [round(a.start - T0, 3) for a in cut] == [round(whole[0].start - T0, 3)] == [60.0]
    # 800 pps from then on is a new level: once it is half the window, it is normal
    assert len(whole) == 1 and whole[0].end - T0 < 66 + 40


# ---- normal growth, steadiness and gaps raise nothing ----------------------------------


@pytest.mark.parametrize("rate", [
    pytest.param(lambda i: 150, id="steady-150pps"),
    pytest.param(lambda i: 3, id="steady-3pps"),
    pytest.param(lambda i: 20 * 1.01 ** i, id="ramp-1pct-per-interval"),
    pytest.param(lambda i: 5 * 2 ** (i / 60), id="doubling-every-minute"),
    pytest.param(lambda i: 150 if (i // 30) % 2 else 50, id="day-night-3x-steps"),
    pytest.param(lambda i: 0 if 100 <= i < 400 else 150, id="five-idle-minutes"),
])
def test_steady_and_slowly_growing_traffic_raise_nothing(tmp_path: Path, rate) -> None:
    path = _write(tmp_path / "normal.pcap", _stream(rate, 300 if rate(350) else 480))
    assert analyze(path).alerts == []


def test_traffic_resuming_after_a_long_gap_is_judged_against_before_the_gap(
        tmp_path: Path) -> None:
    """A day of silence neither resets the level nor costs one object per empty interval."""
    gap = 86_400.0
    packets = _stream(lambda i: 120, 30) + _stream(lambda i: 120, 30, start=30 + gap, seed=3)
    path = _write(tmp_path / "gap.pcap", packets)
    analysis = analyze(path)
    assert analysis.alerts == []
    capture = analysis.capture
    assert count(capture.intervals) == math.floor(capture.last - capture.first) + 1
    assert len(capture.intervals) <= 62, "the gap is one idle run, not 86,400 intervals"
    [run] = [iv.repeat for iv in capture.intervals if iv.repeat > 1]
    assert 86_300 < run <= 86_400
    burst = _write(tmp_path / "gap-burst.pcap", packets + _burst(12_000, 2, 70.5 + gap))
    [alert] = _volume(burst)
    assert alert.start - T0 == pytest.approx(70 + gap, abs=1e-3)


def test_two_packets_far_apart_make_a_few_intervals(tmp_path: Path) -> None:
    """Memory follows the packets, not the time between them (a day, or a year: left out)."""
    for gap, objects, total in [(99_000.5, 3, 99_001), (MAX_EMPTY - 0.5, 3, MAX_EMPTY),
                                (365 * 86_400.0, 2, 2)]:
        path = _write(tmp_path / "two.pcap", [(T0, _frame(CLIENT)), (T0 + gap, _frame(CLIENT))])
        capture = capture_intervals(path, 1.0)
        assert (len(capture.intervals), count(capture.intervals)) == (objects, total)
        assert any("time jumps" in n for n in capture.notes) is (total == 2), "a clock jump"
        assert analyze(path).alerts == []


def test_a_tiny_capture_is_not_judged_and_says_so(tmp_path: Path) -> None:
    path = _write(tmp_path / "tiny.pcap", _burst(5000, 3, 0.0))
    analysis = analyze(path)
    assert analysis.alerts == []
    assert analysis.volume_level == PAST + "; not judged: 3 intervals with traffic, none past " \
                                           "the warm-up"
    empty = _write(tmp_path / "empty.pcap", [])
    assert analyze(empty).alerts == [] and count(analyze(empty).capture.intervals) == 0


# ---- what the output says --------------------------------------------------------------


def _run(*args: str, baselines: tuple[str, ...] = ()) -> tuple[str, dict]:
    out, err = io.StringIO(), io.StringIO()
    assert analyze_command(args[0], list(baselines), "1", None, out, err) == 0
    table = out.getvalue()
    out = io.StringIO()
    assert analyze_command(args[0], list(baselines), "1", "-", out, err) == 0
    return table, json.loads(out.getvalue())


def test_the_level_used_is_named_in_the_table_and_the_json(tmp_path: Path) -> None:
    path = _write(tmp_path / "burst.pcap", _stream(lambda i: 3, 30) + _burst(3000, 3, 30.5))
    table, data = _run(str(path))
    assert f"\nvolume level: {PAST}\n" in table and "volume  " in table
    assert table.splitlines()[1] == "baseline: the capture itself, 34 intervals"
    assert data["volume_level"] == PAST and data["baseline"].startswith("the capture itself")
    normal = str(_write(tmp_path / "normal.pcap", _stream(lambda i: 3, 30)))
    table, data = _run(str(path), baselines=(normal,))
    assert "\nvolume level: baseline (1 file)\n" in table
    assert data["volume_level"] == "baseline (1 file)"
    assert data["baseline"].startswith("1 file(s), 30 intervals")
    _, data = _run(str(path), baselines=(normal, normal))
    assert data["volume_level"] == "baseline (2 files)"


# ---- the baseline still wins -----------------------------------------------------------


def test_a_baseline_when_given_is_the_level_as_before(tmp_path: Path) -> None:
    burst = _write(tmp_path / "burst.pcap", _stream(lambda i: 3, 40) + _burst(3000, 3, 40.5))
    busy = _write(tmp_path / "busy.pcap", _stream(lambda i: 1500, 11, seed=4))
    quiet = _write(tmp_path / "quiet.pcap", _stream(lambda i: 3, 40, seed=5))
    short = _write(tmp_path / "short.pcap", _stream(lambda i: 3, 5, seed=6))
    assert len(_volume(burst)) == 1
    assert _volume(burst, baselines=[busy]) == [], "as busy as the baseline's own busy level"
    assert len(_volume(burst, baselines=[quiet])) == 1
    assert _volume(burst, baselines=[short]) == [], "under min_baseline: not judged, as before"
    assert analyze(burst, baselines=[short]).volume_level == (
        "baseline (1 file); not judged: 5 baseline intervals, under 10")
    # a capture busy all along: normal to its own past, far above a quiet baseline
    steady = _write(tmp_path / "steady.pcap", _stream(lambda i: 400, 40, seed=8))
    assert _volume(steady) == []
    [alert] = _volume(steady, baselines=[quiet])
    assert alert.start - T0 == pytest.approx(0.0, abs=1e-6), "judged from the first interval"


def test_fit_on_intervals_with_idle_runs_equals_fit_on_them_spelled_out(tmp_path: Path) -> None:
    packets = (_stream(lambda i: 8, 10) + _stream(lambda i: 60, 5, start=30, seed=9)
               + _stream(lambda i: 2, 3, start=50, seed=10))
    intervals = capture_intervals(_write(tmp_path / "gaps.pcap", packets), 1.0).intervals
    assert any(iv.repeat > 1 for iv in intervals)
    spelled = [Interval(iv.start + k, 1.0) if iv.repeat > 1 else iv
               for iv in intervals for k in range(iv.repeat)]
    for quantile in (1.0, 0.9, 0.5):
        runs = AnomalyDetector(volume_quantile=quantile).fit(intervals)
        each = AnomalyDetector(volume_quantile=quantile).fit(spelled)
        assert runs.n_intervals_ == each.n_intervals_ == len(spelled)
        for name in ("log_median_", "log_scale_", "busy_"):
            np.testing.assert_allclose(getattr(runs, name), getattr(each, name), rtol=1e-12)
        assert runs.syn_rate_median_ == each.syn_rate_median_


# ---- live, and the estimator ----------------------------------------------------------


def test_live_without_a_baseline_judges_the_past_and_raises_the_burst_in_time() -> None:
    packets = _stream(lambda i: 4, 30) + _burst(2000, 4, 30.3)
    frames = [(t - T0 + 1000.0, data, len(data)) for t, data in sorted(packets)]
    live = LiveDetector(AnomalyDetector(), 1.0, 1000.0)
    assert live.detector.volume_level_ == "past"
    opened, _ = run_on_clock(live, frames, 1000.0)
    [(raised, alert)] = opened
    assert alert.kind == "volume" and raised <= 1000.0 + 30.3 + 2 + LATE + 0.1
    quiet = LiveDetector(AnomalyDetector(), 1.0, 1000.0)
    assert run_on_clock(quiet, frames[:120], 1000.0)[0] == []


def test_learning_live_switches_to_the_learned_baseline() -> None:
    live = LiveDetector(AnomalyDetector(), 1.0, 0.0, learn=5.0)
    assert live.detector.volume_level_ == "past"
    frames = [(t - T0, d, len(d)) for t, d in _stream(lambda i: 4, 8)]
    run_on_clock(live, frames, 0.0)
    assert not live.learning and live.detector.volume_level_ == "baseline"


@pytest.mark.parametrize(("params", "message"), [
    ({"volume_window": 0}, "volume_window must be a whole number >= 1, not 0"),
    ({"volume_window": 2.5}, "volume_window must be a whole number >= 1, not 2.5"),
    ({"volume_window": "60"}, "volume_window must be a whole number >= 1, not '60'"),
    ({"volume_warmup": 0}, "volume_warmup must be a whole number >= 1, not 0"),
    ({"volume_warmup": -3}, "volume_warmup must be a whole number >= 1, not -3"),
    ({"volume_warmup": None}, "volume_warmup must be a whole number >= 1, not None"),
])
def test_bad_window_or_warm_up_is_rejected(params: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        AnomalyDetector(**params).fit([])


def test_the_window_and_warm_up_are_estimator_parameters() -> None:
    detector = AnomalyDetector(volume_window=30, volume_warmup=5)
    assert clone(detector).get_params()["volume_window"] == 30
    assert not hasattr(detector, "volume_level_"), "__init__ only stores parameters"
    fitted = AnomalyDetector(volume_window=4, volume_warmup=10).fit([])
    assert (fitted.volume_level_, fitted.warmup_) == ("past", 4), "warm-up at most the window"
