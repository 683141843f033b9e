"""The few Open vSwitch database settings the controller makes itself (via ovs-vsctl).

OpenFlow cannot turn BFD on; ovsdb can. The controller does it only when the
config asks (`failover.bfd`) and only for fabric interfaces it learnt from the
switches' port descriptions, so it needs `ovs-vsctl` on its own machine (a lab,
or a controller co-located with its switches).
"""

from __future__ import annotations

import shutil
import subprocess


class OvsdbError(RuntimeError):
    """ovs-vsctl is missing or refused a change."""


def vsctl(*args: str, timeout: float = 10.0) -> str:
    """Run one ovs-vsctl command; its stdout, or OvsdbError with its stderr."""
    exe = shutil.which("ovs-vsctl")
    if exe is None:
        raise OvsdbError("ovs-vsctl not found")
    proc = subprocess.run([exe, f"--timeout={int(timeout)}", *args], capture_output=True,
                          text=True, timeout=timeout + 5)
    if proc.returncode != 0:
        raise OvsdbError(proc.stderr.strip() or f"ovs-vsctl exited {proc.returncode}")
    return proc.stdout


def enable_bfd(interface: str, interval_ms: int) -> None:
    """BFD on `interface` with min_tx = min_rx = `interval_ms` (detection ~3 intervals)."""
    vsctl("set", "interface", interface, "bfd:enable=true", f"bfd:min_tx={interval_ms}",
          f"bfd:min_rx={interval_ms}")



def bridge_of(dpid: int) -> str:
    """The name of the bridge whose datapath id is `dpid` (OvsdbError if none)."""
    fields = vsctl("--bare", "--columns=name,datapath_id", "list", "Bridge").split()
    for name, datapath_id in zip(fields[::2], fields[1::2], strict=False):
        if int(datapath_id.strip('"'), 16) == dpid:
            return name
    raise OvsdbError(f"no bridge with datapath id {dpid:#x}")


def port_interface(dpid: int, port: int) -> str:
    """The interface name of OpenFlow port `port` of the bridge with datapath id `dpid`."""
    bridge = bridge_of(dpid)
    mine = set(vsctl("list-ifaces", bridge).split())
    fields = vsctl("--bare", "--columns=name", "find", "Interface", f"ofport={port}").split()
    for name in fields:
        if name in mine:
            return name
    raise OvsdbError(f"bridge {bridge} has no port {port}")
