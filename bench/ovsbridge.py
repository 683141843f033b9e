"""A bare OVS bridge (userspace datapath) owned by a benchmark: made, yielded, always deleted."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager


def run(*cmd: str) -> str:
    """Run a command, return its stdout, raise with its stderr on failure."""
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {proc.stderr.strip()}")
    return proc.stdout


@contextmanager
def bench_bridge(controller_port: int | None = None) -> Iterator[str]:
    """A bridge named after this process, OpenFlow 1.3, fail_mode secure; deleted on exit."""
    name = f"shbench{os.getpid() % 100000}"
    run("ovs-vsctl", "--if-exists", "del-br", name, "--", "add-br", name, "--", "set", "bridge",
        name, "datapath_type=netdev", "protocols=OpenFlow13", "fail_mode=secure")
    try:
        if controller_port is not None:
            run("ovs-vsctl", "set-controller", name, f"tcp:127.0.0.1:{controller_port}")
        yield name
    finally:
        run("ovs-vsctl", "--if-exists", "del-br", name)
