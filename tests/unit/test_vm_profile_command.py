"""`sdn-shadow profile`: the load a capture puts on an address, and the VM size it implies."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from scapy.all import IP, TCP, UDP, Ether, wrpcap

from sdn_shadow.analytics.vm_load import load_samples
from sdn_shadow.cli import main
from sdn_shadow.usage import UsageError
from tests.datasets import SAMPLES

ROOT = Path(__file__).resolve().parents[2]
VM, CLIENT = "10.0.0.9", "10.0.0.1"


def _capture(tmp_path: Path, scale: int = 1) -> Path:
    frames = []
    for second in range(3):
        for i in range(10 * scale * (second + 1)):
            t = second + i / (100 * scale)
            syn = Ether() / IP(src=CLIENT, dst=VM) / TCP(sport=1000 + i, dport=80, flags="S")
            answer = Ether() / IP(src=VM, dst=CLIENT) / TCP(sport=80, dport=1000 + i, flags="SA")
            for offset, frame in ((0.0, syn), (0.001, answer)):
                frame.time = 1_000_000 + t + offset
                frames.append(frame)
        dns = Ether() / IP(src=CLIENT, dst=VM) / UDP(sport=5353 + second, dport=53)
        dns.time = 1_000_000 + second + 0.5
        other = Ether() / IP(src=CLIENT, dst="10.0.0.2") / UDP()
        other.time = 1_000_000 + second + 0.6
        frames += [dns, other]
    path = tmp_path / f"vm-{scale}.pcap"
    wrpcap(str(path), sorted(frames, key=lambda f: f.time))
    return path


def test_samples_count_what_reaches_and_leaves_the_address(tmp_path: Path) -> None:
    samples = load_samples(_capture(tmp_path), VM, 1.0)
    assert [s.new_connections for s in samples] == [11, 21, 31]  # SYNs + one new UDP flow
    assert [s.active_connections for s in samples] == [11, 21, 31]
    assert [s.packets for s in samples] == [21, 41, 61]
    syn_bits = len(Ether() / IP() / TCP()) * 8
    assert samples[0].bits_in == 10 * syn_bits + len(Ether() / IP() / UDP()) * 8
    assert samples[0].bits_out == 10 * syn_bits


def test_more_traffic_never_sizes_a_smaller_vm(tmp_path: Path, capsys) -> None:
    sizes = []
    for scale in (1, 2, 4):
        assert main(["profile", str(_capture(tmp_path, scale)), "--address", VM,
                     "--json", "-"]) == 0
        sizes.append(json.loads(capsys.readouterr().out))
    for name in ("cpu_cores", "memory_gb", "bandwidth_mbps", "storage_gb"):
        provisioned = [s["provisioned"][name] for s in sizes]
        uppers = [s[name]["upper"] for s in sizes]
        assert provisioned == sorted(provisioned) and uppers == sorted(uppers), name
    assert sizes[0]["method"] == "quantile" and sizes[0]["samples"] == 3
    assert sizes[0]["cpu_cores"]["lower"] <= sizes[0]["cpu_cores"]["value"] \
        <= sizes[0]["cpu_cores"]["upper"]


def test_the_table_names_every_resource(tmp_path: Path, capsys) -> None:
    assert main(["profile", str(_capture(tmp_path)), "--address", VM]) == 0
    table = capsys.readouterr().out
    for name in ("cpu_cores", "memory_gb", "bandwidth_mbps", "storage_gb", "latency_ms",
                 "connection_rate", "PROVISION", "empirical quantiles"):
        assert name in table




def test_load_samples_refuses_a_bad_address() -> None:
    with pytest.raises(UsageError):
        load_samples(SAMPLES / "pcaps" / "normal" / "lab_http_users.pcap", "not-an-ip", 1.0)


