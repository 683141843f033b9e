"""Host health probes: ARP requests from the controller, and their answers (pure, bytes only).

A probe is an ARP probe in the RFC 5227 sense (sender IP 0.0.0.0), sent
unicast to the host's MAC out of its port, so it needs no address in the
tenant's network and leaves no entry in the host's ARP cache. The host
answers to PROBE_MAC, which a flow in the ingress table sends to the
controller from any port (also from a host whose twin has taken over).
"""

from __future__ import annotations

import ipaddress
import struct

PROBE_MAC = "0e:5d:00:00:00:01"  # locally administered: the controller's probe sender
ETH_ARP = 0x0806
_ARP = struct.Struct("!HHBBH6s4s6s4s")  # htype ptype hlen plen oper sha spa tha tpa


def _mac(text: str) -> bytes:
    return bytes(int(part, 16) for part in text.split(":"))


def _text(mac: bytes) -> str:
    return ":".join(f"{b:02x}" for b in mac)


def arp_probe(host_mac: str, host_ip: str) -> bytes:
    """The Ethernet frame asking `host_ip` (at `host_mac`) to answer PROBE_MAC."""
    eth = _mac(host_mac) + _mac(PROBE_MAC) + struct.pack("!H", ETH_ARP)
    arp = _ARP.pack(1, 0x0800, 6, 4, 1, _mac(PROBE_MAC), bytes(4), bytes(6),
                    ipaddress.IPv4Address(host_ip).packed)
    return eth + arp + bytes(60 - len(eth) - len(arp))


def probe_answer(frame: bytes) -> tuple[str, str] | None:
    """(sender MAC, sender IP) if `frame` is an ARP reply to PROBE_MAC; None for anything else."""
    if len(frame) < 14 + _ARP.size:
        return None
    ethertype = struct.unpack_from("!H", frame, 12)[0]
    offset = 14
    if ethertype == 0x8100:  # tolerate one VLAN tag
        if len(frame) < 18 + _ARP.size:
            return None
        ethertype, offset = struct.unpack_from("!H", frame, 16)[0], 18
    if ethertype != ETH_ARP or frame[:6] != _mac(PROBE_MAC):
        return None
    htype, ptype, hlen, plen, oper, sha, spa, _tha, _tpa = _ARP.unpack_from(frame, offset)
    if (htype, ptype, hlen, plen, oper) != (1, 0x0800, 6, 4, 2):
        return None
    return _text(sha), str(ipaddress.IPv4Address(spa))
