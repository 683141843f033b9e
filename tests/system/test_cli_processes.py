"""The sdn-shadow command as a process: run refusing a bad config, the console script."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from tests.unit.test_cli import EXAMPLES, _bad_config


def test_run_refuses_an_invalid_config_before_listening(tmp_path) -> None:
    bad = _bad_config(tmp_path)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "sdn_shadow.cli", "run", "--config", str(bad),
                           "--of-port", str(port), "--state-file", str(tmp_path / "s.json")],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "mirror[0].sample: must be in (0, 1]" in proc.stderr
    assert "not starting the controller" in proc.stderr
    assert not (tmp_path / "s.json").exists()
    assert time.monotonic() - start < 30


def test_console_script_is_installed() -> None:
    script = Path(sys.executable).parent / "sdn-shadow"
    proc = subprocess.run([str(script), "validate", str(EXAMPLES / "lab.yaml")],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "lab.yaml: ok" in proc.stdout



def test_a_reader_that_stops_early_gets_no_traceback() -> None:
    """`sdn-shadow flows ... | head -1`: the pipe closes under the command; it stops quietly.

    The pipe's reading end is closed before the command starts, so its first write
    meets a closed pipe whatever the timing.
    """
    read, write = os.pipe()
    os.close(read)
    try:
        proc = subprocess.run([sys.executable, "-m", "sdn_shadow.cli", "flows",
                               str(EXAMPLES / "ring.yaml")],
                              stdout=write, stderr=subprocess.PIPE, text=True, timeout=60)
    finally:
        os.close(write)
    assert proc.returncode == 141, proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
