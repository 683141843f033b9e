"""sdn-shadow profile as a process: one-line errors, the documented line as written."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.unit.test_vm_profile_command import ROOT, VM, _capture


@pytest.mark.parametrize(("args", "message"), [
    (["--address", "nope"], "--address: 'nope' is not an IP address"),
    (["--address", "192.0.2.77"], "no IP traffic to or from 192.0.2.77"),
    (["--address", VM, "--level", "1.5"], "--level '1.5': must be between 0 and 1 (exclusive)"),
    (["--address", VM, "--interval", "-1"], "--interval: must be a positive number"),
])
def test_bad_input_is_a_one_line_error(tmp_path: Path, args: list[str], message: str) -> None:
    result = subprocess.run([sys.executable, "-m", "sdn_shadow.cli", "profile",
                             str(_capture(tmp_path)), *args],
                            capture_output=True, text=True, cwd=ROOT, check=False, timeout=60)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.startswith("sdn-shadow profile: ") and message in result.stderr


def test_the_documented_command_line_runs() -> None:
    from tests.docs_commands import command_lines

    line = next(x for x in command_lines((ROOT / "docs" / "analytics.md",))
                if x.command.startswith("sdn-shadow profile "))
    args = [*line.command.split()[1:], "--json", "-"]
    result = subprocess.run([sys.executable, "-m", "sdn_shadow.cli", *args], capture_output=True,
                            text=True, cwd=ROOT, check=True, timeout=60)
    data = json.loads(result.stdout)
    assert data["address"] == args[args.index("--address") + 1]
    assert f", {data['samples']} samples, " in line.output[0]
    assert data["provisioned"]["cpu_cores"] >= data["cpu_cores"]["upper"]

