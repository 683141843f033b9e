"""Per-interval traffic counts: packets and bytes per source, SYNs, probes, reflection, ARP."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from sdn_shadow.analytics.decode import ACK, FIN, ICMP, PSH, SYN, TCP, UDP, Packet

# UDP services that answer a small request with a large response (reflection/amplification).
AMPLIFIER_PORTS = frozenset({17, 19, 53, 69, 111, 123, 137, 161, 389, 520, 1434, 1900, 3283,
                             3702, 5683, 10001, 11211, 27015, 37810})
_ECHO_REPLY, _ECHO_REQUEST, _UNREACHABLE, _PORT_UNREACHABLE = 0, 8, 3, 3
MAX_EMPTY = 100_000
_PROBE_FLAGS = {SYN, FIN, 0, FIN | PSH | 0x20}  # SYN, FIN, NULL and Xmas scans (no ACK)


@dataclass
class Interval:
    """What the traffic of one interval `[start, start + seconds)` looked like.

    An idle run (no packets) stands for `repeat` consecutive empty intervals, so a gap
    costs one object, not one per interval it spans.
    """

    start: float
    seconds: float
    packets: int = 0
    bytes: int = 0
    tcp: int = 0
    syn: int = 0
    synack: int = 0
    talkers: Counter[bytes] = field(default_factory=Counter)
    talker_bytes: Counter[bytes] = field(default_factory=Counter)
    # scanning: source -> the (target, protocol, port) it probed; SYN senders and their targets
    probes: defaultdict[bytes, set[tuple[bytes, int, int]]] = field(
        default_factory=lambda: defaultdict(set))
    syn_sources: Counter[bytes] = field(default_factory=Counter)
    syn_targets: Counter[bytes] = field(default_factory=Counter)
    answered: Counter[bytes] = field(default_factory=Counter)
    opening: set[tuple[bytes, int, bytes, int]] = field(default_factory=set)
    completed: int = 0
    # reflection: bytes a host received from / sent to amplifying services, and who sent them
    reflected_in: Counter[bytes] = field(default_factory=Counter)
    reflected_out: Counter[bytes] = field(default_factory=Counter)
    reflectors: defaultdict[bytes, set[bytes]] = field(default_factory=lambda: defaultdict(set))
    arp: list[Packet] = field(default_factory=list)
    repeat: int = 1

    @property
    def end(self) -> float:
        """Where the interval (or the idle run) stops."""
        return self.start + self.seconds * self.repeat

    def without_arp(self) -> Interval:
        """A copy with no ARP packets (for a baseline that must not learn bindings)."""
        return replace(self, arp=[])


class IntervalBuilder:
    """Cuts a packet stream into intervals of `seconds`, counting each packet's features."""

    def __init__(self, seconds: float, origin: float | None = None) -> None:
        if not (seconds > 0 and math.isfinite(seconds)):
            raise ValueError(f"interval must be a positive number of seconds, not {seconds!r}")
        self.seconds = seconds
        self.current: Interval | None = None if origin is None else Interval(origin, seconds)
        self.notes: list[str] = []

    def add(self, pkt: Packet) -> list[Interval]:
        """Count `pkt`; return the intervals its time closed (empty ones included).

        A packet more than one interval older than the interval in progress (a capture
        whose clock stepped back, or files joined out of order) closes it and starts a new
        stretch at its own time, with a note, rather than lumping what follows into one
        interval; smaller reorderings count in the interval in progress.
        """
        current = self.current
        if current is not None and pkt.time < current.start - self.seconds:
            self.notes.append(f"time goes back {current.start - pkt.time:.0f} s to "
                              f"{pkt.time:.6f}; counted from there as a new stretch")
            self.current = Interval(pkt.time, self.seconds)
            self._count(self.current, pkt)
            return [current]
        closed = self.advance(pkt.time) if current is not None else []
        if self.current is None:
            self.current = Interval(pkt.time, self.seconds)
        self._count(self.current, pkt)
        return closed

    def advance(self, now: float) -> list[Interval]:
        """Close every interval that ends at or before `now` (a run of empty ones as one
        idle run, see `Interval.repeat`)."""
        closed = []
        current = self.current
        if current is not None and now - current.end > MAX_EMPTY * self.seconds:
            # a clock jump (or a capture paused for days): don't fill it with empty intervals
            self.notes.append(f"time jumps {now - current.end:.0f} s after {current.end:.6f}; "
                              "the gap is left out of the intervals")
            closed.append(current)
            current = Interval(current.end + self.seconds * math.floor(
                (now - current.end) / self.seconds), self.seconds)
        while current is not None and now >= current.end:
            closed.append(current)
            idle = math.floor((now - current.end) / self.seconds)  # empty, wholly before now
            if idle > 1:  # one object for the run: memory follows packets, not time
                closed.append(Interval(current.end, self.seconds, repeat=idle))
                current = Interval(current.end + self.seconds * idle, self.seconds)
            else:
                current = Interval(current.end, self.seconds)
        self.current = current
        return closed

    def finish(self) -> list[Interval]:
        """Close the interval in progress (the stream has ended)."""
        last, self.current = self.current, None
        return [last] if last is not None else []

    @staticmethod
    def _count(iv: Interval, pkt: Packet) -> None:
        iv.packets += 1
        iv.bytes += pkt.length
        proto = pkt.proto
        if proto <= 0:
            if proto == 0:
                iv.arp.append(pkt)
            return
        src, dst = pkt.src, pkt.dst
        iv.talkers[src] += 1
        iv.talker_bytes[src] += pkt.length
        if proto == TCP:
            iv.tcp += 1
            flags = pkt.flags & 0x3F
            if flags in _PROBE_FLAGS:
                iv.probes[src].add((dst, TCP, pkt.dport))
                if flags == SYN:
                    iv.syn += 1
                    iv.syn_sources[src] += 1
                    iv.syn_targets[dst] += 1
                    iv.opening.add((src, pkt.sport, dst, pkt.dport))
            elif flags & (SYN | ACK) == SYN | ACK:
                iv.synack += 1
                iv.answered[dst] += 1
            elif iv.opening and (src, pkt.sport, dst, pkt.dport) in iv.opening:
                iv.opening.discard((src, pkt.sport, dst, pkt.dport))  # the handshake's last ACK
                iv.completed += 1
        elif proto == UDP:
            if pkt.sport in AMPLIFIER_PORTS and pkt.sport != pkt.dport:
                iv.reflected_in[dst] += pkt.length
                iv.reflectors[dst].add(src)
            elif pkt.dport in AMPLIFIER_PORTS:
                iv.reflected_out[src] += pkt.length
        elif proto == ICMP:
            if pkt.sport == _ECHO_REPLY:
                iv.reflected_in[dst] += pkt.length
                iv.reflectors[dst].add(src)
            elif pkt.sport == _ECHO_REQUEST:
                iv.reflected_out[src] += pkt.length
            elif pkt.sport == _UNREACHABLE and pkt.dport == _PORT_UNREACHABLE and pkt.quoted:
                target, qproto, qport = pkt.quoted
                if qproto == UDP:  # a UDP probe found a closed port: the prober is `dst`
                    iv.probes[dst].add((target, UDP, qport))


def count(intervals: Iterable[Interval]) -> int:
    """How many intervals these stand for (an idle run counts each interval it spans)."""
    return sum(iv.repeat for iv in intervals)
