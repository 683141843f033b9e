"""Mininet host classes shared by the lab topologies."""

from mininet.log import error
from mininet.node import Host


class NoOffloadHost(Host):
    """A host with tx checksum offload off on every interface and IPv6 disabled.

    With Open vSwitch's userspace datapath, TCP over veths only works with tx
    checksum offload off on the host side (see LAB.md). IPv6 is turned off to
    keep router solicitations and MLD reports out of captures. Static ARP is
    not touched: the controller answers ARP.
    """

    def config(self, **params: object) -> dict:
        """Configure the host as Mininet does, then turn offload and IPv6 off."""
        result = super().config(**params)
        self.cmd('sysctl -qw net.ipv6.conf.all.disable_ipv6=1'
                 ' net.ipv6.conf.default.disable_ipv6=1')
        for intf in self.intfList():
            if intf.name == 'lo':
                continue
            self.disable_offload(intf.name)
        return result

    def disable_offload(self, intf_name: str) -> bool:
        """Turn tx checksum offload off on one interface; return whether it worked."""
        out = self.cmd(f'ethtool -K {intf_name} tx off >/dev/null 2>&1; echo rc=$?')
        ok = 'rc=0' in out
        if not ok:
            error(f'*** {self.name}: ethtool -K {intf_name} tx off failed\n')
        return ok


hosts = {'nooffload': NoOffloadHost}
