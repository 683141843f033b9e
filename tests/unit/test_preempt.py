"""Preemption: thresholds, fewest moves, hysteresis, twins, shadow overload -> scale, ties."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from sdn_shadow.policy.preempt import (
    Contribution,
    Decision,
    Detour,
    Preempter,
    PreemptPolicy,
    Relieved,
    Resource,
    ShadowResource,
)

MB = 1e6  # bytes/s


class _Held:
    """A preempter as its owner holds it: each round's new value swapped in."""

    def __init__(self, preempter: Preempter) -> None:
        self.value = preempter

    def decide(self, *args: Any, **kwargs: Any) -> list[Decision]:
        self.value, decisions = self.value.decide(*args, **kwargs)
        return decisions

    def __getattr__(self, name: str) -> Any:
        return getattr(self.value, name)


def _held(policy: PreemptPolicy | None = None) -> _Held:
    return _Held(Preempter() if policy is None else Preempter(policy))

A, B, C, D = ("t", "a"), ("t", "b"), ("t", "c"), ("t", "d")


def _link(key: str, planned: float, capacity: float | None = 100.0) -> Resource:
    return Resource(key, "link", None if capacity is None else capacity * MB, planned * MB)


def _shares(resource: str, **by_client: float) -> list[Contribution]:
    return [Contribution(("t", name), resource, amount * MB) for name, amount in by_client.items()]


def _brief(decisions: list[Decision]) -> list[tuple]:
    """(kind, client, resource, relief, at, instances) per decision: what the tests pin."""
    return [(d.kind, d.client, d.resource, d.relief, d.at, d.instances) for d in decisions]


def test_crossing_upper_moves_the_top_client_with_the_numbers_in_the_reason() -> None:
    decisions = _held().decide(5.0, [_link("L", 90.0)], _shares("L", a=30.0, b=20.0))
    assert decisions == [Decision(
        "move", A, "L", "path", 5.0,
        "link L planned 720.0 Mbit/s of 800.0 Mbit/s (90%) > 80%: excess 80.0 Mbit/s; "
        "move 1/1 takes 240.0 Mbit/s (240.0 Mbit/s taken so far)")]


@pytest.mark.parametrize("planned", [50.0, 79.9, 80.0])
def test_at_or_below_upper_nothing_moves(planned: float) -> None:
    assert _held().decide(0.0, [_link("L", planned)], _shares("L", a=30.0, b=20.0)) == []


def test_one_big_client_beats_two_small_ones_when_it_alone_covers_the_excess() -> None:
    contributions = _shares("L", s1=20.0, s2=20.0, big=35.0)  # excess 110 - 80 = 30
    decisions = _held().decide(0.0, [_link("L", 110.0)], contributions)
    assert _brief(decisions) == [("move", ("t", "big"), "L", "path", 0.0, 0)]


def test_stops_as_soon_as_the_excess_is_covered() -> None:
    contributions = _shares("L", a=30.0, b=25.0, c=20.0, d=10.0)  # excess 130 - 80 = 50
    decisions = _held().decide(0.0, [_link("L", 130.0)], contributions)
    assert _brief(decisions) == [("move", A, "L", "path", 0.0, 0),
                                 ("move", B, "L", "path", 0.0, 0)]


def test_moves_everyone_it_can_when_the_excess_cannot_be_covered() -> None:
    decisions = _held().decide(0.0, [_link("L", 100.0)], _shares("L", a=5.0, b=5.0))
    assert _brief(decisions) == [("move", A, "L", "path", 0.0, 0),
                                 ("move", B, "L", "path", 0.0, 0)]


def test_equal_shares_break_ties_by_client() -> None:
    contributions = _shares("L", h2=20.0, h10=20.0, h1=20.0)
    decisions = _held().decide(0.0, [_link("L", 90.0)], contributions)
    assert _brief(decisions) == [("move", ("t", "h1"), "L", "path", 0.0, 0)]


def test_hottest_resource_first_and_a_moved_path_relieves_every_link_it_used() -> None:
    resources = [_link("L1", 90.0), _link("L2", 95.0)]
    contributions = _shares("L1", c=30.0, d=25.0) + _shares("L2", c=30.0, d=20.0)
    decisions = _held().decide(0.0, resources, contributions)
    assert _brief(decisions) == [("move", C, "L2", "path", 0.0, 0)]  # L1 is then at 60


def test_equal_utilisation_goes_by_resource_key() -> None:
    resources = [_link("L2", 90.0), _link("L1", 90.0)]
    contributions = _shares("L2", c=30.0, e=25.0) + _shares("L1", c=30.0, d=25.0)
    decisions = _held().decide(0.0, resources, contributions)
    assert _brief(decisions) == [("move", C, "L1", "path", 0.0, 0)]


def test_ramp_moves_the_top_client_in_the_first_round_over_upper_before_capacity() -> None:
    preempter, decisions, crossed = _held(), [], None
    for t in range(8):
        planned = 50.0 + 7.0 * t  # 50, 57, ..., 78, 85, 92, 99
        if crossed is None and planned > 80.0:
            crossed = (float(t), planned)
        decisions += preempter.decide(float(t), [_link("L", planned)],
                                      _shares("L", top=0.5 * planned, mid=0.3 * planned))
    assert crossed == (5.0, 85.0) and crossed[1] < 100.0
    assert _brief(decisions) == [("move", ("t", "top"), "L", "path", 5.0, 0)]


def _rounds(preempter: _Held, planned_by_round: list[float], start: float = 0.0,
            step: float = 10.0) -> list[tuple]:
    """Feed L's demand every `step` seconds (a=40, b=25, the rest base); all decisions."""
    out = []
    for i, planned in enumerate(planned_by_round):
        out += _brief(preempter.decide(start + i * step, [_link("L", planned)],
                                       _shares("L", a=40.0, b=25.0)))
    return out


def test_hysteresis_returns_only_after_hold_below_lower_and_the_clock_resets() -> None:
    preempter = _held(PreemptPolicy(upper=0.8, lower=0.6, hold=30.0))
    assert _rounds(preempter, [90.0]) == [("move", A, "L", "path", 0.0, 0)]
    # between lower and upper with a back: stays on the shadow
    assert _rounds(preempter, [79.0, 61.0, 60.0], start=10.0) == []
    # below lower at 40 and 50, back above lower at 60 (clock reset), below again from 70
    assert _rounds(preempter, [55.0, 55.0, 65.0, 55.0, 55.0, 55.0], start=40.0) == []
    assert [e.below_since for e in preempter.relieved()] == [70.0]
    assert _rounds(preempter, [55.0], start=100.0) == [("return", A, "L", "path", 100.0, 0)]
    assert preempter.relieved() == []


def test_return_reason_and_relieved_snapshot() -> None:
    preempter = _held(PreemptPolicy(hold=10.0))
    preempter.decide(0.0, [_link("L", 90.0)], _shares("L", a=40.0))
    assert preempter.relieved() == [Relieved(A, "path", "L", 0.0, None)]
    assert preempter.decide(5.0, [_link("L", 50.0)], _shares("L", a=40.0)) == []
    assert preempter.relieved() == [Relieved(A, "path", "L", 0.0, 5.0)]
    assert preempter.decide(15.0, [_link("L", 50.0)], _shares("L", a=40.0)) == [Decision(
        "return", A, "L", "path", 15.0,
        "link L planned 400.0 Mbit/s of 800.0 Mbit/s (50%) with it back < 60% for 10.0 s >= hold "
        "10 s")]


def test_no_flapping_with_noisy_forecasts_around_both_thresholds() -> None:
    preempter = _held(PreemptPolicy(upper=0.8, lower=0.6, hold=30.0))
    around_upper = [78.0, 83.0, 79.0, 84.0, 77.0, 82.0, 80.0, 85.0, 79.0, 81.0]  # t = 0..90
    around_lower = [61.0, 58.0, 62.0, 59.0, 57.0, 61.0, 55.0, 55.0, 55.0, 55.0]  # t = 100..190
    assert _rounds(preempter, around_upper + around_lower) == [
        ("move", A, "L", "path", 10.0, 0),
        ("return", A, "L", "path", 190.0, 0),  # below lower continuously from 160
    ]


def test_due_returns_go_largest_first_and_only_while_they_fit() -> None:
    preempter = _held(PreemptPolicy(hold=0.0))
    first = preempter.decide(0.0, [_link("L", 135.0)], _shares("L", a=30.0, b=25.0))
    assert _brief(first) == [("move", A, "L", "path", 0.0, 0), ("move", B, "L", "path", 0.0, 0)]
    # base 20: a alone back -> 50, b alone back -> 45, both -> 75 >= 60
    for t in (10.0, 20.0):
        decisions = preempter.decide(t, [_link("L", 75.0)], _shares("L", a=30.0, b=25.0))
        assert _brief(decisions) == ([("return", A, "L", "path", 10.0, 0)] if t == 10.0 else [])
    assert preempter.relieved() == [Relieved(B, "path", "L", 0.0, None)]


def test_service_over_threshold_steers_top_clients_to_the_twin() -> None:
    svc = Resource("web", "service", 100.0 * MB, 95.0 * MB)
    contributions = _shares("web", a=10.0, b=30.0) + _shares("L", b=30.0)
    decisions = _held().decide(0.0, [svc, _link("L", 70.0)], contributions,
                                   [ShadowResource("web-twin", 100.0 * MB, 0.0)],
                                   [Detour(B, "web-twin", 30.0 * MB, service="web")])
    assert _brief(decisions) == [("move", B, "web", "service", 0.0, 0)]
    assert _held().decide(0.0, [svc], contributions)[0].relief == "service"


def test_twin_steering_leaves_the_clients_links_alone() -> None:
    preempter = _held()
    svc = Resource("web", "service", 100.0 * MB, 95.0 * MB)
    contributions = _shares("web", b=30.0) + _shares("L", b=30.0)
    preempter.decide(0.0, [svc, _link("L", 70.0)], contributions)
    # the link then crosses: b is still on its primary path, so it moves too
    decisions = preempter.decide(10.0, [svc, _link("L", 90.0)], contributions)
    assert _brief(decisions) == [("move", B, "L", "path", 10.0, 0)]


def test_shadow_overload_asks_for_instances_instead_of_moving() -> None:
    # moving a puts 40 on shadow X (capacity 50, already 20 planned): 60 > 0.8 * 50 = 40
    preempter = _held(PreemptPolicy(instance_capacity=15.0 * MB))
    resources, contributions = [_link("L", 90.0)], _shares("L", a=40.0, b=10.0)
    shadow, detours = [ShadowResource("X", 50.0 * MB, 20.0 * MB)], [Detour(A, "X", 40.0 * MB)]
    for t in (0.0, 10.0, 20.0):
        decisions = preempter.decide(t, resources, contributions, shadow, detours)
        assert decisions == [Decision(
            "scale", None, "X", "path", t,
            "shadow X needs 480.0 Mbit/s of 400.0 Mbit/s (120%) > 80%: lacks 160.0 Mbit/s; "
            "blocks relief of L; add 2 x 120.0 Mbit/s", 2, ("L",))]
        assert preempter.relieved() == []
    # scaled up: the move goes ahead, nothing left to ask for
    bigger = [ShadowResource("X", 100.0 * MB, 20.0 * MB)]
    assert _brief(preempter.decide(30.0, resources, contributions, bigger, detours)) == [
        ("move", A, "L", "path", 30.0, 0)]


def test_a_blocked_set_of_moves_is_not_half_applied() -> None:
    # excess 50 needs a (30, shadow X fine) and b (25, shadow Y overloaded): nobody moves
    shadow = [ShadowResource("X", 100.0 * MB, 0.0), ShadowResource("Y", 20.0 * MB, 0.0)]
    detours = [Detour(A, "X", 30.0 * MB), Detour(B, "Y", 25.0 * MB)]
    decisions = _held().decide(0.0, [_link("L", 130.0)], _shares("L", a=30.0, b=25.0),
                                   shadow, detours)
    assert _brief(decisions) == [("scale", None, "Y", "path", 0.0, 1)]  # 25 - 16 = 9 <= 20
    assert decisions[0].blocked == ("L",)


def test_instance_count_defaults_to_the_shadow_resources_own_capacity() -> None:
    shadow = [ShadowResource("X", 10.0 * MB, 0.0)]
    decisions = _held().decide(0.0, [_link("L", 90.0)], _shares("L", a=40.0), shadow,
                                   [Detour(A, "X", 40.0 * MB)])
    assert _brief(decisions) == [("scale", None, "X", "path", 0.0, 4)]  # ceil((40 - 8) / 10)


def test_moves_earlier_in_the_round_count_against_the_shadow() -> None:
    resources = [_link("L1", 95.0), _link("L2", 90.0)]
    contributions = _shares("L1", a=30.0) + _shares("L2", b=30.0)
    shadow = [ShadowResource("X", 50.0 * MB, 0.0)]
    detours = [Detour(A, "X", 30.0 * MB), Detour(B, "X", 30.0 * MB)]
    decisions = _held(PreemptPolicy(instance_capacity=10.0 * MB)).decide(
        0.0, resources, contributions, shadow, detours)
    assert _brief(decisions) == [("move", A, "L1", "path", 0.0, 0),
                                 ("scale", None, "X", "path", 0.0, 2)]  # 60 - 40 = 20


def test_shadow_forecast_rising_under_relieved_clients_scales_without_moving_back() -> None:
    preempter = _held(PreemptPolicy(instance_capacity=25.0 * MB, hold=0.0))
    resources, contributions = [_link("L", 90.0)], _shares("L", a=40.0)
    detours = [Detour(A, "X", 40.0 * MB)]
    first = preempter.decide(0.0, resources, contributions,
                             [ShadowResource("X", 100.0 * MB, 10.0 * MB)], detours)
    assert _brief(first) == [("move", A, "L", "path", 0.0, 0)]
    later = preempter.decide(10.0, resources, contributions,
                             [ShadowResource("X", 100.0 * MB, 60.0 * MB)], detours)
    assert _brief(later) == [("scale", None, "X", "path", 10.0, 1)]  # 100 - 80 = 20
    assert later[0].blocked == ()
    assert [e.client for e in preempter.relieved()] == [A]


def test_twin_overload_scales_with_relief_service() -> None:
    svc = Resource("web", "service", 100.0 * MB, 95.0 * MB)
    decisions = _held().decide(0.0, [svc], _shares("web", a=30.0),
                                   [ShadowResource("web-twin", 20.0 * MB, 0.0)],
                                   [Detour(A, "web-twin", 30.0 * MB, service="web")])
    assert _brief(decisions) == [("scale", None, "web-twin", "service", 0.0, 1)]


@pytest.mark.parametrize("capacity", [None, 0.0])
def test_unknown_capacity_is_never_acted_on(capacity: float | None) -> None:
    resources = [_link("L", 1e6, capacity=capacity),
                 Resource("web", "service", capacity, 1e12)]
    contributions = _shares("L", a=40.0) + _shares("web", a=40.0)
    assert _held().decide(0.0, resources, contributions) == []


def test_shadow_of_unknown_capacity_does_not_block() -> None:
    decisions = _held().decide(0.0, [_link("L", 90.0)], _shares("L", a=40.0),
                                   [ShadowResource("X", None, 1e12)],
                                   [Detour(A, "X", 40.0 * MB)])
    assert _brief(decisions) == [("move", A, "L", "path", 0.0, 0)]


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"upper": 0.0}, "PreemptPolicy.upper"),
    ({"upper": 1.2}, "PreemptPolicy.upper"),
    ({"lower": 0.0}, "PreemptPolicy.lower"),
    ({"upper": 0.7, "lower": 0.7}, "PreemptPolicy.lower"),
    ({"lower": 0.9}, "PreemptPolicy.lower"),
    ({"hold": -1.0}, "PreemptPolicy.hold"),
    ({"hold": float("nan")}, "PreemptPolicy.hold"),
    ({"instance_capacity": 0.0}, "PreemptPolicy.instance_capacity"),
])
def test_policy_validation_names_the_field(kwargs: dict, field: str) -> None:
    with pytest.raises(ValueError, match=field):
        PreemptPolicy(**kwargs)


def test_policy_edges_are_valid_and_kind_is_checked() -> None:
    PreemptPolicy(upper=1.0, lower=0.99, hold=0.0)
    with pytest.raises(ValueError, match="Resource.kind"):
        Resource("L", "switch", 1.0, 0.0)


def test_confirm_moves_only_after_that_many_rounds_running_over_upper() -> None:
    preempter = _held(PreemptPolicy(confirm=3, hold=1e9))
    # over, over, under (the count starts again), over, over, over: moves in the 6th round
    assert _rounds(preempter, [90.0, 90.0, 70.0, 90.0, 90.0]) == []
    decisions = preempter.decide(50.0, [_link("L", 90.0)], _shares("L", a=40.0, b=25.0))
    assert _brief(decisions) == [("move", A, "L", "path", 50.0, 0)]
    assert "> 80% in 3 rounds running: excess" in decisions[0].reason


def test_confirm_counts_each_resource_apart() -> None:
    preempter = _held(PreemptPolicy(confirm=2))
    first = preempter.decide(0.0, [_link("L", 90.0), _link("M", 50.0)],
                             _shares("L", a=40.0) + _shares("M", b=40.0))
    second = preempter.decide(10.0, [_link("L", 50.0), _link("M", 90.0)],
                              _shares("L", a=40.0) + _shares("M", b=40.0))
    third = preempter.decide(20.0, [_link("L", 50.0), _link("M", 90.0)],
                             _shares("L", a=40.0) + _shares("M", b=40.0))
    assert first == second == []
    assert _brief(third) == [("move", B, "M", "path", 20.0, 0)]


@pytest.mark.parametrize("confirm", [0, 101, 1.5, True])
def test_confirm_must_be_a_whole_number_of_rounds(confirm) -> None:
    with pytest.raises(ValueError, match="PreemptPolicy.confirm"):
        PreemptPolicy(confirm=confirm)


def _three_rounds(preempter: Preempter) -> tuple[Preempter, list[Decision]]:
    out: list[Decision] = []
    for t, planned in ((0.0, 90.0), (10.0, 95.0), (20.0, 50.0), (60.0, 50.0)):
        preempter, decided = preempter.decide(t, [_link("L", planned)],
                                              _shares("L", a=40.0, b=25.0))
        out += decided
    return preempter, out


def test_a_round_leaves_the_preempter_it_started_from_untouched() -> None:
    start, _ = Preempter(PreemptPolicy(hold=10.0, confirm=2)).decide(
        0.0, [_link("L", 90.0)], _shares("L", a=40.0))
    start, moved = start.decide(1.0, [_link("L", 90.0)], _shares("L", a=40.0))
    assert _brief(moved) == [("move", A, "L", "path", 1.0, 0)]
    before = copy.deepcopy(start)
    after, _ = start.decide(5.0, [_link("L", 50.0)], _shares("L", a=40.0))
    after, back = after.decide(15.0, [_link("L", 50.0)], _shares("L", a=40.0))
    assert _brief(back) == [("return", A, "L", "path", 15.0, 0)]
    assert start == before and start.relieved() == [Relieved(A, "path", "L", 1.0, None)]
    assert start.over == {"L": 2} and after.relieved() == []
    assert start.forget(lambda client: True).relieved() == []
    assert start == before


def test_replaying_the_same_rounds_gives_the_same_preempter() -> None:
    first, decided = _three_rounds(Preempter(PreemptPolicy(hold=30.0)))
    again, decided_again = _three_rounds(Preempter(PreemptPolicy(hold=30.0)))
    assert first == again and decided == decided_again
    assert [d.kind for d in decided] == ["move", "return"]
