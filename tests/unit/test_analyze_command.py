"""`sdn-shadow analyze`: its JSON schema and times, its table, and its errors."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from scapy.all import PcapReader

from sdn_shadow.cli import main
from tests.datasets import CORPUS, SAMPLES, capture_params, captures

ALERT_KEYS = {"kind", "severity", "start", "end", "sources", "evidence"}
ATTACK, CORPUS_ATTACK = SAMPLES / "pcaps" / "attack", CORPUS / "pcaps" / "attack"
corpus = pytest.mark.corpus


def _json(capsys, *args: str) -> dict:
    assert main(["analyze", *args, "--json", "-"]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("path", capture_params())
def test_json_schema_and_times(capsys, path: Path) -> None:
    data = _json(capsys, str(path))
    times = [float(p.time) for p in PcapReader(str(path))]
    duration = max(times) - times[0]
    assert data["packets"] == len(times) and data["malformed"] == 0
    assert data["duration"] == pytest.approx(duration, abs=1e-5)
    assert data["intervals"] == max(1, math.floor(duration) + 1)
    for alert in data["alerts"]:
        assert set(alert) == ALERT_KEYS
        assert alert["kind"] in {"port_scan", "syn_flood", "amplification", "arp_spoof", "volume"}
        assert alert["severity"] in {"low", "medium", "high"}
        assert 0 <= alert["start"] <= alert["end"] <= data["intervals"]
        assert alert["sources"] and all(isinstance(s, str) for s in alert["sources"])
        assert all(isinstance(v, int | float | str) for v in alert["evidence"].values())


@pytest.mark.parametrize(("path", "start", "end", "intervals"), [
    # the first of three unasked ARP replies 0.873 s in, the last 1.275 s in (the end)
    (ATTACK / "lab_arp_spoof.pcap", 0.873, 1.275, 3),
    pytest.param(CORPUS_ATTACK / "ppa3_arppoison.pcapng", 4.646, 14.393, 29, marks=corpus,
                 id="corpus/ppa3_arppoison"),
], ids=lambda v: v.name if isinstance(v, Path) else None)
def test_times_are_seconds_since_the_first_packet(capsys, path: Path, start: float, end: float,
                                                  intervals: int) -> None:
    data = _json(capsys, str(path), "--interval", "0.5")
    [alert] = data["alerts"]
    assert alert["kind"] == "arp_spoof"
    assert alert["start"] == pytest.approx(start, abs=0.001)  # the unasked ARP reply
    assert alert["end"] == pytest.approx(end, abs=0.001)  # its last claim
    assert data["interval_seconds"] == 0.5 and data["intervals"] == intervals


@pytest.mark.parametrize(("path", "source", "ports"), [
    (ATTACK / "lab_nmap_slowscan.pcap", "10.0.0.3", 40),
    pytest.param(CORPUS_ATTACK / "ppa1_portscan.pcap", "10.100.25.14", 29, marks=corpus,
                 id="corpus/ppa1_portscan"),
], ids=lambda v: v.name if isinstance(v, Path) else None)
def test_the_table_and_the_json_file(tmp_path: Path, capsys, path: Path, source: str,
                                     ports: int) -> None:
    out = tmp_path / "alerts.json"
    assert main(["analyze", str(path), "--json", str(out)]) == 0
    table = capsys.readouterr().out
    assert "port_scan  medium" in table and source in table and "1 alert" in table
    assert json.loads(out.read_text())["alerts"][0]["evidence"]["ports"] == ports


@pytest.mark.parametrize(("path", "kinds"), [
    (ATTACK / "lab_nmap_slowscan.pcap", ["port_scan"]),  # 81 packets in 3.9 s: no volume
    pytest.param(CORPUS_ATTACK / "ppa1_dosattack.pcap", ["syn_flood"], marks=corpus,
                 id="corpus/ppa1_dosattack"),
], ids=lambda v: v.name if isinstance(v, Path) else None)
def test_a_baseline_is_named_in_the_result(capsys, path: Path, kinds: list[str]) -> None:
    normal = [str(p) for p in captures(path.parents[2], "normal")]  # root/pcaps/attack/x
    assert len(normal) >= 5
    args = [str(path)]
    for baseline in normal:
        args += ["--baseline", baseline]
    data = _json(capsys, *args)
    assert data["baseline"].startswith(f"{len(normal)} file(s)")
    assert [a["kind"] for a in data["alerts"]] == kinds




@pytest.mark.parametrize(("path", "packets"), [
    (ATTACK / "lab_nmap_synscan.pcap", 1737),  # 60,000 bytes: the first 832 packets
    pytest.param(CORPUS_ATTACK / "ppa3_synscan.pcapng", 2011, marks=corpus,
                 id="corpus/ppa3_synscan"),
], ids=lambda v: v.name if isinstance(v, Path) else None)
def test_a_cut_off_capture_is_analyzed_up_to_the_cut(tmp_path: Path, capsys, path: Path,
                                                     packets: int) -> None:
    cut = tmp_path / f"cut{path.suffix}"
    cut.write_bytes(path.read_bytes()[:60_000])
    data = _json(capsys, str(cut))
    assert data["truncated"] is True and 0 < data["packets"] < packets
    assert [a["kind"] for a in data["alerts"]] == ["port_scan"]
