"""Fixtures for integration tests that run real OVS switches in Mininet."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import yaml

from sdn_shadow.lab.controller import ControllerProcess
from sdn_shadow.lab.net import free_tcp_port, running_net

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture
def of_port() -> int:
    """A free TCP port on 127.0.0.1 for the controller's OpenFlow listener."""
    return free_tcp_port()


class Lab:
    """A running Mininet lab with the real controller process; reconfigurable by restart."""

    def __init__(self, net, controller, workdir: Path, topo_dpids: list[int]) -> None:
        self.net = net
        self.controller = controller
        self.workdir = workdir
        self.dpids = topo_dpids

    def host(self, name: str):
        """A Mininet host by name."""
        return self.net.get(name)

    def restart(self, data: dict | None = None, kill: bool = False) -> dict:
        """Restart the controller (optionally with new config data); wait until synced."""
        if data is not None:
            Path(self.controller.config_path).write_text(yaml.safe_dump(data, sort_keys=False))
        if kill:
            self.controller.kill()
        else:
            self.controller.stop()
        self.controller.start()
        return self.controller.wait_synced(self.dpids, timeout=60)

    def dump_flows(self, switch: str) -> list[str]:
        """`ovs-ofctl dump-flows` lines of a switch (no header)."""
        out = subprocess.run(["ovs-ofctl", "-O", "OpenFlow13", "--no-stats", "dump-flows", switch],
                             capture_output=True, text=True, check=True).stdout
        return [line.strip() for line in out.splitlines() if "cookie=" in line]


@contextmanager
def running_lab(topo, config_file: Path, workdir: Path) -> Iterator[Lab]:
    """Controller + net for `topo`, config copied into `workdir`; always torn down."""
    config = workdir / "config.yaml"
    shutil.copy(config_file, config)
    port = free_tcp_port()
    controller = ControllerProcess(config, port, workdir / "state.json",
                                   workdir / "controller.log")
    controller.start()
    try:
        controller.wait_listening()
        dpids = [int(dpid, 16) for _, dpid in topo.switch_specs()]
        with running_net(topo, port) as net:
            controller.wait_synced(dpids, timeout=60)
            yield Lab(net, controller, workdir, dpids)
    finally:
        controller.stop()


@pytest.fixture(scope="module")
def lab(tmp_path_factory) -> Iterator[Lab]:
    """The two-switch lab of examples/lab.yaml, shared by the tests of one module."""
    from topologies.lab import LabTopo

    with running_lab(LabTopo(), EXAMPLES / "lab.yaml", tmp_path_factory.mktemp("lab")) as lab_:
        yield lab_


def lab_config() -> dict:
    """examples/lab.yaml as data, to vary."""
    return yaml.safe_load((EXAMPLES / "lab.yaml").read_text())
