"""Preemptive routing on the ring's fake fabric: forecasts in, client moves out, and back."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from sdn_shadow.config import parse_config
from sdn_shadow.core import SeriesForecastView, ShadowCore
from tests.fakes.flowtable import FakeFabric
from tests.fakes.ring import apply, reconciled, trail

RING = Path(__file__).resolve().parents[2] / "examples" / "ring.yaml"
CAPACITY = 100e6 / 8  # ring.yaml: every link 100 Mbit/s, in bytes/s


def two_host_ring() -> dict:
    """The ring with tenant-a on s1 and s2 only: h1's shadow path is s1 -> s4 -> s3 -> s2."""
    data = yaml.safe_load(RING.read_text())
    net = data["networks"]["tenant-a"]
    for host in ("h3", "h4"):
        del net["hosts"][host]
        del net["shadow"]["hosts"][f"{host}s"]
    net["shadow"]["mirror"] = []
    return data


def ring_at_once() -> dict:
    """The whole ring, moving clients in the first round a link is over `upper`."""
    data = yaml.safe_load(RING.read_text())
    data["routing"] = {"confirm": 1}
    return data


@pytest.fixture
def ring() -> tuple[ShadowCore, FakeFabric]:
    data = two_host_ring()
    data["routing"] = {"upper": 0.8, "lower": 0.6, "hold": 10, "confirm": 1}  # act at once
    return reconciled(parse_config(data))


def forecast(core: ShadowCore, link: float, clients: dict[str, float]) -> None:
    """Forecasts (bytes/s, upper = point) for link s1 -> s2 and clients' tx."""
    core.capacity.forecasts = {"link:s1:s2": SeriesForecastView(link, link, link)}
    for host, rate in clients.items():
        core.capacity.forecasts[f"client:tenant-a:{host}:tx"] = SeriesForecastView(rate, rate, rate)


def run(core: ShadowCore, fabric: FakeFabric, now: float) -> None:
    apply(fabric, core.preempt(now))


def test_the_top_client_moves_before_the_link_saturates_and_comes_back(ring) -> None:
    core, fabric = ring
    forecast(core, 0.7 * CAPACITY, {"h1": 0.5 * CAPACITY, "h2": 0.01 * CAPACITY})
    run(core, fabric, 0.0)
    assert core.intents.shadow_path == frozenset() and trail(fabric, 1, 2) == ("s1", "s2")

    forecast(core, 0.9 * CAPACITY, {"h1": 0.6 * CAPACITY, "h2": 0.01 * CAPACITY})
    run(core, fabric, 10.0)  # 90% forecast > 80%: the biggest contributor moves
    assert core.intents.shadow_path == {("tenant-a", "h1")}
    assert trail(fabric, 1, 2) == ("s1", "s4", "s3", "s2")
    [event] = core.events
    assert event["path"] == "shadow" and event["reason"].startswith("preempt: link link:s1:s2")

    forecast(core, 0.3 * CAPACITY, {"h1": 0.1 * CAPACITY})  # demand falls
    run(core, fabric, 20.0)
    assert core.intents.shadow_path == {("tenant-a", "h1")}, "hysteresis: not back before the hold"
    run(core, fabric, 31.0)
    assert core.intents.shadow_path == frozenset() and trail(fabric, 1, 2) == ("s1", "s2")
    assert [e["path"] for e in core.events] == ["shadow", "primary"]


def test_a_detour_over_the_hot_link_asks_for_scaling_instead() -> None:
    core = ShadowCore(parse_config(ring_at_once()))
    # h1 talks to h2, h3 and h4: its detour to h4 (s1-s2-s3-s4) crosses s1 -> s2 itself.
    forecast(core, 0.9 * CAPACITY, {"h1": 2.4 * CAPACITY})
    assert core.preempt(0.0) == {} and core.intents.shadow_path == frozenset()
    assert core.events and {e["kind"] for e in core.events} == {"scale"}


def test_clients_placed_by_config_are_left_alone(ring) -> None:
    data = two_host_ring()
    data["networks"]["tenant-a"]["shadow"]["clients"] = {"h1": {"path": "shadow"}}
    core = ShadowCore(parse_config(data))
    forecast(core, 0.1 * CAPACITY, {"h1": 0.05 * CAPACITY})
    for now in (0.0, 100.0, 200.0):
        assert core.preempt(now) == {}
    assert core.intents.shadow_path == {("tenant-a", "h1")}


def test_disabled_routing_never_moves(ring) -> None:
    data = yaml.safe_load(RING.read_text())
    data["routing"] = {"enabled": False}
    core = ShadowCore(parse_config(data))
    forecast(core, 0.99 * CAPACITY, {"h1": 0.9 * CAPACITY})
    assert core.preempt(0.0) == {} and core.intents.shadow_path == frozenset()


def test_a_scaling_request_is_an_event_when_it_appears_changes_or_clears() -> None:
    core = ShadowCore(parse_config(ring_at_once()))
    forecast(core, 0.9 * CAPACITY, {"h1": 2.4 * CAPACITY})
    core.preempt(0.0)
    first = [e for e in core.events if e["kind"] == "scale"]
    assert first and core.status()["routing"]["scaling"] == {e["link"]: e["instances"]
                                                             for e in first}
    core.preempt(2.0)  # the same request again: no new events
    assert [e for e in core.events if e["kind"] == "scale"] == first

    forecast(core, 0.9 * CAPACITY, {"h1": 6.0 * CAPACITY})  # bigger: the sizes change
    core.preempt(4.0)
    grown = [e for e in core.events if e["kind"] == "scale"][len(first):]
    assert grown and all(e["instances"] > 0 and e["t"] == 4.0 for e in grown)

    forecast(core, 0.1 * CAPACITY, {"h1": 0.05 * CAPACITY})  # demand gone: requests clear
    core.preempt(6.0)
    cleared = [e for e in core.events if e["kind"] == "scale" and e["t"] == 6.0]
    assert cleared and all(e["instances"] == 0 for e in cleared)
    assert core.status()["routing"]["scaling"] == {}


def test_by_default_a_link_must_stay_over_upper_for_two_rounds() -> None:
    core, fabric = reconciled(parse_config(two_host_ring()))
    assert core.config.routing.confirm == 2
    for now, link in ((0.0, 0.9), (2.0, 0.7), (4.0, 0.9)):  # never two rounds running
        forecast(core, link * CAPACITY, {"h1": 0.6 * CAPACITY})
        run(core, fabric, now)
        assert core.intents.shadow_path == frozenset()
    forecast(core, 0.9 * CAPACITY, {"h1": 0.6 * CAPACITY})
    run(core, fabric, 6.0)
    assert core.intents.shadow_path == {("tenant-a", "h1")}
    assert "> 80% in 2 rounds running" in core.events[-1]["reason"]


def test_reactive_mode_plans_from_the_measured_rate_not_the_forecast() -> None:
    data = two_host_ring()
    data["routing"] = {"mode": "reactive", "confirm": 1}
    core, fabric = reconciled(parse_config(data))
    forecast(core, 0.95 * CAPACITY, {"h1": 0.6 * CAPACITY})  # the forecast says "over"
    core.capacity.demand.latest.update({"link:s1:s2": 0.5 * CAPACITY,
                                        "client:tenant-a:h1:tx": 0.4 * CAPACITY})
    run(core, fabric, 0.0)
    assert core.intents.shadow_path == frozenset()  # what is measured is not over
    core.capacity.demand.latest.update({"link:s1:s2": 0.85 * CAPACITY,
                                        "client:tenant-a:h1:tx": 0.6 * CAPACITY})
    run(core, fabric, 2.0)
    assert core.intents.shadow_path == {("tenant-a", "h1")}
