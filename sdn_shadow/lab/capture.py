"""Packet sniffer run inside a Mininet host: BPF-filtered AF_PACKET capture, JSON summary on exit.

Usage: python -m sdn_shadow.lab.capture --iface X [--filter BPF] --out FILE [--ready FILE]

Stopped by SIGTERM or SIGINT (or --duration); it then drains what the kernel
has queued, and writes the summary atomically to --out:
{"iface", "filter", "count", "bytes", "in", "out", "kernel_drops", "truncated",
 "started", "stopped", "packets": [{"t", "len", "dir", "src", "dst", "type",
 "vlan", "ip_src", "ip_dst", "proto", "sport", "dport"}, ...]}
The BPF filter is compiled by scapy (through libpcap) and attached before the
socket is bound, so no unfiltered packet is ever counted.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import struct
import sys
import time
from typing import Any

ETH_P_ALL = 0x0003
SOL_PACKET = 263
PACKET_STATISTICS = 6
SO_ATTACH_FILTER = 26
PACKET_OUTGOING = 4
DLT_EN10MB = 1
DEFAULT_MAX_PACKETS = 20000
IP_PROTOS = {1: 'icmp', 6: 'tcp', 17: 'udp', 58: 'icmpv6'}


def _mac(raw: bytes) -> str:
    return ':'.join(f'{b:02x}' for b in raw)


def parse_frame(frame: bytes) -> dict[str, Any]:
    """Summarise an Ethernet frame: MACs, ethertype, VLAN, IPv4/ARP addresses, L4 ports."""
    rec: dict[str, Any] = {
        'len': len(frame), 'src': None, 'dst': None, 'type': None, 'vlan': None,
        'ip_src': None, 'ip_dst': None, 'proto': None, 'sport': None, 'dport': None,
    }
    if len(frame) < 14:
        return rec
    rec['dst'] = _mac(frame[0:6])
    rec['src'] = _mac(frame[6:12])
    ethertype = struct.unpack_from('!H', frame, 12)[0]
    off = 14
    while ethertype in (0x8100, 0x88A8) and len(frame) >= off + 4:
        tci, ethertype = struct.unpack_from('!HH', frame, off)
        if rec['vlan'] is None:
            rec['vlan'] = tci & 0x0FFF
        off += 4
    rec['type'] = ethertype
    if ethertype == 0x0800 and len(frame) >= off + 20:
        ihl = (frame[off] & 0x0F) * 4
        proto = frame[off + 9]
        rec['proto'] = IP_PROTOS.get(proto, proto)
        rec['ip_src'] = socket.inet_ntoa(frame[off + 12:off + 16])
        rec['ip_dst'] = socket.inet_ntoa(frame[off + 16:off + 20])
        frag_off = struct.unpack_from('!H', frame, off + 6)[0] & 0x1FFF
        l4 = off + ihl
        if proto in (6, 17) and frag_off == 0 and len(frame) >= l4 + 4:
            rec['sport'], rec['dport'] = struct.unpack_from('!HH', frame, l4)
    elif ethertype == 0x0806 and len(frame) >= off + 28:
        rec['proto'] = 'arp'
        rec['sport'] = struct.unpack_from('!H', frame, off + 6)[0]  # ARP opcode
        rec['ip_src'] = socket.inet_ntoa(frame[off + 14:off + 18])
        rec['ip_dst'] = socket.inet_ntoa(frame[off + 24:off + 28])
    elif ethertype == 0x86DD and len(frame) >= off + 40:
        nxt = frame[off + 6]
        rec['proto'] = IP_PROTOS.get(nxt, nxt)
        rec['ip_src'] = socket.inet_ntop(socket.AF_INET6, frame[off + 8:off + 24])
        rec['ip_dst'] = socket.inet_ntop(socket.AF_INET6, frame[off + 24:off + 40])
        if nxt in (6, 17) and len(frame) >= off + 44:
            rec['sport'], rec['dport'] = struct.unpack_from('!HH', frame, off + 40)
    return rec


def open_socket(iface: str, bpf_filter: str | None, rcvbuf: int) -> socket.socket:
    """Open an AF_PACKET socket on iface with the BPF filter attached before it is bound."""
    # Protocol 0: receive nothing until bound, so no packet slips past the filter.
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        if bpf_filter:
            attach_bpf(sock, bpf_filter)
        sock.bind((iface, ETH_P_ALL))
    except BaseException:
        sock.close()
        raise
    return sock


def attach_bpf(sock: socket.socket, bpf_filter: str) -> None:
    """Compile a tcpdump-syntax filter with scapy (libpcap) and attach it to the socket."""
    from scapy.arch.common import compile_filter
    from scapy.libs.structures import sock_fprog

    prog = compile_filter(bpf_filter, linktype=DLT_EN10MB)
    sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, sock_fprog(prog.bf_len, prog.bf_insns))
    try:
        from scapy.arch.common import free_filter
    except ImportError:  # older scapy: the program is simply not freed
        return
    free_filter(prog)


def kernel_drops(sock: socket.socket) -> int:
    """Packets the kernel dropped for this socket since the last call (PACKET_STATISTICS)."""
    try:
        raw = sock.getsockopt(SOL_PACKET, PACKET_STATISTICS, 8)
    except OSError:
        return 0
    _packets, drops = struct.unpack('II', raw)
    return int(drops)


def write_json_atomic(path: str, data: dict[str, Any]) -> None:
    """Write JSON to path via a temporary file and rename."""
    tmp = f'{path}.tmp{os.getpid()}'
    with open(tmp, 'w', encoding='utf-8') as fh:
        json.dump(data, fh)
    os.replace(tmp, path)


def run(iface: str, bpf_filter: str | None, out: str, ready: str | None,
        max_packets: int = DEFAULT_MAX_PACKETS, duration: float | None = None,
        direction: str = 'both', rcvbuf: int = 32 * 1024 * 1024) -> dict[str, Any]:
    """Capture until SIGTERM/SIGINT (or duration), then write and return the summary."""
    stop = False

    def on_signal(_signum: int, _frame: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    sock = open_socket(iface, bpf_filter, rcvbuf)
    kernel_drops(sock)  # reset the counters
    summary: dict[str, Any] = {
        'iface': iface, 'filter': bpf_filter, 'count': 0, 'bytes': 0, 'in': 0, 'out': 0,
        'kernel_drops': 0, 'truncated': False, 'started': time.time(), 'stopped': None,
        'packets': [],
    }
    packets: list[dict[str, Any]] = summary['packets']
    want_in = direction in ('both', 'in')
    want_out = direction in ('both', 'out')
    if ready:
        write_json_atomic(ready, {'pid': os.getpid(), 'iface': iface, 'started': time.time()})
    deadline = time.monotonic() + duration if duration else None
    sock.settimeout(0.1)
    draining = False
    try:
        while True:
            if not draining and (stop or (deadline and time.monotonic() >= deadline)):
                draining = True
                sock.setblocking(False)
            try:
                frame, addr = sock.recvfrom(262144)
            except TimeoutError:
                continue
            except BlockingIOError:
                break
            outgoing = addr[2] == PACKET_OUTGOING
            if (outgoing and not want_out) or (not outgoing and not want_in):
                continue
            summary['count'] += 1
            summary['bytes'] += len(frame)
            summary['out' if outgoing else 'in'] += 1
            if len(packets) < max_packets:
                rec = parse_frame(frame)
                rec['t'] = time.time()
                rec['dir'] = 'out' if outgoing else 'in'
                packets.append(rec)
            else:
                summary['truncated'] = True
    finally:
        summary['kernel_drops'] = kernel_drops(sock)
        summary['stopped'] = time.time()
        sock.close()
        write_json_atomic(out, summary)
    return summary


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    ap = argparse.ArgumentParser(prog='python -m sdn_shadow.lab.capture', description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--iface', required=True)
    ap.add_argument('--filter', default='', help='BPF filter (tcpdump syntax)')
    ap.add_argument('--out', required=True, help='JSON summary written on exit')
    ap.add_argument('--ready', help='file written once the socket is listening')
    ap.add_argument('--max-packets', type=int, default=DEFAULT_MAX_PACKETS,
                    help='per-packet records kept (counts go on past it)')
    ap.add_argument('--duration', type=float, help='stop by itself after this many seconds')
    ap.add_argument('--direction', choices=('both', 'in', 'out'), default='both')
    args = ap.parse_args(argv)
    summary = run(args.iface, args.filter or None, args.out, args.ready,
                  max_packets=args.max_packets, duration=args.duration,
                  direction=args.direction)
    print(json.dumps({k: v for k, v in summary.items() if k != 'packets'}), flush=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
