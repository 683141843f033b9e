"""Allocation strategies: ordering, floor, hysteresis, forecast_only, dynamic from coverage."""

from __future__ import annotations

import numpy as np
import pytest

from sdn_shadow.policy.allocation import AllocationPolicy, Allocator


def _one(policy: AllocationPolicy, point: float = 100.0, upper: float = 150.0):
    return Allocator({"n": policy}).decide(0.0, "n", point, upper, horizon=10.0)


def test_conservative_holds_at_least_aggressive_and_dynamic_sits_between() -> None:
    cons = _one(AllocationPolicy("conservative"))
    aggr = _one(AllocationPolicy("aggressive"))
    dyn = _one(AllocationPolicy("dynamic"))
    assert cons.held == 150.0 and aggr.held == 100.0
    assert aggr.held <= dyn.held <= cons.held


@pytest.mark.parametrize("strategy", ["conservative", "aggressive", "dynamic"])
def test_floor(strategy: str) -> None:
    assert _one(AllocationPolicy(strategy, floor=500.0)).held == 500.0


def test_forecast_only_decides_but_installs_nothing() -> None:
    alloc = _one(AllocationPolicy("conservative", forecast_only=True))
    assert alloc.held == 150.0 and alloc.install is False
    assert _one(AllocationPolicy("conservative")).install is True


def test_hysteresis_keeps_small_changes_from_resizing() -> None:
    allocator = Allocator({"n": AllocationPolicy("aggressive", hysteresis=0.1)})
    first = allocator.decide(0.0, "n", 100.0, 120.0, 10.0)
    small = allocator.decide(1.0, "n", 105.0, 125.0, 10.0)
    large = allocator.decide(2.0, "n", 130.0, 150.0, 10.0)
    assert first.changed and first.held == 100.0
    assert not small.changed and small.held == 100.0 and small.target == 105.0
    assert large.changed and large.held == 130.0


def test_negative_or_inverted_forecasts_are_clamped() -> None:
    alloc = _one(AllocationPolicy("conservative"), point=-5.0, upper=-10.0)
    assert alloc.held == 0.0


def _run_dynamic(actual_noise: float, steps: int = 4000) -> tuple[float, float]:
    """Forecast point 100, upper 100 + 1.645 sd; demand 100 + noise; returns (weight, exceed)."""
    rng = np.random.default_rng(7)
    allocator = Allocator({"n": AllocationPolicy("dynamic", hysteresis=0.0, level=0.9)})
    exceeded = []
    for t in range(steps):
        alloc = allocator.decide(float(t), "n", 100.0, 100.0 + 1.645 * 10.0, horizon=1.0)
        actual = 100.0 + rng.normal(0.0, actual_noise)
        allocator.observe(float(t + 1), "n", actual)
        exceeded.append(actual > alloc.held)
    return allocator.weight("n"), float(np.mean(exceeded[steps // 2:]))


def test_dynamic_settles_at_the_target_exceedance_rate() -> None:
    _, rate = _run_dynamic(actual_noise=10.0)
    assert abs(rate - 0.05) < 0.03


def test_dynamic_moves_towards_aggressive_when_the_forecast_is_good() -> None:
    weight, _ = _run_dynamic(actual_noise=2.0)  # demand much tighter than the interval says
    assert weight < 0.5


def test_dynamic_moves_towards_conservative_when_the_forecast_is_poor() -> None:
    weight, _ = _run_dynamic(actual_noise=40.0)
    assert weight > 0.95


def test_static_strategies_ignore_observations() -> None:
    allocator = Allocator({"n": AllocationPolicy("aggressive")})
    allocator.decide(0.0, "n", 100.0, 150.0, 1.0)
    allocator.observe(5.0, "n", 1e9)
    assert allocator.decide(6.0, "n", 100.0, 150.0, 1.0).held == 100.0


def test_compute_recommendation() -> None:
    policy = AllocationPolicy("conservative", instance_capacity=50.0, instances=1)
    rec = _one(policy).recommendation
    assert rec is not None and rec.needed == 3 and rec.delta == 2
    assert rec.text() == "scale up by 2 (held 0.0 Mbit/s needs 3 x 0.0 Mbit/s, have 1)"
    big = _one(AllocationPolicy("conservative", instance_capacity=2.5e6), 4e6, 5.3375e6)
    assert big.recommendation is not None
    assert big.recommendation.text() == (
        "scale up by 2 (held 42.7 Mbit/s needs 3 x 20.0 Mbit/s, have 1)")
    down = _one(AllocationPolicy("aggressive", instance_capacity=200.0, instances=3))
    assert down.recommendation is not None and down.recommendation.delta == -2
    assert _one(AllocationPolicy("aggressive")).recommendation is None
