"""Two-switch lab topology: primary hosts, a bystander pair and shadow twins."""

import os
import sys

try:
    from topologies.base import FixedPortTopo
    from topologies.hosts import NoOffloadHost
except ImportError:  # `mn --custom topologies/lab.py` execs this file without the repo on sys.path
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
        globals().get('__file__') or sys._getframe().f_code.co_filename))))
    from topologies.base import FixedPortTopo
    from topologies.hosts import NoOffloadHost


class LabTopo(FixedPortTopo):
    """s1 and s2 joined on port 10; h1/h2/h3, bystanders b1/b2, twins h1s/h2s.

    Every attachment has an explicit switch port, MAC and IP so the config
    file (examples/lab.yaml) can name them.
    """

    SWITCHES: tuple[tuple[str, str], ...] = (
        ('s1', '0000000000000001'),
        ('s2', '0000000000000002'),
    )
    # (switch, port, switch, port)
    FABRIC_LINKS: tuple[tuple[str, int, str, int], ...] = (
        ('s1', 10, 's2', 10),
    )
    # (host, switch, port, mac, ip/prefix)
    HOST_PORTS: tuple[tuple[str, str, int, str, str], ...] = (
        ('h1', 's1', 1, '00:00:00:00:0a:01', '10.0.0.1/24'),
        ('h2', 's2', 1, '00:00:00:00:0a:02', '10.0.0.2/24'),
        ('h3', 's1', 2, '00:00:00:00:0a:03', '10.0.0.3/24'),
        ('b1', 's1', 3, '00:00:00:00:0b:01', '10.0.0.11/24'),
        ('b2', 's2', 3, '00:00:00:00:0b:02', '10.0.0.12/24'),
        ('h1s', 's1', 4, '00:00:00:00:0a:01', '10.0.0.1/24'),
        ('h2s', 's2', 4, '00:00:00:00:0a:02', '10.0.0.2/24'),
    )

    @classmethod
    def switch_specs(cls) -> list[tuple[str, str]]:
        """(name, dpid) of every switch."""
        return list(cls.SWITCHES)

    @classmethod
    def fabric_links(cls) -> list[tuple[str, int, str, int]]:
        """(switch, port, switch, port) of every inter-switch link."""
        return list(cls.FABRIC_LINKS)

    @classmethod
    def host_ports(cls) -> list[tuple[str, str, int, str, str]]:
        """(host, switch, port, mac, ip/prefix) of every host attachment."""
        return list(cls.HOST_PORTS)


topos = {'lab': LabTopo}
hosts = {'nooffload': NoOffloadHost}
