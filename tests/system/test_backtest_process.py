"""sdn-shadow forecast backtest as a console script."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def test_console_script_reports_a_missing_file(tmp_path) -> None:
    script = Path(sys.executable).parent / "sdn-shadow"
    proc = subprocess.run([str(script), "forecast", "backtest", str(tmp_path / "nope.csv"),
                           "--horizon", "12", "--period", "48"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.strip() == f"{tmp_path / 'nope.csv'}: no such file"

