"""The watch on real OVS: replayed captures, live alerts, and the response in the primary."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sdn_shadow.analytics.capture_file import Record, read_capture
from tests.datasets import SAMPLES

pytestmark = pytest.mark.integration

#: nmap's SYNs to 40 ports of h2 over 3.9 s, each answered by h2's reset (and one IPv6
#: router solicitation, which replay skips)
SCAN = SAMPLES / "pcaps" / "attack" / "lab_nmap_slowscan.pcap"
#: two users' HTTP requests to h2 for 8 s, and pings (and five IPv6 frames replay skips)
NORMAL = SAMPLES / "pcaps" / "normal" / "lab_http_users.pcap"


def _replayed(path: Path) -> list[Record]:
    """The frames replay sends of a capture: its IPv4 and ARP ones (all Ethernet here)."""
    return [r for r in read_capture(path) if r.data[12:14] in (b"\x08\x00", b"\x08\x06")]


NORMAL_RECORDS = sum(1 for _ in read_capture(NORMAL))
NORMAL_FRAMES = len(_replayed(NORMAL))
#: their lengths on the wire (up to 1,514 bytes; the watch's snap: 256)
NORMAL_BYTES = sum(r.wire_length for r in _replayed(NORMAL))
SCAN_FRAMES = len(_replayed(SCAN))


def _watching(data: dict, mode: str = "off", ttl: float = 6.0, **response) -> dict:
    data["networks"]["tenant-a"]["shadow"]["detect"] = {
        "on": ["h2s"], "learn": 0, "response": {"mode": mode, "ttl": ttl, **response}}
    return data


def _replay(lab, *args: str) -> dict:
    """Run `sdn-shadow replay` against the lab's controller config; its JSON report."""
    proc = subprocess.run([sys.executable, "-m", "sdn_shadow.cli", "replay", *args,
                           "--network", "tenant-a", "--config", str(lab.controller.config_path),
                           "--json", "-"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def _rx(host, interface: str) -> int:
    """Packets `interface` of a Mininet host has received."""
    for line in host.cmd("cat /proc/net/dev").splitlines():
        name, _, counters = line.partition(":")
        if name.strip() == interface:
            return int(counters.split()[1])
    raise AssertionError(f"no {interface} in {host.name}")


def _pings(host, ip: str, within: float = 5.0) -> bool:
    """Whether a ping from `host` to `ip` is answered within `within` s (a loaded machine
    may lose one, or apply a flow change a moment after the controller reports it)."""
    started = time.monotonic()
    while time.monotonic() - started < within:
        if " 1 received" in host.cmd(f"ping -c 1 -W 1 {ip}"):
            return True
    return False


def _cut_off(host, ip: str) -> bool:
    """Whether none of 3 pings from `host` to `ip` is answered."""
    return " 0 received" in host.cmd(f"ping -c 3 -i 0.2 -W 1 {ip}")


def _events(lab, kind: str) -> list[dict]:
    return [e for e in lab.controller.state()["events"] if e["kind"] == kind]


def _alerts(lab, report: dict) -> list[dict]:
    """The alerts once one is raised, waiting up to 5 s from the replay's first frame.

    The watch alerts once 20 ports are seen within 10 s: the scan's 20th port
    comes 1.90 s in (its 40 ports end at 3.91 s), but the watch's 1 s intervals
    start when its first frames came (a ping, an ARP), so the alert is raised
    about 2 s in (2.0-3.3 s): before the replay has ended.
    """
    lab.wait_state(lambda s: any(e["kind"] == "alert" for e in s["events"]),
                   timeout=max(0.0, report["started"] + 5.0 - time.time()))
    return _events(lab, "alert")


def test_a_replay_into_the_shadow_arrives_whole_and_never_reaches_the_primary(
        lab, lab_data) -> None:
    lab.restart(_watching(lab_data))
    primary_before = _rx(lab.host("h2"), "h2-eth0")
    report = _replay(lab, str(NORMAL), "--to", "h2s", "--pps", "2000", "--loop", "2")
    assert report["records"] == NORMAL_RECORDS
    assert report["skipped"] == NORMAL_RECORDS - NORMAL_FRAMES
    assert report["sent"] == 2 * NORMAL_FRAMES and report["errors"] == 0
    assert abs(report["seen"] - report["sent"]) <= 0.01 * report["sent"], report
    # the capture was made on this lab: its busiest destination is h2 already (an identity
    # pin, not listed), and h1 and h3 must become fresh addresses no host uses
    assert report["addresses"].get("10.0.0.2", "10.0.0.2") == "10.0.0.2", "h2 -> h2s"
    for other in ("10.0.0.1", "10.0.0.3"):
        assert report["addresses"][other] not in ("10.0.0.1", "10.0.0.2", "10.0.0.3"), \
            "the other addresses: fresh ones no host of the network uses"
    assert _rx(lab.host("h2"), "h2-eth0") - primary_before < 10, "nothing leaks to h2"
    state = lab.wait_state(lambda s: s["security"]["watching"].get("tenant-a/h2s", {})
                           .get("packets", 0) >= report["sent"], timeout=5)
    assert state is not None, "the watch reads every replayed frame on h2s's port"
    watching = state["security"]["watching"]["tenant-a/h2s"]
    assert watching["bytes"] >= 2 * NORMAL_BYTES, "lengths on the wire, not the snap"
    assert watching["lost"] == 0
    assert _events(lab, "alert") == [], "web browsing raises nothing"


def test_a_replayed_scan_is_an_alert_within_5_s_and_live_mode_blocks_it_for_its_ttl(
        lab, lab_data) -> None:
    lab.restart(_watching(lab_data, "live", ttl=6.0))
    h1, h2, h3 = (lab.host(n) for n in ("h1", "h2", "h3"))
    assert _pings(h3, "10.0.0.2")
    started = time.time()
    report = _replay(lab, str(SCAN), "--from", "h3", "--to", "h2")
    assert report["sent"] == SCAN_FRAMES
    (alert,) = _alerts(lab, report)
    assert (alert["alert_kind"], alert["sources"], alert["at"]) == (
        "port_scan", ["10.0.0.3"], "h2s")
    assert alert["t"] - alert["start"] <= 5.0, "raised within 5 s of the scan's start"
    assert 0 <= alert["t"] - report["started"] <= 5.0, "and of its first frame"
    assert alert["start"] >= started, alert
    (block,) = _events(lab, "response")
    assert block["action"] == "block" and block["source"] == "10.0.0.3"
    assert any("nw_src=10.0.0.3 actions=drop" in f for f in lab.dump_flows("s1"))
    assert _cut_off(h3, "10.0.0.2"), "the attacker's packets stop reaching h2"
    assert _pings(h1, "10.0.0.2"), "everyone else still gets through"
    unblocked = lab.wait_state(lambda s: any(e.get("action") == "unblock"
                                             for e in s["events"]), timeout=10)
    assert unblocked is not None
    assert unblocked["security"]["blocks"] == []
    lifted = next(e["t"] for e in unblocked["events"] if e.get("action") == "unblock")
    assert lifted - block["t"] >= 6.0, "never before its TTL"  # how late depends on the load
    assert not any("nw_src=10.0.0.3" in f for f in lab.dump_flows("s1"))
    assert _pings(h3, "10.0.0.2")


def test_dry_run_logs_the_block_and_leaves_the_attacker_reaching_the_host(lab, lab_data) -> None:
    lab.restart(_watching(lab_data, "dry-run"))
    report = _replay(lab, str(SCAN), "--from", "h3", "--to", "h2")
    assert report["seen"] == report["sent"] == SCAN_FRAMES
    (alert,) = _alerts(lab, report)
    assert alert["alert_kind"] == "port_scan"
    (response,) = _events(lab, "response")
    assert response["action"] == "would-block" and response["source"] == "10.0.0.3"
    assert not any("actions=drop" in f and "nw_src" in f for f in lab.dump_flows("s1"))
    assert _pings(lab.host("h3"), "10.0.0.2")


def test_a_metered_attacker_still_reaches_the_host_but_only_at_the_meters_rate(
        lab, lab_data) -> None:
    from sdn_shadow.lab.traffic import iperf3_udp

    lab.restart(_watching(lab_data, "live", ttl=20.0, action="meter", meter_mbps=1))
    h1, h2, h3 = (lab.host(n) for n in ("h1", "h2", "h3"))
    report = _replay(lab, str(SCAN), "--from", "h3", "--to", "h2")
    assert [a["alert_kind"] for a in _alerts(lab, report)] == ["port_scan"]
    (block,) = _events(lab, "response")
    assert (block["action"], block["how"], block["meter_mbps"]) == ("block", "meter", 1.0)
    meters = subprocess.run(["ovs-ofctl", "-O", "OpenFlow13", "dump-meters", "s1"],
                            capture_output=True, text=True, check=True).stdout
    assert "meter=60000 kbps" in meters and "rate=1000" in meters, meters
    assert any("nw_src=10.0.0.3" in f and "meter:60000" in f for f in lab.dump_flows("s1"))
    metered = iperf3_udp(h3, h2, "10M", seconds=3)
    others = iperf3_udp(h1, h2, "10M", seconds=3)
    assert 0.5e6 < metered["bits_per_second"] < 1.3e6, metered
    assert others["bits_per_second"] > 9e6, others
    assert _pings(h3, "10.0.0.2"), "metered, not cut off"
    unblocked = lab.wait_state(lambda s: any(e.get("action") == "unblock"
                                             for e in s["events"]), timeout=25)
    assert unblocked is not None
    assert "meter=60000" not in subprocess.run(
        ["ovs-ofctl", "-O", "OpenFlow13", "dump-meters", "s1"], capture_output=True,
        text=True, check=True).stdout
    assert iperf3_udp(h3, h2, "10M", seconds=2)["bits_per_second"] > 9e6
