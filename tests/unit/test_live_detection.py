"""Live detection by the caller's clock, the response's decisions, and `shadow.detect` config."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from sdn_shadow.analytics.alerts import Alert
from sdn_shadow.analytics.capture_file import read_capture
from sdn_shadow.analytics.detector import AnomalyDetector
from sdn_shadow.analytics.live import LATE, LiveDetector, decode_frames, run_on_clock
from sdn_shadow.config import ConfigError, parse_config, validate_config
from sdn_shadow.config.model import ResponseSettings
from sdn_shadow.policy.response import Protection, Responder, blockable
from tests.datasets import CORPUS, SAMPLES, captures

corpus = pytest.mark.corpus
SCAN = SAMPLES / "pcaps" / "attack" / "lab_nmap_slowscan.pcap"  # 20th port 1.90 s in
CORPUS_SCAN = CORPUS / "pcaps" / "attack" / "ppa1_portscan.pcap"  # 20th port 1.91 s in
LAB = Path(__file__).resolve().parents[2] / "examples" / "lab.yaml"


def frames(path: Path, start: float) -> list[tuple[float, bytes, int]]:
    """A capture's Ethernet frames, re-timed to begin at `start`."""
    records = [r for r in read_capture(path) if r.linktype == 1]
    first = records[0].time
    return [(start + r.time - first, r.data, r.wire_length) for r in records]


def run_live(path: Path, seconds: float = 1.0, learn: float = 0.0):
    """Feed a capture to a LiveDetector as it would arrive, a clock tick per 0.1 s."""
    live = LiveDetector(AnomalyDetector(), seconds, 1000.0, learn=learn)
    opened, closed = run_on_clock(live, frames(path, 1000.0), 1000.0)
    return live, opened, closed


@pytest.mark.parametrize(("path", "source"), [
    (SCAN, "10.0.0.3"),
    pytest.param(CORPUS_SCAN, "10.100.25.14", marks=corpus, id="corpus/ppa1_portscan"),
], ids=lambda v: v.name if isinstance(v, Path) else None)
def test_a_scan_arriving_live_is_raised_at_the_end_of_its_interval(path: Path,
                                                                    source: str) -> None:
    _, opened, closed = run_live(path)
    assert [(a.kind, a.key) for _, a in opened] == [("port_scan", source)]
    raised, alert = opened[0]
    # the 20th port comes 1.9 s in: raised when that second interval ends, at the next tick
    assert 2.0 <= raised - alert.start <= 2 * 1.0 + LATE + 0.1, "the interval where it crossed 20"
    assert [a.kind for a in closed] == ["port_scan"]


@pytest.mark.parametrize("path", [
    *captures(SAMPLES, "normal"),
    *(pytest.param(CORPUS / "pcaps" / "normal" / name, marks=corpus, id=f"corpus/{name}")
      for name in ("ppa3_http_espn.pcapng", "ppa3_http_google.pcapng", "ppa1_http.cap",
                   "ppa3_tcp_handshake.pcapng")),
], ids=lambda p: p.name)
def test_normal_traffic_arriving_live_raises_nothing(path: Path) -> None:
    live, opened, _ = run_live(path)
    assert opened == [] and live.packets > 0


@pytest.mark.parametrize("path", [SCAN, pytest.param(CORPUS_SCAN, marks=corpus,
                                                     id="corpus/ppa1_portscan")],
                         ids=lambda p: p.name)
def test_learning_takes_quiet_intervals_only_then_refits_the_volume_baseline(path: Path) -> None:
    live = LiveDetector(AnomalyDetector(min_baseline=3), 1.0, 0.0, learn=5.0)
    assert live.learning and live.detector.n_intervals_ == 0
    scan = frames(path, 0.1)
    live.take(decode_frames(scan))
    live.advance(5.3)
    assert live.learning
    live.advance(6.4)
    assert not live.learning
    assert 0 < live.detector.n_intervals_ < 5, "intervals with the scan's findings left out"


def _alert(kind: str, sources: dict[str, int]) -> Alert:
    return Alert(kind, "*", "high", 0.0, 1.0, sources=Counter(sources))


@pytest.fixture
def tenant():
    return next(n for n in parse_config(yaml.safe_load(LAB.read_text())).networks
                if n.name == "tenant-a")


def test_protection_by_name_covers_the_host_and_its_twin_by_ip_and_mac(tenant) -> None:
    guard = Protection(tenant, ResponseSettings(protected=("h2s", "10.0.0.128/25",
                                                           "02:00:00:00:00:AA")))
    assert guard.covers("10.0.0.2") and guard.covers("00:00:00:00:0a:02")
    assert guard.covers("10.0.0.200") and guard.covers("02:00:00:00:00:aa")
    assert not guard.covers("10.0.0.1") and not guard.covers("00:00:00:00:0a:01")


@pytest.mark.parametrize(("source", "ok"), [
    ("10.0.0.3", True), ("00:00:00:00:0a:03", True), ("255.255.255.255", False),
    ("224.0.0.251", False), ("0.0.0.0", False), ("127.0.0.1", False),
    ("01:00:5e:00:00:fb", False), ("00:00:00:00:00:00", False), ("*", False),
    ("fe80::1", False), ("zz:zz:zz:zz:zz:zz", False)])
def test_only_one_unicast_address_can_be_blocked(source: str, ok: bool) -> None:
    assert blockable(source) is ok


def test_live_blocks_top_sources_until_the_ttl_and_dry_run_only_says_so(tenant) -> None:
    flood = _alert("syn_flood", {f"10.0.0.{i}": 100 - i for i in range(1, 30)})
    live = ResponseSettings(mode="live", ttl=10, protected=("h1",), max_sources=3)
    responder = Responder()
    events, changed = responder.respond(5.0, tenant, live, 7, flood)
    assert changed
    assert [(e["action"], e["source"]) for e in events] == [
        ("spared", "10.0.0.1"), ("block", "10.0.0.2"), ("block", "10.0.0.3")]
    assert set(responder.blocked()) == {("tenant-a", "10.0.0.2"), ("tenant-a", "10.0.0.3")}
    again, changed = responder.respond(8.0, tenant, live, 8, flood)
    assert not changed and "still blocking" in again[1]["reason"]
    assert responder.blocks[("tenant-a", "10.0.0.2")].until == 18.0
    assert responder.expire(17.9) == ([], False)
    lifted, changed = responder.expire(18.0)
    assert changed and {e["source"] for e in lifted} == {"10.0.0.2", "10.0.0.3"}

    dry = ResponseSettings(mode="dry-run", ttl=10)
    events, changed = Responder().respond(5.0, tenant, dry, 1, flood)
    assert not changed and {e["action"] for e in events} == {"would-block"}
    assert Responder().respond(5.0, tenant, ResponseSettings(mode="live"), 1,
                               _alert("volume", {"10.0.0.9": 1})) == ([], False)


def test_metered_sources_hold_the_lowest_free_slot_and_fall_back_to_drop(
        tenant, monkeypatch) -> None:
    from sdn_shadow.policy import response

    scan = _alert("port_scan", {"10.0.0.2": 9, "10.0.0.3": 5})
    meter = ResponseSettings(mode="live", ttl=10, action="meter", meter_mbps=2.5)
    responder = Responder()
    events, changed = responder.respond(5.0, tenant, meter, 1, scan)
    assert changed and [(e["how"], e["meter_mbps"]) for e in events] == [("meter", 2.5)] * 2
    assert events[0]["reason"] == "metered 10.0.0.2 to 2.5 Mbit/s in tenant-a for 10 s " \
                                  "(port_scan)"
    blocks = responder.blocked()
    assert [(b.slot, b.meter_kbps) for b in blocks.values()] == [(0, 2500), (1, 2500)]
    assert blocks[("tenant-a", "10.0.0.3")].to_dict()["action"] == "meter"
    again, _ = responder.respond(7.0, tenant, meter, 2, scan)
    assert again[0]["reason"].startswith("still metering 10.0.0.2")
    assert responder.blocked()[("tenant-a", "10.0.0.2")].slot == 0, "kept, not re-slotted"
    responder.lift(8.0, "tenant-a", "10.0.0.2", "operator")
    events, _ = responder.respond(9.0, tenant, meter, 3, _alert("port_scan", {"10.0.0.9": 1}))
    assert responder.blocked()[("tenant-a", "10.0.0.9")].slot == 0, "the freed slot"

    monkeypatch.setattr(response, "METER_SLOTS", 2)
    events, _ = responder.respond(9.5, tenant, meter, 4, _alert("port_scan", {"10.0.0.8": 1}))
    assert events[0]["how"] == "drop" and "no meter left" in events[0]["reason"]
    dry, _ = Responder().respond(5.0, tenant, replace(meter, mode="dry-run"), 1, scan)
    assert dry[0]["reason"].startswith("dry-run: would meter 10.0.0.2 to 2.5 Mbit/s")


def _problems(detect: object) -> list[str]:
    data = yaml.safe_load(LAB.read_text())
    data["networks"]["tenant-a"]["shadow"]["detect"] = detect
    try:
        validate_config(data)  # the loading layer: baseline captures are opened and checked
    except ConfigError as err:
        return err.lines()
    return []


D = "networks.tenant-a.shadow.detect"


@pytest.mark.parametrize(("detect", "expected"), [
    ({"on": ["h9s"]}, f"{D}.on[0]: must be a shadow host of this network (have: h1s, h2s)"),
    ({"on": []}, f"{D}.on: must not be empty"),
    ({"interval": 0}, f"{D}.interval: must be > 0"),
    ({"learn": -1}, f"{D}.learn: must be >= 0"),
    ({"bogus": 1}, f"{D}.bogus: unknown key (expected one of: baseline, interval, learn, on, "
                   "response, thresholds)"),
    ({"baseline": [str(LAB)]}, f"{D}.baseline[0]: {LAB}: not a pcap or pcapng capture"),
    ({"baseline": ["/nonexistent.pcap"]}, f"{D}.baseline[0]: /nonexistent.pcap: No such file"),
    ({"thresholds": {"scan_ports": 0}}, f"{D}.thresholds.scan_ports: must be a whole number "
                                        ">= 1, not 0"),
    ({"thresholds": {"scan_port": 3}}, f"{D}.thresholds.scan_port: unknown key"),
    ({"response": {"mode": "block"}}, f"{D}.response.mode: must be one of off, dry-run, live"),
    ({"response": {"ttl": 0}}, f"{D}.response.ttl: must be > 0"),
    ({"response": {"kinds": ["ddos"]}}, f"{D}.response.kinds[0]: must be one of port_scan"),
    ({"response": {"protected": ["h7"]}}, f"{D}.response.protected[0]: must be a host of "
                                          "this network"),
    ({"response": {"max_sources": 0}}, f"{D}.response.max_sources: must be in 1..10000"),
    ({"response": {"action": "shape"}}, f"{D}.response.action: must be one of drop, meter"),
    ({"response": {"meter_mbps": 0}}, f"{D}.response.meter_mbps: must be > 0"),
    ({"response": {"meter_mbps": 0.0001}}, f"{D}.response.meter_mbps: must be at least 0.001"),
])
def test_bad_detect_settings_are_reported_with_their_key_path(detect, expected) -> None:
    assert any(line.startswith(expected) for line in _problems(detect)), _problems(detect)


def test_bare_yaml_off_turns_the_response_off_and_defaults_hold() -> None:
    data = yaml.safe_load(LAB.read_text().replace(
        "      mirror:                       # which primary",
        "      detect: {response: {mode: off, protected: [h1]}}\n"
        "      mirror:                       # which primary"))
    detect = parse_config(data).networks[0].shadow.detect
    assert detect.response.mode == "off" and detect.response.protected == ("h1",)
    assert (detect.interval, detect.learn, detect.on) == (1.0, 60.0, ())
