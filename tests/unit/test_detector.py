"""The anomaly detector on the sample (and corpus) captures and on made-up traffic of each kind."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from scapy.all import ARP, ICMP, IP, TCP, UDP, Ether, IPerror, UDPerror, fuzz, wrpcap
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from sdn_shadow.analytics.analyze import analyze, capture_intervals, detect
from sdn_shadow.analytics.decode import decode
from sdn_shadow.analytics.detector import AnomalyDetector
from sdn_shadow.analytics.features import Interval, IntervalBuilder
from tests.datasets import CORPUS, SAMPLES, capture_params, captures

corpus = pytest.mark.corpus
#: Each tier's attack captures and the kind each must raise (alone).
ATTACKS = {
    SAMPLES: {
        "lab_hping3_synflood.pcap": "syn_flood",  # 1,500 SYNs to port 80 in 1.6 s, all reset
        "lab_nmap_slowscan.pcap": "port_scan",  # 40 ports of one host over 3.9 s
        "lab_arp_spoof.pcap": "arp_spoof",  # h3's MAC claims h1's IP, unasked, three times
        "lab_nmap_synscan.pcap": "port_scan",  # nmap -sS of 1000 ports (866 in the capture)
    },
    CORPUS: {
        "ppa1_dosattack.pcap": "syn_flood",  # 100 SYNs from 100 spoofed sources in 20 ms
        "ppa1_portscan.pcap": "port_scan",  # 29 ports of one host
        "ppa3_arppoison.pcapng": "arp_spoof",  # a MAC claims the gateway's IP, unasked
        "ppa3_synscan.pcapng": "port_scan",  # nmap -sS of 1000 ports
    },
}
# In the corpus' attack/ but benign: one browser opening eight HTTP connections to two
# servers, every handshake answered and completed (Practical Packet Analysis' example of
# ephemeral ports).
BENIGN_IN_ATTACK = {SAMPLES: set(), CORPUS: {"ppa3_tcp_ports.pcapng"}}
ROOTS = [pytest.param(SAMPLES, id="samples"), pytest.param(CORPUS, id="corpus", marks=corpus)]


def _attack(root: Path, name: str) -> Path:
    return root / "pcaps" / "attack" / name


@pytest.mark.parametrize("root", ROOTS)
def test_every_attack_capture_has_an_expected_kind(root: Path) -> None:
    names = {p.name for p in captures(root, "attack")}
    assert names == set(ATTACKS[root]) | BENIGN_IN_ATTACK[root]


@pytest.mark.parametrize(("root", "name", "kind"), [
    pytest.param(root.values[0], name, kind, id=f"{root.id}/{name}", marks=root.marks)
    for root in ROOTS for name, kind in sorted(ATTACKS[root.values[0]].items())])
def test_each_attack_capture_raises_its_kind(root: Path, name: str, kind: str) -> None:
    alerts = analyze(_attack(root, name)).alerts
    assert [a.kind for a in alerts] == [kind]


@corpus
def test_the_benign_capture_in_attack_raises_nothing() -> None:
    for name in BENIGN_IN_ATTACK[CORPUS]:
        assert analyze(_attack(CORPUS, name)).alerts == []


@pytest.mark.parametrize("path", capture_params("normal"))
def test_normal_captures_raise_nothing(path: Path) -> None:
    assert analyze(path).alerts == []
    # Against the other normal captures no attack is found; volume may be: together they
    # are mostly silence (an LLDP capture of 98 quiet seconds), so busy browsing stands out.
    others = [p for p in captures(path.parents[2], "normal") if p != path]
    for alert in analyze(path, baselines=others).alerts:
        assert alert.kind == "volume" and alert.evidence["baseline_pps"] < 1


@pytest.mark.parametrize("root", ROOTS)
def test_attacks_are_still_found_against_a_normal_baseline(root: Path) -> None:
    normal = captures(root, "normal")
    assert len(normal) >= 5
    for name, kind in ATTACKS[root].items():
        found = {a.kind for a in analyze(_attack(root, name), baselines=normal).alerts}
        assert kind in found, name


#: Per tier: the scan (capture, source, ports, target), the ARP spoof (capture, the MAC,
#: the IPs it claims, seconds from the first packet to its first unasked reply, the MAC
#: it took the IP from, if the capture shows it).
OFFENDERS = {
    SAMPLES: (("lab_nmap_synscan.pcap", "10.0.0.3", 866, "10.0.0.2"),
              ("lab_arp_spoof.pcap", "00:00:00:00:0a:03", "10.0.0.1, 10.0.0.3", 0.873,
               "00:00:00:00:0a:01")),
    CORPUS: (("ppa3_synscan.pcapng", "172.16.0.8", 1000, "64.13.134.52"),
             ("ppa3_arppoison.pcapng", "00:25:b3:bf:91:ee", "172.16.0.1, 172.16.0.105",
              4.646, None)),  # an unasked reply; the capture shows no earlier owner
}


@pytest.mark.parametrize("root", ROOTS)
def test_alert_figures_name_the_offender(root: Path) -> None:
    (scan_file, scanner, ports, target), (spoof_file, mac, claimed, at, previous) = (
        OFFENDERS[root])
    scan = analyze(_attack(root, scan_file)).alerts[0]
    assert list(scan.sources) == [scanner] and scan.severity == "high"
    assert scan.evidence["ports"] == ports and scan.evidence["target"] == target
    spoof = analyze(_attack(root, spoof_file))
    alert = spoof.alerts[0]
    assert list(alert.sources) == [mac]
    assert alert.evidence["claimed_ips"] == claimed
    assert alert.evidence.get("previous_mac") == previous
    assert alert.start - spoof.origin == pytest.approx(at, abs=0.001)  # the unasked reply


# ---- hand-made traffic: one interval per list of packets --------------------------------


def _intervals(frames: list, seconds: float = 1.0) -> list[Interval]:
    builder = IntervalBuilder(seconds)
    out = []
    for time, frame in frames:
        data = bytes(frame)
        out += builder.add(decode(time, data, 1, len(data)))
    return out + builder.finish()


def _alerts(frames: list, baseline: list | None = None, **params) -> list:
    detector = AnomalyDetector(**params).fit(_intervals(baseline) if baseline else [])
    return detect(detector, _intervals(frames), gap=2.0)


def _ether(src: str = "10.0.0.1", dst: str = "10.0.0.2") -> Ether:
    return Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02") / IP(src=src, dst=dst)


def test_a_busy_server_is_no_syn_flood_nor_completed_handshakes_but_bare_syns_are() -> None:
    rng = random.Random(1)
    syns = [(i / 200, _ether(f"10.1.{i % 200}.{i % 7 + 1}") / TCP(sport=rng.randrange(1024, 65535),
                                                                  dport=80, flags="S"))
            for i in range(200)]
    data = [(i / 5000, _ether() / TCP(dport=80, flags="A")) for i in range(5000)]
    assert _alerts(sorted(syns + data, key=lambda x: x[0])) == []
    [flood] = _alerts(syns)
    assert flood.kind == "syn_flood" and flood.evidence["distinct_sources"] == 200
    answered = [(t + 0.001, _ether(f.src, f.dst) / TCP(sport=f.sport, dport=80, flags="A"))
                for t, f in ((t, f[IP]) for t, f in syns)]
    assert _alerts(sorted(syns + answered, key=lambda x: x[0])) == []


def test_a_sweep_of_unanswered_hosts_is_a_scan_and_answered_browsing_is_not() -> None:
    sweep = [(i / 100, _ether(dst=f"10.0.1.{i}") / TCP(dport=22, flags="S")) for i in range(60)]
    [alert] = _alerts(sweep)
    assert alert.kind == "port_scan" and alert.evidence["target"] == "60 hosts"
    answers = [(i / 100 + 0.001, _ether(f"10.0.1.{i}", "10.0.0.1") / TCP(sport=22, flags="SA"))
               for i in range(60)]
    acks = [(i / 100 + 0.002, _ether(dst=f"10.0.1.{i}") / TCP(dport=22, flags="A"))
            for i in range(60)]
    assert _alerts(sorted(sweep + answers + acks, key=lambda x: x[0])) == []


def test_a_udp_scan_is_seen_through_port_unreachables() -> None:
    frames = []
    for i in range(30):
        frames.append((i / 50, _ether() / UDP(sport=40000, dport=1000 + i)))
        frames.append((i / 50 + 0.001, _ether("10.0.0.2", "10.0.0.1") / ICMP(type=3, code=3)
                       / IPerror(src="10.0.0.1", dst="10.0.0.2") / UDPerror(dport=1000 + i)))
    [alert] = _alerts(frames)
    assert (alert.kind, alert.evidence["protocol"], alert.evidence["ports"]) == (
        "port_scan", "udp", 30)


def test_reflected_dns_answers_are_amplification_and_a_resolver_client_is_not() -> None:
    attack = [(i / 300, _ether(f"192.0.2.{i % 20 + 1}", "10.0.0.9")
               / UDP(sport=53, dport=33000) / (b"x" * 1400)) for i in range(300)]
    [alert] = _alerts(attack)
    assert alert.kind == "amplification" and alert.evidence["reflectors"] == 20
    assert alert.key == "10.0.0.9" and len(alert.sources) == 20
    client = []
    for i in range(300):
        client.append((i / 300, _ether("10.0.0.9", "192.0.2.1") / UDP(dport=53) / (b"q" * 40)))
        client.append((i / 300 + 0.001, _ether("192.0.2.1", "10.0.0.9") / UDP(sport=53)
                       / (b"a" * 300)))
    assert _alerts(client) == []


def _arp(op: int, mac: str, ip: str, target_ip: str, target_mac: str = "00:00:00:00:00:00"):
    return Ether(src=mac, dst="ff:ff:ff:ff:ff:ff") / ARP(op=op, hwsrc=mac, psrc=ip,
                                                       hwdst=target_mac, pdst=target_ip)


def test_a_gateway_claimed_by_a_second_mac_is_arp_spoofing() -> None:
    gateway, attacker = "02:00:00:00:00:fe", "02:00:00:00:00:66"
    baseline = [(0.0, _arp(1, "02:00:00:00:00:01", "10.0.0.1", "10.0.0.254")),
                (0.001, _arp(2, gateway, "10.0.0.254", "10.0.0.1", "02:00:00:00:00:01"))]
    spoof = [(5.0, _arp(2, attacker, "10.0.0.254", "10.0.0.1", "02:00:00:00:00:01"))]
    [alert] = _alerts(spoof, baseline)
    assert alert.evidence["previous_mac"] == gateway and list(alert.sources) == [attacker]
    assert _alerts(spoof) == []  # nothing known to contradict, one claim only


def test_gratuitous_announcements_and_answered_requests_are_not_spoofing() -> None:
    frames = [(0.0, _arp(2, "02:00:00:00:00:0a", "10.0.0.5", "10.0.0.5")),
              (1.0, _arp(2, "02:00:00:00:00:0a", "10.0.0.6", "10.0.0.6")),
              (2.0, _arp(1, "02:00:00:00:00:01", "10.0.0.1", "10.0.0.5")),
              (2.001, _arp(2, "02:00:00:00:00:0a", "10.0.0.5", "10.0.0.1"))]
    assert _alerts(frames) == []


def _steady(seconds: int, pps: int, start: float = 0.0) -> list:
    return [(start + i / pps, _ether() / UDP(sport=40000, dport=5001) / (b"d" * 200))
            for i in range(seconds * pps)]


def test_volume_is_judged_against_the_baseline_once_there_is_enough_of_it() -> None:
    surge = _steady(2, 2000, start=100.0)
    [alert] = _alerts(surge, baseline=_steady(30, 50))
    assert alert.kind == "volume" and alert.evidence["pps"] == pytest.approx(2000, rel=0.01)
    assert list(alert.sources) == ["10.0.0.1"]
    assert _alerts(surge, baseline=_steady(5, 50)) == []  # 5 intervals: too little baseline
    assert _alerts(_steady(3, 60, start=100.0), baseline=_steady(30, 50)) == []


def test_malformed_input_never_raises(tmp_path: Path) -> None:
    rng = random.Random(3)
    frames = [Ether() / fuzz(IP()) / fuzz(TCP()) for _ in range(200)]
    frames += [Ether(dst="ff:ff:ff:ff:ff:ff") / fuzz(ARP()) for _ in range(100)]
    frames += [Ether() / fuzz(IP()) / fuzz(UDP()) for _ in range(200)]
    rng.shuffle(frames)
    path = tmp_path / "fuzz.pcap"
    wrpcap(str(path), frames)
    analyze(path)
    whole = _attack(SAMPLES, "lab_nmap_synscan.pcap").read_bytes()
    cut = tmp_path / "cut.pcap"
    cut.write_bytes(whole[:50_000] + rng.randbytes(3000))
    result = analyze(cut)
    assert result.capture.truncated and result.capture.packets > 100
    noisy = tmp_path / "noisy.pcap"
    wrpcap(str(noisy), [Ether() / IP() / TCP()])
    noisy.write_bytes(noisy.read_bytes() + b"".join(
        len(b).to_bytes(4, "little") * 2 + b"\x00" * 8 + b
        for b in (rng.randbytes(rng.randrange(1, 80)) for _ in range(500))))
    assert capture_intervals(noisy, 1.0).packets > 1


def test_detector_is_a_scikit_learn_estimator() -> None:
    detector = AnomalyDetector(scan_ports=7)
    assert clone(detector).get_params()["scan_ports"] == 7
    with pytest.raises(NotFittedError):
        detector.stream()
    with pytest.raises(ValueError, match="scan_window must be a positive number"):
        AnomalyDetector(scan_window=0).fit([])
    with pytest.raises(ValueError, match="syn_share must be in"):
        AnomalyDetector(syn_share=1.5).fit([])
