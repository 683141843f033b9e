"""Capacity held on the shadow from a forecast: conservative, aggressive or dynamic (pure).

- conservative holds the upper bound of the forecast interval;
- aggressive holds the point forecast;
- dynamic holds `point + w * (upper - point)` and moves `w` in [0, 1] continuously
  from live coverage: each time the demand the forecast was for is observed,
  `w` steps up if demand beat what was held and down otherwise, sized so that
  demand exceeds the held rate about `(1 - level) / 2` of the time -- the same
  one-sided risk the conservative bound takes, reached with less capacity when
  the forecast is good and more when it is not.

A floor keeps a minimum held; a relative hysteresis stops the switch's meters
and queues from churning on small changes. With `forecast_only` the decision
is made and reported but nothing is installed (see `Allocation.install`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

STRATEGIES = ("conservative", "aggressive", "dynamic")


@dataclass(frozen=True, slots=True)
class AllocationPolicy:
    """How one shadow network sizes what it holds (rates in bytes/s)."""

    strategy: str = "conservative"
    floor: float = 0.0
    hysteresis: float = 0.1
    forecast_only: bool = False
    level: float = 0.9
    gain: float = 0.05
    instance_capacity: float | None = None
    instances: int = 1


@dataclass(frozen=True, slots=True)
class Allocation:
    """What is held for one network now, and why."""

    network: str
    strategy: str
    held: float
    target: float
    point: float
    upper: float
    weight: float
    install: bool
    changed: bool
    recommendation: Recommendation | None = None


@dataclass(frozen=True, slots=True)
class Recommendation:
    """Shadow compute to add (positive) or remove (negative), with the numbers behind it."""

    delta: int
    needed: int
    current: int
    held: float
    instance_capacity: float

    def text(self) -> str:
        """`scale up by 2 (held 42.7 Mbit/s needs 3 x 20.0 Mbit/s, have 1)` and similar."""
        verb = "scale up by" if self.delta > 0 else "scale down by" if self.delta < 0 else "keep"
        count = abs(self.delta) if self.delta else self.current
        return (f"{verb} {count} (held {self.held * 8 / 1e6:.1f} Mbit/s needs {self.needed} x "
                f"{self.instance_capacity * 8 / 1e6:.1f} Mbit/s, have {self.current})")


@dataclass
class _State:
    held: float = 0.0
    weight: float = 1.0
    pending: list[tuple[float, float]] = field(default_factory=list)  # (due time, held)


class Allocator:
    """Per-network allocation state across forecast rounds; every method takes `now`."""

    def __init__(self, policies: dict[str, AllocationPolicy]) -> None:
        self.policies = policies
        self._state = {name: _State() for name in policies}

    def retuned(self, policies: dict[str, AllocationPolicy]) -> Allocator:
        """An allocator for new policies that keeps the state of the networks it still has."""
        fresh = Allocator({})
        fresh.policies, state = policies, self._state
        fresh._state = {name: state.get(name) or _State() for name in policies}
        return fresh

    def weight(self, network: str) -> float:
        """Where dynamic sits between aggressive (0) and conservative (1)."""
        return self._state[network].weight

    def observe(self, now: float, network: str, actual: float) -> None:
        """Demand measured now: score the held rates that were decided for this moment."""
        policy, state = self.policies[network], self._state[network]
        due = [held for t, held in state.pending if t <= now]
        state.pending = [(t, held) for t, held in state.pending if t > now]
        if policy.strategy != "dynamic":
            return
        target = (1.0 - policy.level) / 2.0
        for held in due:
            exceeded = 1.0 if actual > held else 0.0
            # Stochastic approximation: settles where P(actual > held) == target.
            state.weight = min(1.0, max(0.0, state.weight + policy.gain * (exceeded - target)))

    def decide(self, now: float, network: str, point: float, upper: float,
               horizon: float) -> Allocation:
        """The allocation for `network` from a forecast for `now + horizon`."""
        policy, state = self.policies[network], self._state[network]
        point, upper = max(point, 0.0), max(upper, point, 0.0)
        if policy.strategy == "conservative":
            weight = 1.0
        elif policy.strategy == "aggressive":
            weight = 0.0
        else:
            weight = state.weight
        target = max(policy.floor, point + weight * (upper - point))
        moved = abs(target - state.held) > policy.hysteresis * max(state.held, 1e-9)
        changed = moved or state.held == 0.0
        if changed:
            state.held = target
        state.pending.append((now + horizon, target))
        return Allocation(network, policy.strategy, state.held, target, point, upper, weight,
                          not policy.forecast_only, changed, _recommend(policy, state.held))


def _recommend(policy: AllocationPolicy, held: float) -> Recommendation | None:
    if not policy.instance_capacity:
        return None
    needed = max(1, math.ceil(held / policy.instance_capacity))
    return Recommendation(needed - policy.instances, needed, policy.instances, held,
                          policy.instance_capacity)
