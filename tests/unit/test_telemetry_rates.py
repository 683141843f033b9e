"""telemetry.rates: first samples, gaps, wraps, resets, unavailable counters, expiry, sums."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sdn_shadow.telemetry.rates import RateTracker, group_sums

U64 = (1 << 64) - 1


def rates(tracker: RateTracker, now, counts: dict, packets: dict | None = None, **kw):
    """{key: (bytes/s, packets/s)} of one sample (NaN where no rate)."""
    keys = list(counts)
    packets = packets or {k: v // 100 for k, v in counts.items()}
    r = tracker.update(now, keys, [counts[k] for k in keys], [packets[k] for k in keys], **kw)
    return {k: (float(b), float(p)) for k, b, p in zip(r.keys, r.bytes_per_s, r.packets_per_s,
                                                         strict=True)}


def test_first_sample_gives_no_rate_then_rates_follow():
    t = RateTracker()
    first = rates(t, 100.0, {"a": 1000, "b": 0})
    assert all(math.isnan(b) and math.isnan(p) for b, p in first.values())
    second = rates(t, 102.0, {"a": 3000, "b": 500}, {"a": 30, "b": 5})
    assert second == {"a": (1000.0, 10.0), "b": (250.0, 2.5)}
    assert len(t) == 2 and "a" in t


def test_rates_accept_numpy_arrays_and_per_key_times():
    t = RateTracker()
    keys = [("s1", 1), ("s1", 2), ("s2", 1)]
    t.update(np.array([10.0, 10.0, 11.0]), keys, np.array([0, 0, 0], np.uint64), [0, 0, 0])
    r = t.update(np.array([12.0, 14.0, 12.0]), keys, np.array([200, 400, 100], np.uint64),
                 np.array([2, 4, 1]))
    assert r.bytes_per_s.tolist() == [100.0, 100.0, 100.0]
    assert r.packets_per_s.tolist() == [1.0, 1.0, 1.0]
    assert list(r.items()) == [(k, 100.0, 1.0) for k in keys]


def test_missing_sample_uses_the_real_elapsed_time():
    t = RateTracker(expire_after=60)
    rates(t, 0.0, {"a": 0, "b": 0})
    rates(t, 10.0, {"a": 100})  # b missed this poll
    got = rates(t, 20.0, {"a": 200, "b": 4000})
    assert got["a"][0] == 10.0
    assert got["b"][0] == 200.0  # 4000 bytes over 20 s, not over 10


def test_64_bit_wrap_gives_the_wrapped_delta():
    t = RateTracker()
    rates(t, 0.0, {"a": U64 - 99}, {"a": U64 - 9})
    got = rates(t, 1.0, {"a": 100}, {"a": 10})
    assert got["a"] == (200.0, 20.0)  # 99 + 1 (to 0) + 100


def test_wrap_of_narrower_counters():
    t = RateTracker(counter_bits=32)
    rates(t, 0.0, {"a": (1 << 32) - 1000}, {"a": 0})
    assert rates(t, 2.0, {"a": 1000}, {"a": 2})["a"] == (1000.0, 1.0)


def test_reset_gives_no_rate_and_restarts_from_the_new_value():
    t = RateTracker()
    rates(t, 0.0, {"a": 10_000_000, "b": 100})
    got = rates(t, 1.0, {"a": 500, "b": 200})  # a's switch restarted
    assert math.isnan(got["a"][0]) and math.isnan(got["a"][1])
    assert got["b"][0] == 100.0
    assert rates(t, 2.0, {"a": 1500, "b": 300})["a"][0] == 1000.0


def test_reset_of_packets_alone_voids_the_byte_rate_too():
    t = RateTracker()
    rates(t, 0.0, {"a": 1000}, {"a": 50})
    got = rates(t, 1.0, {"a": 2000}, {"a": 3})
    assert math.isnan(got["a"][0]) and math.isnan(got["a"][1])


def test_caller_declared_restart_and_forget():
    t = RateTracker()
    rates(t, 0.0, {("s1", 1): 100, ("s1", 2): 100, ("s2", 1): 100})
    # counters went up, yet the flow was re-added: the caller knows from its duration
    got = rates(t, 1.0, {("s1", 1): 150, ("s1", 2): 150, ("s2", 1): 150},
                restarted=[True, False, False])
    assert math.isnan(got[("s1", 1)][0]) and got[("s1", 2)][0] == 50.0
    t.forget_if(lambda key: key[0] == "s1")  # s1 reconnected
    assert ("s1", 2) not in t and ("s2", 1) in t
    got = rates(t, 2.0, {("s1", 1): 10, ("s1", 2): 10, ("s2", 1): 200})
    assert math.isnan(got[("s1", 1)][0]) and math.isnan(got[("s1", 2)][0])
    assert got[("s2", 1)][0] == 50.0
    t.forget([("s2", 1)])
    assert ("s2", 1) not in t and len(t) == 2


def test_unavailable_counters_give_no_rate():
    t = RateTracker()
    rates(t, 0.0, {"a": U64, "b": 0}, {"a": 5, "b": U64})
    got = rates(t, 1.0, {"a": U64, "b": 10}, {"a": 6, "b": U64})
    assert math.isnan(got["a"][0]) and got["a"][1] == 1.0
    assert got["b"][0] == 10.0 and math.isnan(got["b"][1])


def test_duplicate_or_backward_time_gives_no_rate():
    t = RateTracker()
    rates(t, 5.0, {"a": 0})
    assert math.isnan(rates(t, 5.0, {"a": 100})["a"][0])
    assert math.isnan(rates(t, 4.0, {"a": 200})["a"][0])
    assert rates(t, 6.0, {"a": 400})["a"][0] == 100.0


def test_keys_absent_too_long_expire():
    t = RateTracker(expire_after=30)
    rates(t, 0.0, {"a": 0, "b": 0})
    rates(t, 20.0, {"a": 100})
    # b comes back after 40 s: too stale to trust as a baseline
    got = rates(t, 40.0, {"a": 300, "b": 4000})
    assert got["a"][0] == 10.0 and math.isnan(got["b"][0])
    assert t.expire(100.0) == ["a", "b"] and len(t) == 0


def test_update_sweeps_expired_keys_by_itself():
    t = RateTracker(expire_after=10)
    rates(t, 0.0, {f"k{i}": 0 for i in range(100)})
    for now in range(1, 40):
        rates(t, float(now), {"live": now * 10})
    assert len(t) == 1 and "live" in t


def test_bad_parameters():
    with pytest.raises(ValueError):
        RateTracker(expire_after=0)
    with pytest.raises(ValueError):
        RateTracker(counter_bits=65)


def test_group_sums_per_network_and_link():
    keys = [("s1", 1), ("s1", 2), ("s2", 1), ("s2", 3)]
    values = np.array([10.0, 20.0, np.nan, 5.0])
    members = {
        "network:a": [("s1", 1), ("s2", 1)],  # s2:1 has no rate yet: skipped
        "network:b": [("s1", 2), ("s2", 3), ("s9", 9)],  # s9:9 not in the sample
        "link:s1:2-s2:3": [("s1", 2), ("s2", 3)],  # a port may count in several groups
        "network:empty": [("s2", 1)],  # no member with a value: left out, not 0
        "network:none": [],
    }
    assert group_sums(keys, values, members) == {
        "network:a": 10.0, "network:b": 25.0, "link:s1:2-s2:3": 25.0}
    assert group_sums([], [], {"x": ["a"]}) == {}


def test_ten_thousand_keys_per_sample_is_vectorised():
    t = RateTracker()
    keys = [("s", i) for i in range(10_000)]
    counts = np.arange(10_000, dtype=np.uint64)
    t.update(0.0, keys, counts, counts)
    r = t.update(1.0, keys, counts * 2, counts)
    assert np.array_equal(r.bytes_per_s, counts.astype(float))
    assert np.all(r.packets_per_s == 0)


def test_the_switch_clock_times_the_rate_when_replies_arrive_late_or_bunched():
    tracker = RateTracker()
    keys = ["a", "b"]
    tracker.update(10.0, keys, [0, 0], [0, 0], at=[100.0, 5.0])
    # the switch read the counters 0.5 s apart, the controller handled the replies 0.05 s apart
    rates = tracker.update(10.05, keys, [500_000, 500_000], [500, 500], at=[100.5, 5.5])
    assert rates.bytes_per_s.tolist() == [1_000_000.0, 1_000_000.0]
    without = RateTracker()
    without.update(10.0, keys, [0, 0], [0, 0])
    assert without.update(10.05, keys, [500_000, 500_000], [500, 500]).bytes_per_s[0] > 9e6


def test_a_clock_that_went_back_is_a_new_baseline_and_one_that_stands_still_uses_ours():
    tracker = RateTracker()
    tracker.update(0.0, ["re-added", "no-durations"], [1000, 0], [1, 0], at=[50.0, 0.0])
    rates = tracker.update(2.0, ["re-added", "no-durations"], [3000, 800], [3, 8],
                           at=[1.0, 0.0])
    assert np.isnan(rates.bytes_per_s[0])  # the flow was made again, counters or not
    assert rates.bytes_per_s[1] == 400.0  # a switch without durations: timed by `now`
    assert tracker.update(4.0, ["re-added"], [5000], [5], at=[3.0]).bytes_per_s[0] == 1000.0
