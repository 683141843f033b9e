"""Synthetic-user load patterns: shapes, integrals, Poisson schedules and how they are dealt."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sdn_shadow.analytics.synth_pattern import (
    PATTERNS,
    Bursty,
    Constant,
    Diurnal,
    FlashCrowd,
    Pattern,
    bin_counts,
    parse_pattern,
    schedule,
    split,
)
from sdn_shadow.usage import UsageError

NAMES = list(PATTERNS)


@pytest.fixture(params=NAMES)
def long_run(request: pytest.FixtureRequest) -> Pattern:
    """Each pattern at 500 requests/s for 60 s: long enough for tight statistics, no sleeping."""
    return parse_pattern(request.param, 500.0, 60.0, seed=7)


def test_names_and_classes() -> None:
    assert NAMES == ["constant", "diurnal", "bursty", "flash-crowd"]
    for name, cls in PATTERNS.items():
        pattern = parse_pattern(name, 10, 20)
        assert isinstance(pattern, cls) and pattern.name == name


def test_constant_is_flat_and_its_last_bin_is_partial() -> None:
    pattern = Constant(40.0, 10.5)
    t = np.linspace(0, 10.5, 1001)
    assert np.all(pattern.rate(t) == 40.0)
    assert pattern.expected_counts(1.0).tolist() == [40.0] * 10 + [20.0]
    assert float(pattern.rate(3.0)) == 40.0


def test_diurnal_has_its_trough_at_the_ends_and_its_peak_in_the_middle() -> None:
    pattern = Diurnal(100.0, 240.0, trough=0.15)
    t = np.linspace(0, 240, 24001)
    rate = pattern.rate(t)
    assert rate.min() == pytest.approx(15.0) and rate.max() == pytest.approx(100.0)
    assert t[rate.argmax()] == pytest.approx(120.0)
    assert float(pattern.rate(0.0)) == pytest.approx(15.0)
    assert float(pattern.rate(240.0)) == pytest.approx(15.0)
    assert np.all(np.diff(rate[t <= 120]) >= 0) and np.all(np.diff(rate[t >= 120]) <= 0)
    two_days = Diurnal(100.0, 240.0, period=120.0)
    assert [float(two_days.rate(x)) for x in (60.0, 120.0, 180.0)] == pytest.approx(
        [100.0, 15.0, 100.0])


def test_flash_crowd_ramps_to_peak_within_its_ramp_then_holds_and_decays() -> None:
    pattern = FlashCrowd(200.0, 600.0)
    assert (pattern.onset, pattern.ramp, pattern.plateau, pattern.decay) == (
        pytest.approx(180.0), 3.0, pytest.approx(120.0), pytest.approx(60.0))
    before = np.linspace(0, 179.999, 500)
    assert np.all(pattern.rate(before) == pytest.approx(20.0))
    assert float(pattern.rate(180.0 + 1.5)) == pytest.approx(110.0)  # half way up the ramp
    plateau = np.linspace(183.0, 303.0, 500)  # at peak from onset + 3 s, for 120 s
    assert np.all(pattern.rate(plateau) == pytest.approx(200.0))
    tail = pattern.rate(np.linspace(303.0, 600.0, 500))
    assert np.all(np.diff(tail) < 0)
    excess = float(pattern.rate(303.0 + 60.0)) - 20.0  # one time constant: excess / e
    assert excess == pytest.approx(180.0 / math.e)
    short = FlashCrowd(100.0, 10.0)  # a short run ramps in a tenth of it
    assert short.ramp == pytest.approx(1.0)
    assert float(short.rate(short.onset + short.ramp)) == pytest.approx(100.0)


def test_bursty_is_reproducible_from_its_seed_and_different_across_seeds() -> None:
    one, again, other = (Bursty(300.0, 120.0, seed=s) for s in (1, 1, 2))
    assert one.bursts == again.bursts and one == again
    assert one.bursts != other.bursts
    t = np.linspace(0, 120, 12001)
    assert np.array_equal(one.rate(t), again.rate(t))
    assert not np.array_equal(one.rate(t), other.rate(t))
    for pattern in (one, other):
        rate = pattern.rate(t)
        assert rate.min() == pytest.approx(60.0) and rate.max() == pytest.approx(300.0)
        assert np.mean(rate > 60.0 + 1e-9) > 0.05  # bursts take a real share of the run
        starts = [s for s, _, _ in pattern.bursts]
        ends = [s + n for s, n, _ in pattern.bursts]
        assert starts == sorted(starts)
        assert all(e < s for e, s in zip(ends[:-1], starts[1:], strict=True))  # no overlap
        assert all(0.6 * 300.0 - 1e-9 <= h <= 300.0 for _, _, h in pattern.bursts)


def test_bursty_always_has_a_burst() -> None:
    lonely = [Bursty(10.0, 5.0, seed=s, mean_off=1000.0) for s in range(5)]
    assert all(len(p.bursts) == 1 and p.bursts[0][0] + p.bursts[0][1] <= 5.0 for p in lonely)


def test_expected_counts_integrate_the_rate(long_run: Pattern) -> None:
    t = np.linspace(0, 60.0, 1_200_001)
    rate = long_run.rate(t)
    total = float(np.sum((rate[1:] + rate[:-1]) / 2 * np.diff(t)))
    expected = long_run.expected_counts(2.0)
    assert expected.shape == (30,)
    assert expected.sum() == pytest.approx(total, rel=1e-4)
    per_bin = [np.trapezoid(rate[(t >= a) & (t <= a + 2.0)], t[(t >= a) & (t <= a + 2.0)])
               for a in np.arange(0, 60.0, 2.0)]
    assert expected == pytest.approx(per_bin, rel=2e-3, abs=0.5)


def test_schedule_follows_the_pattern(long_run: Pattern) -> None:
    times = schedule(long_run, seed=11)
    assert times == sorted(times) and times[0] >= 0 and times[-1] < 60.0
    expected = long_run.expected_counts(1.0)
    counts = bin_counts(times, long_run, 1.0)
    assert counts.sum() == len(times)
    assert len(times) == pytest.approx(expected.sum(), rel=0.03)
    chi2_per_bin = float(np.mean((counts - expected) ** 2 / expected))  # about 1 for Poisson
    assert 0.5 < chi2_per_bin < 1.6
    if np.std(expected) > 0:
        assert np.corrcoef(counts, expected)[0, 1] > 0.97


def test_schedule_is_reproducible_from_its_seed() -> None:
    pattern = parse_pattern("bursty", 200.0, 10.0, seed=3)
    assert schedule(pattern, 5) == schedule(pattern, 5)
    assert schedule(pattern, 5) != schedule(pattern, 6)
    assert schedule(Constant(0.0, 10.0), 1) == []


@pytest.mark.parametrize("how", ["round-robin", "random"])
def test_split_deals_every_time_to_exactly_one_user(how: str) -> None:
    times = schedule(Constant(100.0, 10.0), 2)
    shares = split(times, 3, how=how, seed=4)
    assert len(shares) == 3 and sorted(t for s in shares for t in s) == times
    assert all(s == sorted(s) for s in shares)
    sizes = [len(s) for s in shares]
    if how == "round-robin":
        assert max(sizes) - min(sizes) <= 1 and shares[1] == times[1::3]
    assert split(times, 3, how=how, seed=4) == shares
    assert all(abs(n - len(times) / 3) < 0.15 * len(times) / 3 for n in sizes)


def test_bin_counts_put_stray_times_in_the_end_bins() -> None:
    pattern = Constant(1.0, 3.0)
    assert bin_counts([-0.1, 0.0, 0.99, 1.0, 2.5, 3.0, 7.0], pattern, 1.0).tolist() == [3, 1, 3]


def test_unknown_pattern_names_the_choices() -> None:
    with pytest.raises(UsageError) as caught:
        parse_pattern("x", 10, 10)
    assert str(caught.value) == (
        "unknown pattern 'x' (choose from constant, diurnal, bursty, flash-crowd)")


@pytest.mark.parametrize("name,peak,duration,params,needle", [
    ("constant", -1.0, 10.0, {}, "peak"),
    ("constant", math.nan, 10.0, {}, "peak"),
    ("diurnal", 10.0, 0.0, {}, "duration"),
    ("diurnal", 10.0, 10.0, {"trough": 1.5}, "trough"),
    ("diurnal", 10.0, 10.0, {"period": 0.0}, "period"),
    ("bursty", 10.0, 10.0, {"base": -0.2}, "base"),
    ("flash-crowd", 10.0, 10.0, {"decay": 0.0}, "decay"),
    ("flash-crowd", 10.0, 10.0, {"sharpness": 2.0}, "sharpness"),
])
def test_bad_parameters_are_named(name, peak, duration, params, needle) -> None:
    with pytest.raises(UsageError, match=needle):
        parse_pattern(name, peak, duration, **params)


def test_bad_bins_and_users_are_named() -> None:
    with pytest.raises(UsageError, match="bin_seconds"):
        Constant(1.0, 1.0).expected_counts(0.0)
    with pytest.raises(UsageError, match="users"):
        split([0.0], 0)
    with pytest.raises(UsageError, match="random"):
        split([0.0], 2, how="shuffle")
