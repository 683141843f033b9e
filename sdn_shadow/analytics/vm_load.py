"""The per-interval load a capture puts on one address, as samples for an emulated VM."""

from __future__ import annotations

import ipaddress
from pathlib import Path

from sdn_shadow.analytics.capture_file import read_capture
from sdn_shadow.analytics.decode import ACK, SYN, TCP, UDP, decode
from sdn_shadow.analytics.emulated_vm import LoadSample
from sdn_shadow.usage import UsageError

MAX_SAMPLES = 100_000
"""Intervals a profile may span (a day at 1 s): each is a sample, empty or not, so a long
silence in a tiny capture would otherwise cost memory by the second."""


def load_samples(path: str | Path, address: str, seconds: float) -> list[LoadSample]:
    """One LoadSample per `seconds` of the capture for the traffic to and from `address`.

    Bits in/out count frames to/from it; packets both ways; new connections
    are TCP SYNs to it and UDP flows to it not seen before; active
    connections the distinct TCP connections and UDP flows with a packet in
    the interval. Malformed frames are skipped (see `analyze` for counts).
    """
    try:
        me = ipaddress.ip_address(address).packed
    except ValueError:
        raise UsageError(f"--address: {address!r} is not an IP address") from None
    rows: dict[int, list] = {}
    seen_udp: set[tuple] = set()
    origin = None
    for record in read_capture(path):
        pkt = decode(record.time, record.data, record.linktype, record.wire_length)
        if pkt is None or pkt.proto <= 0 or me not in (pkt.src, pkt.dst):
            continue
        origin = pkt.time if origin is None else origin
        k = max(int((pkt.time - origin) // seconds), 0)
        row = rows.setdefault(k, [0, 0, 0, 0, set()])  # bits in, bits out, packets, new, flows
        inbound = pkt.dst == me
        row[0 if inbound else 1] += pkt.length * 8
        row[2] += 1
        if pkt.proto in (TCP, UDP):
            flow = ((pkt.proto, pkt.dport, pkt.src, pkt.sport) if inbound
                    else (pkt.proto, pkt.sport, pkt.dst, pkt.dport))
            row[4].add(flow)
            if inbound and pkt.proto == TCP and pkt.flags & (SYN | ACK) == SYN:
                row[3] += 1
            elif inbound and pkt.proto == UDP and flow not in seen_udp:
                seen_udp.add(flow)
                row[3] += 1
    if origin is None:
        raise UsageError(f"{path}: no IP traffic to or from {address}")
    if max(rows) >= MAX_SAMPLES:
        raise UsageError(f"{path}: the traffic to and from {address} spans {max(rows) + 1:,} "
                         f"intervals of {seconds:g} s, more than {MAX_SAMPLES:,}: choose a "
                         "larger --interval or a shorter capture")
    return [LoadSample(t=origin + k * seconds, seconds=seconds, bits_in=row[0], bits_out=row[1],
                       packets=row[2], new_connections=row[3], active_connections=len(row[4]))
            for k in range(max(rows) + 1)
            for row in [rows.get(k, [0, 0, 0, 0, set()])]]
