"""Smoke test of the lab harness: a real Mininet net of userspace OVS switches, no controller."""

from __future__ import annotations

import os
import subprocess

import pytest

from sdn_shadow.lab.net import existing_bridges, running_net
from sdn_shadow.lab.ownership import OWNER_KEY, SHELLS_KEY, process_tag, reclaim_stale
from topologies.lab import LabTopo

pytestmark = pytest.mark.integration


def vsctl(*args: str) -> str:
    """Run ovs-vsctl and return its stripped output."""
    proc = subprocess.run(['ovs-vsctl', '--timeout=10', *args], capture_output=True, text=True,
                          check=True, timeout=20)
    return proc.stdout.strip()


def test_lab_net_starts_configured_and_stops_clean(of_port: int) -> None:
    """Hosts have tx offload and IPv6 off; bridges are secure/netdev on the right ports; stop
    removes them."""
    topo = LabTopo()
    switches = [name for name, _dpid in topo.switch_specs()]
    with running_net(topo, of_port) as net:
        for host in net.hosts:
            intf = host.defaultIntf().name
            assert 'tx-checksumming: off' in host.cmd(f'ethtool -k {intf}'), host.name
            assert host.cmd('sysctl -n net.ipv6.conf.all.disable_ipv6').strip() == '1'
        for name, mac, ip in [(h, mac, ip.split('/')[0])
                              for h, _sw, _port, mac, ip in topo.host_ports()]:
            host = net.get(name)
            assert (host.MAC(), host.IP()) == (mac, ip)
        for name, dpid in topo.switch_specs():
            assert vsctl('get', 'bridge', name, 'fail_mode') == 'secure'
            assert vsctl('get', 'bridge', name, 'datapath_type') == 'netdev'
            assert vsctl('get', 'bridge', name, 'other_config:datapath-id') == f'"{dpid}"'
            assert vsctl('get', 'bridge', name, 'protocols') == '[OpenFlow13]'
            controller = vsctl('get', 'bridge', name, 'controller')
            assert vsctl('get', 'controller', controller.strip('[]'), 'target') == \
                f'"tcp:127.0.0.1:{of_port}"'
        expected_ports = {(sw, port) for _h, sw, port, _mac, _ip in topo.host_ports()}
        for sw_a, port_a, sw_b, port_b in topo.fabric_links():
            expected_ports |= {(sw_a, port_a), (sw_b, port_b)}
        for sw, port in expected_ports:
            assert vsctl('get', 'interface', f'{sw}-eth{port}', 'ofport') == str(port)
    assert existing_bridges(switches) == []
    links = subprocess.run(['ip', '-o', 'link', 'show'], capture_output=True, text=True,
                           check=True).stdout
    assert not [line for line in links.splitlines()
                if any(f' {sw}-eth' in line or f' {sw}:' in line for sw in switches)]


def _dead_tag() -> str:
    child = subprocess.Popen(['sleep', '30'])
    tag = process_tag(child.pid)
    child.kill()
    child.wait()
    return tag


def test_bridges_a_dead_run_left_are_reclaimed_and_no_others(of_port: int) -> None:
    """A net starts over bridges of a run that died (their host shells and the links between
    its switches went too); bridges without a tag, or whose owner runs, stay."""
    topo = LabTopo()
    switches = [name for name, _dpid in topo.switch_specs()]
    sw_a, port_a, sw_b, port_b = topo.fabric_links()[0]
    left_link = (f'{sw_a}-eth{port_a}', f'{sw_b}-eth{port_b}')  # what a killed run leaves
    left_shell = subprocess.Popen(['sleep', '60'])
    untagged, owned = 'shtest-untag', 'shtest-owned'
    try:
        for name in [*switches, untagged, owned]:
            vsctl('add-br', name, '--', 'set', 'bridge', name, 'datapath_type=netdev')
        subprocess.run(['ip', 'link', 'add', left_link[0], 'type', 'veth', 'peer', 'name',
                        left_link[1]], check=True)
        vsctl('add-port', sw_a, left_link[0])
        vsctl('add-port', sw_b, left_link[1])
        dead = _dead_tag()
        for name in switches:
            vsctl('set', 'bridge', name, f'external_ids:{OWNER_KEY}="{dead}"',
                  f'external_ids:{SHELLS_KEY}="{process_tag(left_shell.pid)}"')
        vsctl('set', 'bridge', owned, f'external_ids:{OWNER_KEY}="{process_tag(os.getpid())}"')
        assert reclaim_stale([untagged, owned]) == []
        with running_net(topo, of_port) as net:
            assert left_shell.wait(timeout=5) == -9
            tags = {vsctl('get', 'bridge', name, f'external_ids:{OWNER_KEY}').strip('"')
                    for name in switches}
            assert tags == {process_tag(os.getpid())}
            assert net.hosts
        assert existing_bridges([untagged, owned]) == [untagged, owned]
    finally:
        if left_shell.poll() is None:
            left_shell.kill()
            left_shell.wait()
        for name in [*switches, untagged, owned]:
            vsctl('--if-exists', 'del-br', name)
        subprocess.run(['ip', 'link', 'del', left_link[0]], capture_output=True, check=False)
