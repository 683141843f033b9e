"""Figure records and the JSON file `scripts/bench` writes."""

from __future__ import annotations

import contextlib
import json
import os
import platform
import statistics
import subprocess
import time
from collections.abc import Sequence
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


def median(values: Sequence[float]) -> float:
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


def commit() -> str | None:
    """The checked-out commit the figures were measured at, `+dirty` if the tree had edits."""
    root = Path(__file__).resolve().parents[1]

    def git(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True,
                              check=False)

    head = git("rev-parse", "--short=12", "HEAD")
    if head.returncode:
        return None
    dirty = git("status", "--porcelain", "--untracked-files=no").stdout.strip()
    return head.stdout.strip() + ("+dirty" if dirty else "")


def write_results(path: Path, figures: dict[str, Figure],
                  measured: dict[str, float] | None = None, revision: str | None = None
                  ) -> None:
    """Merge `figures` into the results file (a run of `--only X` keeps the others).

    Each figure carries its own time (`measured`: figure -> epoch seconds it finished, default
    now), commit (`revision`, read when the run began; default now) and machine: a file
    merged from several runs says which run gave what.
    """
    data: dict = {"figures": {}}
    if path.exists():
        with contextlib.suppress(ValueError):
            data = json.loads(path.read_text())
    data.setdefault("figures", {})
    host, rev = machine(), revision or commit()
    for name, fig in figures.items():
        when = (measured or {}).get(name, time.time())
        record = {k: v for k, v in asdict(fig).items() if v is not None or k == "reference"}
        record["time"] = time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(when))
        record["commit"] = rev
        record["machine"] = {k: v for k, v in host.items() if k != "time"}
        data["figures"][name] = record
    data["machine"] = host
    data["written"] = host["time"]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
