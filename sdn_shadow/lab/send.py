"""Send crafted Ethernet frames from inside a Mininet host (scapy-built, raw-socket paced).

Usage: python -m sdn_shadow.lab.send --iface X --count N --rate PPS --src-mac M --dst-mac M
       --src-ip A --dst-ip A [--proto udp|tcp] [--sport-range A-B] [--dport P] [--size N]

Frame i uses source port A + (i mod (B - A + 1)), so --sport-range gives one
flow per distinct port. --size is the Ethernet frame length without FCS (the
payload is padded or cut to it). --rate 0 sends as fast as possible. Prints a
JSON line {"sent", "seconds", "pps"}.
"""

from __future__ import annotations

import argparse
import errno
import json
import socket
import struct
import sys
import time
from typing import Any

MIN_SIZE = {'udp': 42, 'tcp': 54}


def parse_range(text: str) -> tuple[int, int]:
    """Parse 'A-B' (or a single 'A') into an inclusive (A, B) port range."""
    first, _, last = text.partition('-')
    lo, hi = int(first), int(last or first)
    if not (0 <= lo <= hi <= 65535):
        raise ValueError(f'bad port range {text!r}')
    return lo, hi


def _csum_replace(checksum: int, old: int, new: int) -> int:
    """Update a ones'-complement checksum for one 16-bit word changed (RFC 1624, eqn. 3)."""
    total = (~checksum & 0xFFFF) + (~old & 0xFFFF) + new
    total = (total & 0xFFFF) + (total >> 16)
    total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def build_frames(src_mac: str, dst_mac: str, src_ip: str, dst_ip: str, proto: str,
                 sports: range, dport: int, size: int) -> list[bytes]:
    """Build one frame per source port: one scapy template, then patch sport and checksum."""
    from scapy.layers.inet import IP, TCP, UDP
    from scapy.layers.l2 import Ether
    from scapy.packet import Raw

    if proto not in MIN_SIZE:
        raise ValueError(f'unsupported proto {proto!r}')
    if len(sports) == 0:
        raise ValueError('empty source port range')
    size = max(size, MIN_SIZE[proto])
    payload = b'\x00' * (size - MIN_SIZE[proto])
    first = sports[0]
    l4 = UDP(sport=first, dport=dport) if proto == 'udp' else TCP(
        sport=first, dport=dport, flags='A', seq=1, ack=1)
    template = bytearray(bytes(Ether(src=src_mac, dst=dst_mac) / IP(src=src_ip, dst=dst_ip)
                               / l4 / Raw(payload)))
    l4_off = 14 + (template[14] & 0x0F) * 4
    csum_off = l4_off + (6 if proto == 'udp' else 16)
    base_csum = struct.unpack_from('!H', template, csum_off)[0]
    frames = []
    for sport in sports:
        csum = _csum_replace(base_csum, first, sport)
        if proto == 'udp' and csum == 0:
            csum = 0xFFFF  # 0 means "no checksum" in UDP over IPv4
        struct.pack_into('!HH', template, l4_off, sport, dport)
        struct.pack_into('!H', template, csum_off, csum)
        frames.append(bytes(template))
    return frames


def send_frames(iface: str, frames: list[bytes], count: int, rate: float) -> dict[str, Any]:
    """Send count frames (cycling through frames) on iface at rate pps (0: flat out)."""
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    sock.bind((iface, 0))
    sent = 0
    start = time.monotonic()
    try:
        n = len(frames)
        gap = 1.0 / rate if rate > 0 else 0.0
        for i in range(count):
            if gap:
                delay = start + i * gap - time.monotonic()
                if delay > 0.0005:
                    time.sleep(delay)
            while True:
                try:
                    sock.send(frames[i % n])
                    break
                except OSError as exc:  # queue full: yield and retry
                    if exc.errno not in (errno.ENOBUFS, errno.EAGAIN):
                        raise
                    time.sleep(0.0001)
            sent += 1
    finally:
        sock.close()
    seconds = time.monotonic() - start
    return {'sent': sent, 'seconds': seconds, 'pps': sent / seconds if seconds > 0 else 0.0}


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    ap = argparse.ArgumentParser(prog='python -m sdn_shadow.lab.send', description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--iface', required=True)
    ap.add_argument('--count', type=int, required=True)
    ap.add_argument('--rate', type=float, default=1000.0, help='packets per second, 0 = max')
    ap.add_argument('--src-mac', required=True)
    ap.add_argument('--dst-mac', required=True)
    ap.add_argument('--src-ip', required=True)
    ap.add_argument('--dst-ip', required=True)
    ap.add_argument('--proto', choices=sorted(MIN_SIZE), default='udp')
    ap.add_argument('--sport-range', default='10000', help='A-B: one flow per source port')
    ap.add_argument('--dport', type=int, default=9)
    ap.add_argument('--size', type=int, default=64, help='frame length in bytes, without FCS')
    args = ap.parse_args(argv)
    lo, hi = parse_range(args.sport_range)
    sports = range(lo, min(hi, lo + max(args.count, 1) - 1) + 1)
    frames = build_frames(args.src_mac, args.dst_mac, args.src_ip, args.dst_ip, args.proto,
                          sports, args.dport, args.size)
    result = send_frames(args.iface, frames, args.count, args.rate)
    print(json.dumps(result), flush=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
