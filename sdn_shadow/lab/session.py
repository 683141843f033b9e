"""A running lab: the real controller process plus a Mininet net, torn down together."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import yaml
from mininet.net import Mininet
from mininet.node import Node
from mininet.topo import Topo

from sdn_shadow.lab.controller import ControllerProcess
from sdn_shadow.lab.net import free_tcp_port, running_net


class Lab:
    """A started net and its controller; the controller can be restarted with new config."""

    def __init__(self, net: Mininet, controller: ControllerProcess, dpids: list[int]) -> None:
        self.net = net
        self.controller = controller
        self.dpids = dpids

    def host(self, name: str) -> Node:
        """A Mininet host by name."""
        return self.net.get(name)

    def restart(self, data: dict | None = None, kill: bool = False) -> dict:
        """Restart the controller (with new config `data` if given); return its synced state."""
        if data is not None:
            Path(self.controller.config_path).write_text(yaml.safe_dump(data, sort_keys=False))
        if kill:
            self.controller.kill()
        else:
            self.controller.stop()
        self.controller.start()
        return self.controller.wait_synced(self.dpids, timeout=60)

    def reload(self, data: dict, timeout: float = 10.0) -> dict:
        """Write new config, SIGHUP the controller, wait until it reports the reload; its state.

        Raises RuntimeError if the controller rejects the configuration.
        """
        before = self.controller.state().get("reload", {})
        Path(self.controller.config_path).write_text(yaml.safe_dump(data, sort_keys=False))
        self.controller.request_reload()
        deadline = time.time() + timeout
        while time.time() < deadline:
            now = self.controller.state().get("reload", {})
            if now.get("at") != before.get("at"):
                if now.get("errors"):
                    raise RuntimeError(f"reload rejected: {now['errors']}")
                return self.controller.state()
            time.sleep(0.05)
        raise RuntimeError(f"the controller did not report a reload within {timeout} s")

    def wait_state(self, predicate, timeout: float, poll: float = 0.05) -> dict | None:
        """The controller's state once `predicate(state)` holds, or None after `timeout` s."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            state = self.controller.state()
            if predicate(state):
                return state
            time.sleep(poll)
        return None

    def dump_flows(self, switch: str) -> list[str]:
        """`ovs-ofctl dump-flows --no-stats` lines of one switch."""
        out = subprocess.run(["ovs-ofctl", "-O", "OpenFlow13", "--no-stats", "dump-flows", switch],
                             capture_output=True, text=True, check=True).stdout
        return [line.strip() for line in out.splitlines() if "cookie=" in line]


@contextmanager
def running_lab(topo: Topo, config: Path | dict, workdir: Path,
                extra_args: tuple[str, ...] = ()) -> Iterator[Lab]:
    """Controller (config copied into `workdir`, `extra_args` added to `sdn-shadow run`) and
    net for `topo`; always torn down."""
    config_file = workdir / "config.yaml"
    if isinstance(config, dict):
        config_file.write_text(yaml.safe_dump(config, sort_keys=False))
    else:
        shutil.copy(config, config_file)
    port = free_tcp_port()
    controller = ControllerProcess(config_file, port, workdir / "state.json",
                                   workdir / "controller.log", extra_args=extra_args)
    controller.start()
    try:
        controller.wait_listening()
        dpids = [int(dpid, 16) for _, dpid in topo.switch_specs()]
        with running_net(topo, port) as net:
            controller.wait_synced(dpids, timeout=60)
            yield Lab(net, controller, dpids)
    finally:
        controller.stop()
