"""Start and stop Mininet nets of userspace OVS switches for the lab; check the lab tools."""

from __future__ import annotations

import importlib.util
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path

from mininet.net import Mininet
from mininet.node import OVSSwitch, RemoteController
from mininet.topo import Topo

from sdn_shadow.lab.ownership import claim, reclaim_stale
from sdn_shadow.lab.ports import free_tcp_port

REPO_ROOT = Path(__file__).resolve().parents[2]

try:
    from topologies.hosts import NoOffloadHost
except ImportError:  # package installed (editable) but the repo root is not on sys.path
    sys.path.insert(0, str(REPO_ROOT))
    from topologies.hosts import NoOffloadHost

__all__ = ['NoOffloadHost', 'existing_bridges', 'free_tcp_port', 'require_lab_tools',
           'raise_port_buffers', 'running_net', 'start_net', 'stop_net']

LAB_SWITCH = partial(OVSSwitch, datapath='user', protocols='OpenFlow13', failMode='secure')

#: The receive buffer each port of a userspace switch gets (its packet socket takes
#: net.core.rmem_default). At the kernel's 208 KiB, a 10 ms pause of ovs-vswitchd
#: drops frames of a 100 Mbit/s stream: losses of the box, not of what a run tests.
PORT_RCVBUF = 4 << 20
RMEM_DEFAULT = Path('/proc/sys/net/core/rmem_default')


def raise_port_buffers(path: Path = RMEM_DEFAULT, wanted: int = PORT_RCVBUF) -> int | None:
    """Raise net.core.rmem_default to `wanted` if lower; the value it had, if raised.

    Only raised, never lowered, as Mininet's own `fixLimits` raises rmem_max and
    the backlog; it applies to sockets made afterwards, so call it before the
    switches' ports are added.
    """
    before = int(path.read_text().split()[0])
    if before >= wanted:
        return None
    path.write_text(f'{wanted}\n')
    return before


class LabController(RemoteController):
    """The lab's controller: checked with a plain TCP connect instead of Mininet's.

    Mininet's check pipes `telnet` through its node shell and decodes what comes
    back as text; when the controller's binary OpenFlow hello arrives in time, that
    decode fails (UnicodeDecodeError) and the lab does not start.
    """

    def isListening(self, ip: str, port: int) -> bool:  # noqa: N802 (Mininet's name)
        """Whether something accepts TCP connections at ip:port (no bytes exchanged)."""
        try:
            with socket.create_connection((ip, port), timeout=2.0):
                return True
        except OSError:
            return False


def require_lab_tools() -> list[str]:
    """Return what is missing to run real nets here (empty list: all present)."""
    missing: list[str] = []
    if os.geteuid() != 0:
        missing.append('root')
    if shutil.which('ovs-vsctl') is None:
        missing.append('ovs-vsctl')
    else:
        try:
            proc = subprocess.run(['ovs-vsctl', '--timeout=5', 'show'],
                                  capture_output=True, timeout=10, check=False)
            if proc.returncode != 0:
                missing.append('ovs-vsctl show (Open vSwitch not running)')
        except (OSError, subprocess.TimeoutExpired):
            missing.append('ovs-vsctl show (Open vSwitch not running)')
    for tool in ('ovs-ofctl', 'mnexec', 'iperf3', 'tcpdump', 'ethtool', 'ping'):
        if shutil.which(tool) is None:
            missing.append(tool)
    if importlib.util.find_spec('mininet') is None:
        missing.append('mininet (Python package)')
    return missing


def stop_net(net: Mininet) -> None:
    """Stop a net: its bridges, links and host shells (the remote controller's shell too)."""
    try:
        net.stop()
    finally:
        # RemoteController.stop() is a no-op, so Mininet leaves the controller
        # node's helper shell running; end it (it is our own child process).
        for controller in net.controllers:
            if getattr(controller, 'shell', None) is not None:
                controller.terminate()


def existing_bridges(names: list[str]) -> list[str]:
    """Return which of these OVS bridge names exist already."""
    proc = subprocess.run(['ovs-vsctl', '--timeout=10', 'list-br'], capture_output=True,
                          text=True, timeout=20, check=True)
    present = set(proc.stdout.split())
    return [name for name in names if name in present]


def wait_bfd_up(interfaces: list[str], timeout: float = 15.0) -> None:
    """Wait until BFD reports `up` on every one of `interfaces` (RuntimeError after timeout)."""
    deadline = time.monotonic() + timeout
    while True:
        down = [name for name in interfaces if subprocess.run(
            ['ovs-vsctl', '--timeout=10', 'get', 'interface', name, 'bfd_status:state'],
            capture_output=True, text=True, timeout=20).stdout.strip().strip('"') != 'up']
        if not down:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f'BFD not up on {", ".join(down)} after {timeout:g} s')
        time.sleep(0.1)


def start_net(topo: Topo, of_port: int, *, replace_existing: bool = False) -> Mininet:
    """Build and start a net of userspace OVS switches (fail mode secure) for a remote controller.

    Mininet silently deletes a bridge that has the name of one of its
    switches; unless replace_existing, start_net refuses instead, so that a
    net someone else is running is never torn down. Bridges a lab run that
    has died left behind (see `ownership`) are removed first. The caller must call
    stop_net(net); on a failure while starting, whatever was built is stopped
    before the error propagates.
    """
    switches = list(topo.switches())
    clash = existing_bridges(switches)
    stale = reclaim_stale(clash) if clash else []
    if stale:
        print(f'lab: removed bridges {", ".join(stale)} left by a lab run that ended without '
              'stopping its net', file=sys.stderr)
    clash = [name for name in clash if name not in stale]
    if clash and not replace_existing:
        raise RuntimeError(
            f'OVS bridges {clash} exist already (another net running, or left by a crashed '
            f'run?); remove them if they are yours: '
            + '; '.join(f'ovs-vsctl del-br {name}' for name in clash))
    raised = raise_port_buffers()
    if raised is not None:
        print(f'lab: raised net.core.rmem_default from {raised} to {PORT_RCVBUF} bytes, the '
              'receive buffer of each userspace switch port', file=sys.stderr)
    net = Mininet(
        topo=topo,
        switch=LAB_SWITCH,
        host=NoOffloadHost,
        controller=None,
        autoSetMacs=False,
        cleanup=False,
        waitConnected=False,
        build=False,
    )
    try:
        # Added before build() so that stop_net() also ends its helper shell.
        net.addController(LabController('c0', ip='127.0.0.1', port=of_port))
        net.build()
        net.start()
        claim(switches, [node.pid for node in net.hosts + net.controllers if node.pid])
    except BaseException:
        stop_net(net)
        raise
    return net


@contextmanager
def running_net(topo: Topo, of_port: int, *, replace_existing: bool = False
                ) -> Iterator[Mininet]:
    """Context manager: a started net (see start_net) that is always stopped on exit."""
    net = start_net(topo, of_port, replace_existing=replace_existing)
    try:
        yield net
    finally:
        stop_net(net)
