"""Health probe frames: what the controller sends, and which answers it accepts."""

from __future__ import annotations

import struct

import pytest

from sdn_shadow.probe import PROBE_MAC, arp_probe, probe_answer

HOST_MAC, HOST_IP = "00:00:00:00:0a:02", "10.0.0.2"


def mac(text: str) -> bytes:
    return bytes(int(p, 16) for p in text.split(":"))


def reply(dst: str = PROBE_MAC, oper: int = 2, sender_ip: bytes = bytes([10, 0, 0, 2]),
          vlan: bool = False) -> bytes:
    eth = mac(dst) + mac(HOST_MAC)
    eth += (struct.pack("!HHH", 0x8100, 100, 0x0806) if vlan else struct.pack("!H", 0x0806))
    arp = struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, oper, mac(HOST_MAC), sender_ip,
                      mac(PROBE_MAC), bytes(4))
    return eth + arp


def test_a_probe_is_a_unicast_arp_probe_from_the_probe_mac() -> None:
    frame = arp_probe(HOST_MAC, HOST_IP)
    assert len(frame) == 60
    assert frame[:6] == mac(HOST_MAC) and frame[6:12] == mac(PROBE_MAC)
    htype, ptype, hlen, plen, oper, sha, spa, tha, tpa = struct.unpack_from(
        "!HHBBH6s4s6s4s", frame, 14)
    assert (htype, ptype, hlen, plen, oper) == (1, 0x0800, 6, 4, 1)
    assert sha == mac(PROBE_MAC) and spa == bytes(4), "sender IP 0.0.0.0: an RFC 5227 probe"
    assert tpa == bytes([10, 0, 0, 2])


def test_the_hosts_answer_is_read() -> None:
    assert probe_answer(reply()) == (HOST_MAC, HOST_IP)
    assert probe_answer(reply(vlan=True)) == (HOST_MAC, HOST_IP)


@pytest.mark.parametrize("frame", [
    b"", b"\x00" * 13, reply()[:30], reply(dst="ff:ff:ff:ff:ff:ff"), reply(oper=1),
    reply(vlan=True)[:40], b"\xff" * 200, arp_probe(HOST_MAC, HOST_IP),
])
def test_anything_else_is_ignored_never_an_error(frame: bytes) -> None:
    assert probe_answer(frame) is None
