"""`sdn-shadow analyze`: its JSON schema and times, its table, and its errors."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
from scapy.all import PcapReader

from sdn_shadow.cli import main

PCAPS = Path(__file__).resolve().parents[3] / "shared" / "data" / "pcaps"
ALERT_KEYS = {"kind", "severity", "start", "end", "sources", "evidence"}
CAPTURES = sorted(p for p in PCAPS.glob("*/*") if p.suffix in (".pcap", ".pcapng", ".cap"))


def _json(capsys, *args: str) -> dict:
    assert main(["analyze", *args, "--json", "-"]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("path", CAPTURES, ids=lambda p: p.name)
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


def test_times_are_seconds_since_the_first_packet(capsys) -> None:
    data = _json(capsys, str(PCAPS / "attack" / "ppa3_arppoison.pcapng"), "--interval", "0.5")
    [alert] = data["alerts"]
    assert alert["kind"] == "arp_spoof"
    assert alert["start"] == pytest.approx(4.646, abs=0.001)  # the unasked ARP reply
    assert alert["end"] == pytest.approx(14.393, abs=0.001)  # its last claim
    assert data["interval_seconds"] == 0.5 and data["intervals"] == 29


def test_the_table_and_the_json_file(tmp_path: Path, capsys) -> None:
    out = tmp_path / "alerts.json"
    assert main(["analyze", str(PCAPS / "attack" / "ppa1_portscan.pcap"), "--json", str(out)]) == 0
    table = capsys.readouterr().out
    assert "port_scan  medium" in table and "10.100.25.14" in table and "1 alert" in table
    assert json.loads(out.read_text())["alerts"][0]["evidence"]["ports"] == 29


def test_a_baseline_is_named_in_the_result(capsys) -> None:
    normal = [str(p) for p in (PCAPS / "normal").glob("*.pcapng")]
    args = [str(PCAPS / "attack" / "ppa1_dosattack.pcap")]
    for path in normal:
        args += ["--baseline", path]
    data = _json(capsys, *args)
    assert data["baseline"].startswith(f"{len(normal)} file(s)")
    assert [a["kind"] for a in data["alerts"]] == ["syn_flood"]


@pytest.mark.parametrize(("args", "message"), [
    (["README.md"], "README.md: not a pcap or pcapng capture (it starts with bytes 23"),
    (["missing.pcap"], "missing.pcap: No such file or directory"),
    (["{pcap}", "--interval", "0"], "--interval: must be a positive number of seconds, not 0"),
    (["{pcap}", "--interval", "soon"], "--interval: 'soon' is not a number of seconds"),
    (["{pcap}", "--baseline", "README.md"], "README.md: not a pcap or pcapng capture"),
])
def test_bad_input_is_a_one_line_error(args: list[str], message: str) -> None:
    pcap = str(PCAPS / "attack" / "ppa1_portscan.pcap")
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run(
        [sys.executable, "-m", "sdn_shadow.cli", "analyze", *(a.format(pcap=pcap) for a in args)],
        capture_output=True, text=True, cwd=root, check=False, timeout=60)
    assert result.returncode == 2
    assert result.stderr.startswith("sdn-shadow analyze: ") and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr


def test_a_cut_off_capture_is_analyzed_up_to_the_cut(tmp_path: Path, capsys) -> None:
    cut = tmp_path / "cut.pcapng"
    cut.write_bytes((PCAPS / "attack" / "ppa3_synscan.pcapng").read_bytes()[:60_000])
    data = _json(capsys, str(cut))
    assert data["truncated"] is True and 0 < data["packets"] < 2011
    assert [a["kind"] for a in data["alerts"]] == ["port_scan"]


README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_readme_example_is_what_the_command_prints() -> None:
    section = README.read_text().split("## Traffic analysis", 1)[1]
    block = section.split("```\n", 2)[1]
    command, *expected = block.strip().splitlines()
    assert command.startswith("$ sdn-shadow analyze ")
    result = subprocess.run([sys.executable, "-m", "sdn_shadow.cli", *command.split()[2:]],
                            capture_output=True, text=True, cwd=README.parent, check=True,
                            timeout=60)
    assert result.stdout.splitlines() == expected


def test_the_readme_command_line_runs_with_every_option(tmp_path: Path) -> None:
    line = next(x for x in README.read_text().splitlines() if x.startswith("sdn-shadow analyze"))
    args = line.replace("[", "").replace("]", "").split()[1:]
    args[args.index("alerts.json")] = str(tmp_path / "alerts.json")
    result = subprocess.run([sys.executable, "-m", "sdn_shadow.cli", *args], capture_output=True,
                            text=True, cwd=README.parent, check=True, timeout=60)
    assert "port_scan" in result.stdout
    assert json.loads((tmp_path / "alerts.json").read_text())["baseline"].startswith("1 file(s)")
