"""Header decoding against scapy-built frames, and never a crash on malformed ones."""

from __future__ import annotations

import random

import pytest
from scapy.all import (
    ARP,
    DNS,
    ICMP,
    IP,
    TCP,
    UDP,
    CookedLinux,
    Dot1Q,
    Ether,
    IPerror,
    IPv6,
    IPv6ExtHdrFragment,
    UDPerror,
    fuzz,
)

from sdn_shadow.analytics import decode as wire
from sdn_shadow.analytics.decode import ETHERNET, LINUX_SLL, RAW, SYN, address, decode

TCP_PROTO, UDP_PROTO = wire.TCP, wire.UDP


def _decode(frame, linktype: int = ETHERNET):
    data = bytes(frame)
    return decode(1.5, data, linktype, len(data))


def test_tcp_over_ethernet() -> None:
    pkt = _decode(Ether(src="02:00:00:00:00:01") / IP(src="10.0.0.1", dst="10.0.0.2")
                  / TCP(sport=4242, dport=80, flags="S"))
    assert (pkt.proto, pkt.sport, pkt.dport, pkt.flags) == (TCP_PROTO, 4242, 80, SYN)
    assert (address(pkt.src), address(pkt.dst)) == ("10.0.0.1", "10.0.0.2")
    assert address(pkt.src_mac) == "02:00:00:00:00:01" and pkt.time == 1.5


def test_udp_behind_two_vlan_tags_and_ipv6_fragments() -> None:
    pkt = _decode(Ether() / Dot1Q(vlan=10) / Dot1Q(vlan=20) / IP(src="10.0.0.1") / UDP(sport=53))
    assert (pkt.proto, pkt.sport, address(pkt.src)) == (UDP_PROTO, 53, "10.0.0.1")
    first = _decode(Ether() / IPv6(src="2001:db8::1") / IPv6ExtHdrFragment(offset=0)
                    / UDP(dport=9))
    assert (first.proto, first.dport, address(first.src)) == (UDP_PROTO, 9, "2001:db8::1")
    later = _decode(Ether() / IPv6() / IPv6ExtHdrFragment(offset=100, nh=17) / (b"x" * 16))
    assert (later.proto, later.dport) == (UDP_PROTO, 0)


def test_later_ipv4_fragments_have_no_ports() -> None:
    pkt = _decode(Ether() / IP(frag=10, proto=6) / (b"\x00" * 20))
    assert (pkt.proto, pkt.sport, pkt.dport) == (TCP_PROTO, 0, 0)


def test_arp_fields() -> None:
    pkt = _decode(Ether(dst="02:00:00:00:00:0b")
                  / ARP(op=2, hwsrc="02:00:00:00:00:0a", psrc="10.0.0.1",
                        hwdst="02:00:00:00:00:0b", pdst="10.0.0.2"))
    assert (pkt.proto, pkt.op) == (0, 2)
    assert (address(pkt.src), address(pkt.src_mac)) == ("10.0.0.1", "02:00:00:00:00:0a")
    assert (address(pkt.dst), address(pkt.dst_mac)) == ("10.0.0.2", "02:00:00:00:00:0b")


def test_icmp_port_unreachable_names_the_probe() -> None:
    pkt = _decode(Ether() / IP(src="10.0.0.2", dst="10.0.0.1") / ICMP(type=3, code=3)
                  / IPerror(src="10.0.0.1", dst="10.0.0.2") / UDPerror(sport=5000, dport=161))
    assert (pkt.sport, pkt.dport) == (3, 3)
    target, proto, port = pkt.quoted
    assert (address(target), proto, port) == ("10.0.0.2", UDP_PROTO, 161)


def test_raw_ip_and_linux_cooked_captures() -> None:
    raw = _decode(IP(src="10.0.0.1") / UDP(dport=53) / DNS(), RAW)
    assert (raw.proto, raw.dport) == (UDP_PROTO, 53)
    cooked = _decode(CookedLinux(proto=0x0800) / IP() / TCP(dport=22), LINUX_SLL)
    assert (cooked.proto, cooked.dport) == (TCP_PROTO, 22)


def test_other_frames_and_link_types_are_not_malformed() -> None:
    assert _decode(Ether(type=0x88CC) / (b"\x00" * 40)).proto == -1
    assert _decode(b"\x00" * 40, 147).proto == -1


@pytest.mark.parametrize("frame", [
    Ether() / IP() / TCP(), Ether() / IPv6() / UDP(), Ether(dst="ff:ff:ff:ff:ff:ff") / ARP(),
    Ether() / IP() / ICMP(type=3) / IPerror() / UDPerror(), Ether() / Dot1Q() / IP() / UDP(),
], ids=["tcp", "ipv6-udp", "arp", "icmp-error", "vlan"])
def test_every_cut_of_a_frame_decodes_or_is_malformed(frame) -> None:
    data = bytes(frame)
    for size in range(len(data)):
        decode(0.0, data[:size], ETHERNET, size)  # must not raise
    assert decode(0.0, data[:13], ETHERNET, 13) is None


@pytest.mark.parametrize("layers", [
    lambda: Ether() / fuzz(IP()) / fuzz(TCP()), lambda: Ether() / fuzz(IP()) / fuzz(UDP()),
    lambda: Ether() / fuzz(IPv6()) / fuzz(TCP()),
    lambda: Ether(dst="ff:ff:ff:ff:ff:ff") / fuzz(ARP()),
    lambda: Ether() / fuzz(IP()) / fuzz(ICMP()), lambda: fuzz(Ether()) / fuzz(IP()),
], ids=["ip-tcp", "ip-udp", "ipv6-tcp", "arp", "icmp", "ether-ip"])
def test_scapy_fuzz_frames_never_raise(layers) -> None:
    for _ in range(300):
        data = bytes(layers())
        for linktype in (ETHERNET, RAW, LINUX_SLL):
            decode(0.0, data, linktype, len(data))


def test_random_bytes_never_raise() -> None:
    rng = random.Random(7)
    for _ in range(3000):
        data = rng.randbytes(rng.randrange(0, 120))
        for linktype in (ETHERNET, RAW, LINUX_SLL, 276, 0, 228, 229, 108):
            decode(0.0, data, linktype, len(data))


@pytest.mark.parametrize("order", ["little", "big"])
def test_loopback_captures_in_either_byte_order(order: str) -> None:
    ip = bytes(IP(src="127.0.0.1", dst="127.0.0.2") / UDP(dport=53))
    pkt = decode(0.0, (2).to_bytes(4, order) + ip, 0, len(ip) + 4)
    assert (pkt.proto, pkt.dport, address(pkt.dst)) == (UDP_PROTO, 53, "127.0.0.2")
