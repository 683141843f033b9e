"""Figure records and the JSON file `scripts/bench` writes."""

from __future__ import annotations

import contextlib
import json
import os
import platform
import statistics
import subprocess
import time
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass
class Figure:
    """One benchmark figure with its same-run reference and target."""

    value: float
    unit: str
    reference: float | None
    target: str
    met: bool
    detail: dict | None = None


def median(values: list[float]) -> float:
    """Median of the runs."""
    return float(statistics.median(values))


def machine() -> dict:
    """What the figures were measured on."""
    ovs = subprocess.run(["ovs-vsctl", "--version"], capture_output=True, text=True,
                         check=False).stdout.splitlines()
    return {
        "hostname": platform.node(),
        "python": platform.python_version(),
        "kernel": platform.release(),
        "cpus": os.cpu_count(),
        "ovs": ovs[0] if ovs else None,
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def write_results(path: Path, figures: dict[str, Figure]) -> None:
    """Merge `figures` into the results file (a run of `--only X` keeps the others)."""
    data = {"figures": {}}
    if path.exists():
        with contextlib.suppress(ValueError):
            data = json.loads(path.read_text())
    data.setdefault("figures", {})
    for name, fig in figures.items():
        data["figures"][name] = {k: v for k, v in asdict(fig).items() if v is not None
                                 or k == "reference"}
    data["machine"] = machine()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
