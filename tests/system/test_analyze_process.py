"""sdn-shadow analyze as a process: one-line errors, the documented lines as written."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.unit.test_analyze_command import ATTACK

PAGE = Path(__file__).resolve().parents[2] / "docs" / "analytics.md"


def _documented_analyze_lines() -> list:
    from tests.docs_commands import command_lines

    return [x for x in command_lines((PAGE,)) if x.command.startswith("sdn-shadow analyze ")]


@pytest.mark.parametrize(("args", "message"), [
    (["README.md"], "README.md: not a pcap or pcapng capture (it starts with bytes 23"),
    (["missing.pcap"], "missing.pcap: No such file or directory"),
    (["{pcap}", "--interval", "0"], "--interval: must be a positive number of seconds, not 0"),
    (["{pcap}", "--interval", "soon"], "--interval: 'soon' is not a number of seconds"),
    (["{pcap}", "--baseline", "README.md"], "README.md: not a pcap or pcapng capture"),
])
def test_bad_input_is_a_one_line_error(args: list[str], message: str) -> None:
    pcap = str(ATTACK / "lab_nmap_slowscan.pcap")
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run(
        [sys.executable, "-m", "sdn_shadow.cli", "analyze", *(a.format(pcap=pcap) for a in args)],
        capture_output=True, text=True, cwd=root, check=False, timeout=60)
    assert result.returncode == 2
    assert result.stderr.startswith("sdn-shadow analyze: ") and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr


def test_the_documented_example_is_what_the_command_prints() -> None:
    line = _documented_analyze_lines()[0]
    result = subprocess.run([sys.executable, "-m", "sdn_shadow.cli", *line.command.split()[1:]],
                            capture_output=True, text=True, cwd=PAGE.parents[1], check=True,
                            timeout=60)
    assert [x.rstrip() for x in result.stdout.splitlines()] == list(line.output)


def test_the_documented_command_line_runs_with_every_option(tmp_path: Path) -> None:
    line = next(x.command for x in _documented_analyze_lines()
                if all(f" {o} " in x.command for o in ("--baseline", "--interval", "--json")))
    args = line.split()[1:]
    args[args.index("alerts.json")] = str(tmp_path / "alerts.json")
    result = subprocess.run([sys.executable, "-m", "sdn_shadow.cli", *args], capture_output=True,
                            text=True, cwd=PAGE.parents[1], check=True, timeout=60)
    data = json.loads((tmp_path / "alerts.json").read_text())
    assert data["alerts"] and all(a["kind"] in result.stdout for a in data["alerts"])
    assert data["baseline"].startswith("1 file(s)")

