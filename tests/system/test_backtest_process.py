"""sdn-shadow forecast backtest as a console script."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.datasets import SAMPLES


def test_console_script_reports_a_missing_file(tmp_path) -> None:
    script = Path(sys.executable).parent / "sdn-shadow"
    proc = subprocess.run([str(script), "forecast", "backtest", str(tmp_path / "nope.csv"),
                           "--horizon", "12", "--period", "48"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.strip() == f"{tmp_path / 'nope.csv'}: no such file"



def test_console_script_runs_many_horizons_and_names_the_period() -> None:
    script = Path(sys.executable).parent / "sdn-shadow"
    series = SAMPLES / "timeseries" / "nab_ec2_network_in_257a54_5min.csv"
    proc = subprocess.run([str(script), "forecast", "backtest", str(series), "--horizons", "1,12",
                           "--period", "1d", "--json", "-"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["period_finding"]["hint"] == 288
    assert [row["horizon"] for row in data["horizons"]] == [1, 12]
