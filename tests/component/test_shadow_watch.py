"""The shadows' watch through the core: copies in, alerts out, blocks in the fake ring."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
import yaml
from scapy.layers.inet import IP, TCP
from scapy.layers.l2 import Ether

from sdn_shadow.analytics.live import decode_frames
from sdn_shadow.config import parse_config
from sdn_shadow.openflow.compiler import SECURITY_METERS
from sdn_shadow.openflow.pipeline import Subsystem
from tests.component.test_rest_api import Api
from tests.component.test_twin_takeover import delivered
from tests.datasets import SAMPLES
from tests.fakes.ring import apply, mac, reconciled, udp

RING = Path(__file__).resolve().parents[2] / "examples" / "ring.yaml"
WATCHED = ("tenant-a", "h3s")
COPY = ("s3", 2)  # h3s's port: it gets a copy of everything h1 sends and receives


def ring_with_watch(mode: str = "live", ttl: float = 30.0, response: dict | None = None,
                    **detect) -> dict:
    """The ring example watching h3s (which gets h1's copies), responding in `mode`."""
    data = yaml.safe_load(RING.read_text())
    data["networks"]["tenant-a"]["shadow"]["detect"] = {
        "interval": 1, "learn": 0, **detect,
        "response": {"mode": mode, "ttl": ttl, "protected": ["h4"], **(response or {})}}
    return data


def scan(src: int, dst: int, ports: range, start: float, gap: float = 0.01) -> list:
    """SYNs from h<src> to one port after another of h<dst>, as copies h3s would receive."""
    frames = []
    for i, port in enumerate(ports):
        frame = bytes(Ether(src=mac(src), dst=mac(dst)) / IP(src=f"10.0.0.{src}",
                      dst=f"10.0.0.{dst}") / TCP(sport=40000, dport=port, flags="S"))
        frames.append((start + i * gap, frame, len(frame)))
    return frames


def drops(core) -> list:
    """The security drop flows of every switch's plan."""
    return [f for plan in core.plans.values() for f in plan.flows.values()
            if f.subsystem == Subsystem.SECURITY]


@pytest.fixture
def watched():
    core, fabric = reconciled(parse_config(ring_with_watch()))
    core.tick(100.0)  # the watch starts its intervals here
    return core, fabric


def test_a_port_scan_in_the_copies_is_an_alert_within_an_interval(watched) -> None:
    core, _ = watched
    core.mirrored(100.2, WATCHED, decode_frames(scan(1, 2, range(1, 41), 100.2)))
    core.tick(100.9)
    assert not [e for e in core.events if e["kind"] == "alert"], "the interval is not over"
    core.tick(101.3)
    alerts = [e for e in core.events if e["kind"] == "alert"]
    assert [(e["alert_kind"], e["sources"], e["at"]) for e in alerts] == [
        ("port_scan", ["10.0.0.1"], "h3s")]
    (alert,) = core.watch.alerts
    assert alert.to_dict()["evidence"]["ports"] == 40
    assert 0 < alert.raised - alert.alert.start <= 1.0 + 0.25 + 0.1


def test_live_response_blocks_the_source_at_the_primary_edge_until_its_ttl(watched) -> None:
    core, fabric = watched
    assert delivered(fabric, "s1", 1, udp(1, 2)) == {("s2", 1), COPY}
    to_h1 = delivered(fabric, "s2", 1, udp(2, 1))
    core.mirrored(100.2, WATCHED, decode_frames(scan(1, 2, range(1, 41), 100.2)))
    updates = core.tick(101.3)
    apply(fabric, updates)
    assert [e["action"] for e in core.events if e["kind"] == "response"] == ["block"]
    assert delivered(fabric, "s1", 1, udp(1, 2)) == set(), "h1's packets stop at its port"
    assert delivered(fabric, "s2", 1, udp(2, 1)) == to_h1, "h1 still receives"
    assert delivered(fabric, "s4", 1, udp(4, 2)) == {("s2", 1)}, "others are not blocked"
    assert len(drops(core)) == 4, "one drop per primary host port of the network"
    assert core.status()["security"]["blocks"][0]["until"] == pytest.approx(131.3)
    # reconnecting changes nothing: the drops are desired state like any other flow
    for dpid, switch in fabric.switches.items():
        assert len(core.reconcile(120.0, dpid, switch.installed_flows(), list(switch.groups),
                                  switch.installed_meters())) == 1

    assert core.tick(131.2) == {}, "not before the TTL"
    apply(fabric, core.tick(131.4))
    assert core.events[-1]["action"] == "unblock"
    assert drops(core) == []
    assert delivered(fabric, "s1", 1, udp(1, 2)) == {("s2", 1), COPY}


def test_a_metered_source_still_gets_through_its_meter_until_the_ttl() -> None:
    metered = ring_with_watch(response={"action": "meter", "meter_mbps": 2})
    core, fabric = reconciled(parse_config(metered))
    core.tick(100.0)
    core.mirrored(100.2, WATCHED, decode_frames(scan(1, 2, range(1, 41), 100.2)))
    apply(fabric, core.tick(101.3))
    (event,) = [e for e in core.events if e["kind"] == "response"]
    assert (event["how"], event["meter_mbps"]) == ("meter", 2.0)
    meter_id = SECURITY_METERS + 0
    assert fabric.switches[1].meters[meter_id].bands[0].rate == 2000
    out = fabric.send("s1", 1, udp(1, 2))
    assert {(d.switch, d.port) for d in out if d.packet["vlan_vid"] == 0} == {("s2", 1), COPY}
    assert all(meter_id in d.packet.get("meters", ()) for d in out), "through the meter"
    others = fabric.send("s4", 1, udp(4, 2))
    assert others and not [d for d in others if meter_id in d.packet.get("meters", ())]
    spoofed = {**udp(1, 2), "eth_src": mac(9)}
    assert fabric.send("s1", 1, spoofed) == [], "another MAC at the port still drops"
    assert len(drops(core)) == 4, "one per primary host port (the address may be spoofed)"
    for dpid, switch in fabric.switches.items():
        assert len(core.reconcile(120.0, dpid, switch.installed_flows(), list(switch.groups),
                                  switch.installed_meters())) == 1
    apply(fabric, core.tick(131.4))
    assert drops(core) == [] and meter_id not in fabric.switches[1].meters


def test_dry_run_logs_the_block_and_changes_nothing() -> None:
    core, fabric = reconciled(parse_config(ring_with_watch("dry-run")))
    core.tick(100.0)
    core.mirrored(100.2, WATCHED, decode_frames(scan(1, 2, range(1, 41), 100.2)))
    assert core.tick(101.3) == {}
    (response,) = [e for e in core.events if e["kind"] == "response"]
    assert response["action"] == "would-block"
    assert "dry-run: would block 10.0.0.1 in tenant-a for 30 s" in response["reason"]
    assert drops(core) == [] and delivered(fabric, "s1", 1, udp(1, 2)) == {("s2", 1), COPY}


def test_a_protected_host_is_never_blocked(watched) -> None:
    core, fabric = watched
    core.mirrored(100.2, WATCHED, decode_frames(scan(4, 1, range(1, 41), 100.2)))
    assert core.tick(101.3) == {}
    (response,) = [e for e in core.events if e["kind"] == "response"]
    assert response["action"] == "spared" and "protected" in response["reason"]
    assert drops(core) == []


def test_malformed_copies_are_counted_and_never_raise(watched) -> None:
    core, _ = watched
    rng = random.Random(7)
    junk = [(100.0 + i / 1000, rng.randbytes(rng.randrange(0, 80)), 80) for i in range(500)]
    good = scan(1, 2, range(1, 3), 100.6)
    cut = [(t, frame[:30], n) for t, frame, n in scan(1, 2, range(5, 8), 100.7)]
    core.mirrored(100.5, WATCHED, decode_frames(junk + good + cut))
    core.tick(102.0)
    watching = core.status()["security"]["watching"]["tenant-a/h3s"]
    assert watching["malformed"] + watching["packets"] == 505
    assert watching["malformed"] >= 50, "frames under 14 bytes at least"
    assert not [e for e in core.events if e["kind"] == "alert"]


def test_frames_the_reader_lost_are_counted_apart(watched) -> None:
    core, _ = watched
    core.mirrored(100.2, WATCHED, decode_frames(scan(1, 2, range(1, 4), 100.2), lost=120))
    core.mirrored(100.4, WATCHED, decode_frames([], lost=5))
    watching = core.status()["security"]["watching"]["tenant-a/h3s"]
    assert (watching["packets"], watching["lost"]) == (3, 125)
    (event,) = [e for e in core.events if e["kind"] == "watch_lost"]
    assert (event["at"], event["lost"], event["read"]) == ("h3s", 120, 3)
    assert "the watch on h3s fell behind: 120 frames lost" in event["reason"]
    core.mirrored(130.0, WATCHED, decode_frames([], lost=1))
    assert len([e for e in core.events if e["kind"] == "watch_lost"]) == 1, "once a minute"
    core.mirrored(160.3, WATCHED, decode_frames([], lost=1))
    assert [e["lost"] for e in core.events if e["kind"] == "watch_lost"] == [120, 127]


def test_an_alert_closes_once_quiet_and_a_new_attack_opens_another(watched) -> None:
    core, _ = watched
    core.mirrored(100.2, WATCHED, decode_frames(scan(1, 2, range(1, 41), 100.2)))
    core.tick(101.3)
    core.tick(104.5)
    assert [e["kind"] for e in core.events if e["kind"].startswith("alert")] == [
        "alert", "alert_closed"]
    assert core.watch.alerts[0].closed == 104.5
    core.mirrored(110.1, WATCHED, decode_frames(scan(1, 2, range(100, 140), 110.1)))
    core.tick(111.3)
    assert [a.id for a in core.watch.alerts] == [1, 2]


def test_reload_without_detection_lifts_the_blocks(watched) -> None:
    core, fabric = watched
    core.mirrored(100.2, WATCHED, decode_frames(scan(1, 2, range(1, 41), 100.2)))
    apply(fabric, core.tick(101.3))
    assert drops(core)
    apply(fabric, core.reload(102.0, parse_config(yaml.safe_load(RING.read_text()))))
    assert drops(core) == [] and core.watch.ports() == {}
    assert delivered(fabric, "s1", 1, udp(1, 2)) == {("s2", 1), COPY}


def test_the_api_lists_alerts_and_blocks_and_lifts_a_block() -> None:
    api = Api(ring_with_watch())
    core = api.core
    core.tick(100.0)
    core.mirrored(100.2, WATCHED, decode_frames(scan(1, 2, range(1, 41), 100.2)))
    apply(api.fabric, core.tick(101.3))
    alerts = api.get("/alerts").json()
    assert [(a["id"], a["kind"], a["state"], a["sources"]) for a in alerts] == [
        (1, "port_scan", "open", ["10.0.0.1"])]
    assert api.get("/alerts?state=closed").json() == []
    assert api.get("/alerts/1").json()["at"] == "h3s"
    assert api.get("/alerts/9").status_code == 404
    assert api.get("/alerts?network=nope").status_code == 404
    assert api.get("/alerts?state=bogus").status_code == 422
    blocks = api.get("/blocks").json()
    assert [(b["network"], b["source"], b["action"], b["meter_mbps"]) for b in blocks] == [
        ("tenant-a", "10.0.0.1", "drop", None)]
    assert delivered(api.fabric, "s1", 1, udp(1, 2)) == set()

    assert api.http.delete("/api/v1/blocks/tenant-a/10.0.0.1",
                           headers=api._auth("viewer")).status_code == 403
    lifted = api.http.delete("/api/v1/blocks/tenant-a/10.0.0.1", headers=api._auth("operator"))
    assert lifted.status_code == 200, lifted.text
    assert api.get("/blocks").json() == []
    assert delivered(api.fabric, "s1", 1, udp(1, 2)) == {("s2", 1), COPY}
    again = api.http.delete("/api/v1/blocks/tenant-a/10.0.0.1", headers=api._auth("operator"))
    assert again.status_code == 404 and "not blocked" in again.text


def test_baseline_files_are_read_once_and_again_only_when_their_settings_change() -> None:
    normal = str(SAMPLES / "pcaps" / "normal" / "lab_http_users.pcap")
    core, _ = reconciled(parse_config(ring_with_watch(baseline=[normal])))
    assert core.watch.baselines_to_read() == {"tenant-a": ((normal,), 1.0)}
    core.watch.set_baseline("tenant-a", ((normal,), 1.0), [])
    core.tick(100.0)
    started = core.watch.detectors[WATCHED]
    assert core.watch.baselines_to_read() == {}
    core.reload(101.0, parse_config(ring_with_watch(baseline=[normal])))
    assert core.watch.baselines_to_read() == {}, "an unchanged reload reads nothing"
    assert core.watch.detectors[WATCHED] is started, "and keeps the detector running"
    core.reload(102.0, parse_config(ring_with_watch(baseline=[normal], interval=0.5)))
    assert core.watch.baselines_to_read() == {"tenant-a": ((normal,), 0.5)}
