"""A Topo whose switches, fabric links and host ports are declared data, built in one place."""

from mininet.topo import Topo


class FixedPortTopo(Topo):
    """Every attachment has an explicit switch port, MAC and IP, so a config file can name it.

    Subclasses declare the data (class methods, so tests can read it without
    building a net); `build()` only turns it into a graph.
    """

    @classmethod
    def switch_specs(cls) -> list[tuple[str, str]]:
        """(name, dpid as 16 hex digits) of every switch."""
        raise NotImplementedError

    @classmethod
    def fabric_links(cls) -> list[tuple[str, int, str, int]]:
        """(switch, port, switch, port) of every inter-switch link."""
        raise NotImplementedError

    @classmethod
    def host_ports(cls) -> list[tuple[str, str, int, str, str]]:
        """(host, switch, port, mac, ip/prefix) of every host attachment."""
        raise NotImplementedError

    def build(self) -> None:
        """Add the switches, the fabric links and the hosts on their fixed ports."""
        for name, dpid in self.switch_specs():
            self.addSwitch(name, dpid=dpid)
        for sw_a, port_a, sw_b, port_b in self.fabric_links():
            self.addLink(sw_a, sw_b, port1=port_a, port2=port_b)
        for host, switch, port, mac, ip in self.host_ports():
            self.addHost(host, mac=mac, ip=ip)
            self.addLink(host, switch, port2=port)
