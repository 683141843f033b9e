"""Service steering on the fake ring: new connections of steered clients go to the twin.

h2 is a service host with its twin h2s on the same switch (s2, ports 1 and
2). The fake switches track connections like OVS (`tests.fakes.flowtable`).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from sdn_shadow.config import ConfigError, parse_config
from sdn_shadow.core import ShadowCore
from sdn_shadow.openflow.messages import FlowAdd, FlowDelete
from sdn_shadow.openflow.pipeline import Subsystem
from tests.fakes.flowtable import FakeFabric
from tests.fakes.ring import apply, reconciled, udp

RING = Path(__file__).resolve().parents[2] / "examples" / "ring.yaml"


def service_config(**clients: dict) -> dict:
    """The ring with h2 as a service host, no mirror sessions, and `clients` settings."""
    data = yaml.safe_load(RING.read_text())
    shadow = data["networks"]["tenant-a"]["shadow"]
    shadow["mirror"] = []
    shadow["services"] = {"h2": {"capacity": 50}}
    if clients:
        shadow["clients"] = clients
    return data


@pytest.fixture
def ring() -> tuple[ShadowCore, FakeFabric]:
    """Core and fake fabric for the service ring, reconciled."""
    return reconciled(parse_config(service_config()))


def reply(packet: dict) -> dict:
    """The answer to `packet`: addresses and ports swapped."""
    out = dict(packet)
    for a, b in (("eth_src", "eth_dst"), ("ipv4_src", "ipv4_dst"), ("udp_src", "udp_dst")):
        out[a], out[b] = packet[b], packet[a]
    return out


def where(fabric: FakeFabric, switch: str, port: int, packet: dict) -> set[tuple[str, int]]:
    """Where a packet sent in at switch:port is delivered (untagged)."""
    return {(d.switch, d.port) for d in fabric.send(switch, port, packet)
            if d.packet["vlan_vid"] == 0}


def test_new_connections_go_to_the_twin_and_established_ones_stay(ring) -> None:
    core, fabric = ring
    old = udp(1, 2, sport=1001)
    assert where(fabric, "s1", 1, old) == {("s2", 1)}
    assert where(fabric, "s2", 1, reply(old)) == {("s1", 1)}

    updates = core.set_client_service(1.0, "tenant-a", "h1", "twin", "operator")
    assert list(updates) == [2], "only the service host's switch changes"
    adds = [m for m in updates[2] if isinstance(m, FlowAdd)]
    assert len(adds) == 1 and adds[0].flow.subsystem == Subsystem.SERVICE
    assert not [m for m in updates[2] if isinstance(m, FlowDelete)]
    apply(fabric, updates)

    new = udp(1, 2, sport=1002)
    assert where(fabric, "s1", 1, old) == {("s2", 1)}, "established: still the host"
    assert where(fabric, "s1", 1, new) == {("s2", 2)}, "new: the twin"
    assert where(fabric, "s2", 2, reply(new)) == {("s1", 1)}, "the twin's answer is delivered"
    assert where(fabric, "s2", 2, reply(old)) == set(), "not for a connection it does not serve"
    assert where(fabric, "s2", 1, reply(old)) == {("s1", 1)}
    assert where(fabric, "s3", 1, udp(3, 2, sport=1003)) == {("s2", 1)}, "h3 is not steered"
    assert core.status()["routing"]["twin_service"] == ["tenant-a/h1"]
    assert core.events[-1] == {"t": 1.0, "kind": "steer", "network": "tenant-a",
                               "client": "h1", "service": "twin", "reason": "operator"}

    apply(fabric, core.set_client_service(2.0, "tenant-a", "h1", "primary", "operator"))
    assert where(fabric, "s1", 1, new) == {("s2", 2)}, "the twin keeps what it started"
    assert where(fabric, "s1", 1, udp(1, 2, sport=1004)) == {("s2", 1)}
    assert core.set_client_service(3.0, "tenant-a", "h1", "primary", "again") == {}


def test_the_twin_stays_receive_only_for_everything_else(ring) -> None:
    _, fabric = ring
    assert where(fabric, "s2", 2, udp(2, 1, sport=5)) == set()
    arp = {"eth_src": "00:00:00:00:0a:02", "eth_dst": "ff:ff:ff:ff:ff:ff", "eth_type": 0x0806,
           "arp_op": 1, "arp_spa": "10.0.0.2", "arp_tpa": "10.0.0.1",
           "arp_sha": "00:00:00:00:0a:02", "arp_tha": "00:00:00:00:00:00"}
    assert where(fabric, "s2", 2, arp) == {("s2", 2)}, "ARP is still answered by the switch"


def test_steering_by_config_and_reload_keeps_what_is_established() -> None:
    core, fabric = reconciled(parse_config(service_config(h3={"service": "twin"})))
    assert core.status()["routing"]["twin_service"] == ["tenant-a/h3"]
    assert where(fabric, "s3", 1, udp(3, 2, sport=7)) == {("s2", 2)}
    apply(fabric, core.reload(5.0, parse_config(service_config())))
    assert core.status()["routing"]["twin_service"] == []
    assert where(fabric, "s3", 1, udp(3, 2, sport=7)) == {("s2", 2)}, "established"
    assert where(fabric, "s3", 1, udp(3, 2, sport=8)) == {("s2", 1)}


def test_a_taken_over_service_host_is_served_whole_by_its_twin(ring) -> None:
    core, fabric = ring
    apply(fabric, core.set_client_service(1.0, "tenant-a", "h1", "twin", "operator"))
    apply(fabric, core.set_host_served(2.0, "tenant-a", "h2", "twin", "probe: 3 misses"))
    assert where(fabric, "s1", 1, udp(1, 2, sport=9)) == {("s2", 2)}
    assert where(fabric, "s3", 1, udp(3, 2, sport=9)) == {("s2", 2)}
    apply(fabric, core.set_host_served(9.0, "tenant-a", "h2", "primary", "back"))
    assert where(fabric, "s3", 1, udp(3, 2, sport=10)) == {("s2", 1)}


def test_bad_steering_requests_are_refused(ring) -> None:
    core, _ = ring
    with pytest.raises(ValueError, match="primary or twin"):
        core.set_client_service(1.0, "tenant-a", "h1", "shadow", "x")
    with pytest.raises(ValueError, match="no primary host h9"):
        core.set_client_service(1.0, "tenant-a", "h9", "twin", "x")
    plain = ShadowCore(parse_config(yaml.safe_load(RING.read_text())))
    with pytest.raises(ValueError, match="shadow.services"):
        plain.set_client_service(1.0, "tenant-a", "h1", "twin", "x")


@pytest.mark.parametrize(("change", "path", "reason"), [
    (lambda s: s.update(services={"h9": None}), "shadow.services.h9", "no primary host h9"),
    (lambda s: s["hosts"].pop("h2s"), "shadow.services.h2", "no twin with its MAC and IP"),
    (lambda s: s["hosts"]["h2s"].update(switch="s3", port=5), "shadow.services.h2",
     "must be attached to s2"),
    (lambda s: s["services"].update(h2={"capacity": 0}), "shadow.services.h2.capacity",
     "must be > 0"),
    (lambda s: s.update(clients={"h1": {"service": "shadow"}}), "clients.h1.service",
     "must be primary or twin"),
    (lambda s: s.update(services=None, clients={"h1": {"service": "twin"}}),
     "clients.h1.service", "list them under shadow.services"),
    (lambda s: s.update(mirror=[{"name": "m", "hosts": ["h1"], "to": ["h2s"]}]),
     "shadow.mirror[0].to", "cannot also receive mirrored copies"),
])
def test_bad_service_configs_name_the_key(change, path, reason) -> None:
    data = service_config()
    change(data["networks"]["tenant-a"]["shadow"])
    with pytest.raises(ConfigError) as err:
        parse_config(data)
    text = "\n".join(err.value.lines())
    assert path in text and reason in text, text


def test_preemption_steers_the_top_client_before_the_service_fills_and_back() -> None:
    from sdn_shadow.core import SeriesForecastView

    data = service_config()
    data["routing"] = {"upper": 0.8, "lower": 0.6, "hold": 10, "confirm": 1}  # act at once
    core, fabric = reconciled(parse_config(data))
    capacity = 50e6 / 8  # shadow.services.h2.capacity, bytes/s

    def forecast(rx: float, **tx: float) -> None:
        core.capacity.forecasts = {"client:tenant-a:h2:rx": SeriesForecastView(rx, rx, rx)}
        for host, rate in tx.items():  # each client's tx is split over the 3 other hosts
            key = f"client:tenant-a:{host}:tx"
            core.capacity.forecasts[key] = SeriesForecastView(rate, rate, rate)

    forecast(0.7 * capacity, h1=1.5 * capacity, h3=0.3 * capacity)
    apply(fabric, core.preempt(0.0))
    assert core.intents.twin_service == frozenset()
    forecast(0.9 * capacity, h1=1.8 * capacity, h3=0.3 * capacity)
    apply(fabric, core.preempt(10.0))
    assert core.intents.twin_service == {("tenant-a", "h1")}, "the top client, enough to fit"
    assert core.intents.shadow_path == frozenset(), "a service relief moves no path"
    assert where(fabric, "s1", 1, udp(1, 2, sport=20)) == {("s2", 2)}
    assert where(fabric, "s3", 1, udp(3, 2, sport=20)) == {("s2", 1)}
    [event] = [e for e in core.events if e["kind"] == "steer"]
    assert event["service"] == "twin" and "service:tenant-a:h2" in event["reason"]

    forecast(0.2 * capacity, h1=0.3 * capacity, h3=0.3 * capacity)  # load falls
    apply(fabric, core.preempt(20.0))
    assert core.intents.twin_service == {("tenant-a", "h1")}, "hysteresis: not back before the hold"
    apply(fabric, core.preempt(31.0))
    assert core.intents.twin_service == frozenset()
    assert where(fabric, "s1", 1, udp(1, 2, sport=21)) == {("s2", 1)}
    assert where(fabric, "s1", 1, udp(1, 2, sport=20)) == {("s2", 2)}, "established stays"
    assert [e["service"] for e in core.events if e["kind"] == "steer"] == ["twin", "primary"]


def test_clients_steered_by_config_are_left_to_the_config() -> None:
    from sdn_shadow.core import SeriesForecastView

    core = ShadowCore(parse_config(service_config(h1={"service": "twin"})))
    rate = 50e6 / 8
    core.capacity.forecasts = {"client:tenant-a:h2:rx": SeriesForecastView(rate, rate, rate),
                      "client:tenant-a:h1:tx": SeriesForecastView(rate, rate, rate)}
    core.preempt(0.0)
    assert core.intents.twin_service == {("tenant-a", "h1")}
    assert not [e for e in core.events if e["kind"] == "steer"]


def test_a_service_hosts_rx_is_counted_before_tracking_whoever_serves_it(ring) -> None:
    core, _ = ring
    plan = core.plans[2]
    [cookie] = [c for c, owner in plan.demand.items() if owner == ("tenant-a", "h2", "rx")]
    flow = next(f for f in plan.flows.values() if f.cookie == cookie)
    assert flow.subsystem == Subsystem.SERVICE and ("ct_state", (0, 0x20)) in flow.match
    plain = reconciled(parse_config(yaml.safe_load(RING.read_text())))[0].plans[2]
    [cookie] = [c for c, owner in plain.demand.items() if owner == ("tenant-a", "h2", "rx")]
    assert next(f for f in plain.flows.values() if f.cookie == cookie).subsystem \
        == Subsystem.FORWARD


def test_forecasts_from_a_profile_alone_move_nobody() -> None:
    from sdn_shadow.core import SeriesForecastView

    core = ShadowCore(parse_config(service_config()))
    rx, tx = 0.9 * 50e6 / 8, 1.8 * 50e6 / 8  # h1's share of h2: 60% of its capacity
    core.capacity.forecasts = {"client:tenant-a:h2:rx": SeriesForecastView(rx, rx, rx),
                      "client:tenant-a:h1:tx": SeriesForecastView(tx, tx, tx)}
    core.capacity.profile_only = frozenset({"client:tenant-a:h1:tx"})
    assert core.preempt(0.0) == {} and core.intents.twin_service == frozenset()
    core.capacity.profile_only = frozenset()
    core.preempt(1.0)
    assert core.intents.twin_service == {("tenant-a", "h1")}


def test_a_moved_and_steered_client_talks_with_the_twin_over_the_shadow_path_both_ways(
        ring) -> None:
    core, fabric = ring
    apply(fabric, core.set_client_service(1.0, "tenant-a", "h1", "twin", "operator"))
    apply(fabric, core.set_client_path(2.0, "tenant-a", "h1", "shadow", "operator"))
    new = udp(1, 2, sport=1010)
    [there] = [d for d in fabric.send("s1", 1, new) if d.packet["vlan_vid"] == 0]
    assert (there.switch, there.port) == ("s2", 2)
    assert there.packet["trail"] == ("s1", "s4", "s3", "s2"), "round the ring"
    [back] = [d for d in fabric.send("s2", 2, reply(new)) if d.packet["vlan_vid"] == 0]
    assert (back.switch, back.port) == ("s1", 1)
    assert back.packet["trail"] == ("s2", "s3", "s4", "s1"), "the twin answers on it too"
