"""Four-switch ring topology: one host and its shadow twin per switch."""

import os
import sys

try:
    from topologies.base import FixedPortTopo
    from topologies.hosts import NoOffloadHost
except ImportError:  # `mn --custom topologies/ring.py` execs this file without the repo on sys.path
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
        globals().get('__file__') or sys._getframe().f_code.co_filename))))
    from topologies.base import FixedPortTopo
    from topologies.hosts import NoOffloadHost


class RingTopo(FixedPortTopo):
    """s1..s4 in a ring (port 10 to the next switch's port 11); h<i> on port 1, twin on 2."""

    SIZE = 4

    @classmethod
    def switch_specs(cls) -> list[tuple[str, str]]:
        """(name, dpid) of every switch."""
        return [(f's{i}', f'{i:016x}') for i in range(1, cls.SIZE + 1)]

    @classmethod
    def fabric_links(cls) -> list[tuple[str, int, str, int]]:
        """(switch, port, switch, port) of every ring link."""
        n = cls.SIZE
        return [(f's{i}', 10, f's{i % n + 1}', 11) for i in range(1, n + 1)]

    @classmethod
    def host_ports(cls) -> list[tuple[str, str, int, str, str]]:
        """(host, switch, port, mac, ip/prefix) of every host attachment."""
        specs = []
        for i in range(1, cls.SIZE + 1):
            mac, ip = f'00:00:00:00:0a:{i:02x}', f'10.0.0.{i}/24'
            specs.append((f'h{i}', f's{i}', 1, mac, ip))
            specs.append((f'h{i}s', f's{i}', 2, mac, ip))
        return specs


class RingBulkTopo(RingTopo):
    """The ring plus a best-effort host b<i> on port 3 of every switch (another network)."""

    @classmethod
    def host_ports(cls) -> list[tuple[str, str, int, str, str]]:
        """The ring's hosts, then b1..b4 at 00:00:00:00:0b:<i>, 10.0.0.1<i>/24."""
        return super().host_ports() + [
            (f'b{i}', f's{i}', 3, f'00:00:00:00:0b:{i:02x}', f'10.0.0.1{i}/24')
            for i in range(1, cls.SIZE + 1)]


topos = {'ring': RingTopo, 'ring-bulk': RingBulkTopo}
hosts = {'nooffload': NoOffloadHost}
