"""`sdn-shadow replay PCAP --network NAME`: a capture sent into a shadow (or a primary) host.

Into the shadow (the default) the frames are sent out of the switch port of
one shadow host (`--to`, default the network's first), from the
controller's machine: they reach that host as the mirror's copies do and
never enter the switch, so nothing reaches the primary (what the shadow
host answers is dropped by its receive-only port). The controller's watch
on that port judges them like any copy.

`--from HOST` sends them instead from inside a primary host's namespace (a
Mininet lab host, found by its `mininet:HOST` shell) to `--to` (a primary
host, default the next one): the primary carries them like HOST's own
traffic and its mirror sessions copy them; that is how an attack is
rehearsed against the controller's response.

Addresses are rewritten into the network's CIDR (or `--rewrite-net`): the
capture's busiest destination becomes the target's address (with
`--from`, its busiest source becomes HOST's), the others fresh addresses
that no host of the network uses; checksums are fixed. Frames the target
receives are counted in its namespace by a socket that takes only
replayed source MACs (02:53:48:...), so the report says sent and seen.
"""

from __future__ import annotations

import argparse
import socket
import struct
import sys
import time
from dataclasses import dataclass
from typing import Any

from sdn_shadow.analytics.capture_file import CaptureError
from sdn_shadow.analytics.command import emit
from sdn_shadow.analytics.lab_target import lab_network, shadow_host, switch_interface
from sdn_shadow.analytics.replay import REPLAY_OUI, busiest, prepare, send_prepared
from sdn_shadow.analytics.rewrite import AddressError, AddressMap
from sdn_shadow.config.model import Config, Network
from sdn_shadow.lab_check import require_lab
from sdn_shadow.usage import UsageError

EXIT_INVALID = 2
SOL_PACKET, PACKET_STATISTICS, ETH_P_ALL = 263, 6, 0x0003
DRAIN = 0.5  # seconds to wait for the last frames to arrive before counting


class ReplayError(Exception):
    """A replay that cannot start; the message says why."""


def received_from(source_mac: bytes, snap: int = 64) -> list[tuple[int, int, int, int]]:
    """BPF: frames an interface receives whose source MAC starts with `source_mac`."""
    from sdn_shadow.sniffer import PACKET_OUTGOING, SKF_AD_PKTTYPE

    loads = {4: (0x20, "!I"), 2: (0x28, "!H"), 1: (0x30, "!B")}  # ld word, half, byte [k]
    chunks, pos = [], 0
    while pos < len(source_mac):
        size = next(n for n in (4, 2, 1) if pos + n <= len(source_mac))
        code, fmt = loads[size]
        chunks.append((code, 6 + pos, struct.unpack(fmt, source_mac[pos:pos + size])[0]))
        pos += size
    n = len(chunks)
    program = [(0x20, 0, 0, SKF_AD_PKTTYPE), (0x15, 2 * n + 1, 0, PACKET_OUTGOING)]
    for i, (code, offset, value) in enumerate(chunks):  # each mismatch jumps to the drop
        program += [(code, 0, 0, offset), (0x15, 0, 2 * (n - i - 1) + 1, value)]
    return [*program, (0x06, 0, 0, snap), (0x06, 0, 0, 0)]


def _packet_socket(interface: str | None, program=None) -> socket.socket:
    """A packet socket on `interface` (None: the namespace's one non-loopback interface)."""
    if interface is None:
        names = [n for _, n in socket.if_nameindex() if n != "lo"]
        if len(names) != 1:
            raise ReplayError(f"expected one interface besides lo, found {names}")
        interface = names[0]
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
    if program is not None:
        from sdn_shadow.sniffer import attach_filter

        attach_filter(sock, program)
    sock.bind((interface, ETH_P_ALL if program is not None else 0))
    return sock


def _counted(sock: socket.socket) -> int:
    """Frames that passed the socket's filter since the last call (queued or dropped)."""
    packets, _ = struct.unpack("II", sock.getsockopt(SOL_PACKET, PACKET_STATISTICS, 8))
    return packets


@dataclass
class Ends:
    """Where the frames leave and whom they are for."""

    target_ip: str
    target_mac: str
    target_ns: str  # the Mininet host whose namespace counts what arrives
    sender: str  # for the report
    pins: dict[str, str]
    source_mac: str | None = None  # every frame's, when the sender is a host


def _ends(config: Config, net: Network, pcap: str, source: str | None, to: str | None,
          ) -> tuple[Ends, Any]:
    """The replay's ends, and a function opening the sending socket."""
    from sdn_shadow import netns

    top_destination = busiest(pcap)
    pins: dict[str, str] = {}
    if source is None:
        twin = shadow_host(net, to)
        interface = switch_interface(config, twin)
        if top_destination:
            pins[top_destination] = str(twin.ip)
        return (Ends(str(twin.ip), twin.mac, twin.name, f"{twin.switch} port {twin.port} "
                     f"({interface})", pins), lambda: _packet_socket(interface))
    hosts = {h.name: h for h in net.hosts}
    if source not in hosts:
        raise ReplayError(f"--from {source}: not a primary host of {net.name} (have: "
                          f"{', '.join(hosts)})")
    others = [n for n in hosts if n != source]
    target = hosts.get(to or (others[0] if others else ""))
    if target is None or target.name == source:
        raise ReplayError(f"--to {to}: not another primary host of {net.name}")
    pid = netns.mininet_host_pid(source)
    if pid is None:
        raise ReplayError(f"--from {source}: no Mininet host {source} is running here")
    top_source = busiest(pcap, "src")
    if top_source and top_source != top_destination:
        pins[top_source] = str(hosts[source].ip)
    if top_destination:
        pins[top_destination] = str(target.ip)
    return (Ends(str(target.ip), target.mac, target.name, f"{source}'s namespace", pins,
                 hosts[source].mac), lambda: netns.in_netns(pid, lambda: _packet_socket(None)))


def replay_command(args: argparse.Namespace) -> int:
    """Run `sdn-shadow replay`; exit 0 when sent, 2 on bad input or when it cannot start."""
    err = sys.stderr
    refused = require_lab("replay", err)
    if refused is not None:
        return refused
    try:
        config, net = lab_network(args.config, args.network)
        data = _replay(args, config, net, lambda line: print(line, file=err))
    except (UsageError, ReplayError, CaptureError, AddressError, ValueError, OSError) as exc:
        print(f"sdn-shadow replay: {exc}", file=err)
        return EXIT_INVALID
    return emit("replay", data, lambda: format_report(data), args.json, sys.stdout, err)


def _replay(args: argparse.Namespace, config: Config, net: Network, say) -> dict:
    from sdn_shadow import netns

    ends, open_sender = _ends(config, net, args.pcap, args.source, args.to)
    exclude = {str(h.ip) for h in net.hosts}
    amap = AddressMap(args.rewrite_net or str(net.cidr), ends.pins, exclude)
    prepared = prepare(args.pcap, amap, _mac(ends.target_mac),
                       _mac(ends.source_mac) if ends.source_mac else None)
    if not prepared.frames:
        raise ReplayError(f"{args.pcap}: no IPv4 or ARP frames to replay "
                          f"({prepared.records} records)")
    sender = open_sender()
    pid = netns.mininet_host_pid(ends.target_ns)
    marker = _mac(ends.source_mac) if ends.source_mac else REPLAY_OUI
    counter = (netns.in_netns(pid, lambda: _packet_socket(None, received_from(marker)))
               if pid is not None else None)
    try:
        if counter is not None:
            _counted(counter)  # start from zero
        say(f"replaying {len(prepared.frames):,} frames x {args.loop} of {args.pcap} from "
            f"{ends.sender} to {ends.target_ns} ({ends.target_ip})")
        report = send_prepared(prepared, sender.send, args.speed, args.pps, args.loop, say)
        time.sleep(DRAIN)
        seen = _counted(counter) if counter is not None else None
    finally:
        sender.close()
        if counter is not None:
            counter.close()
    return {
        "pcap": args.pcap, "network": net.name, "from": ends.sender, "to": ends.target_ns,
        "records": prepared.records, "skipped": prepared.skipped,
        "truncated": prepared.truncated, "loops": args.loop, "sent": report.sent,
        "errors": report.errors, "first_error": report.first_error,
        "seen": seen, "seen_at": ends.target_ns if seen is not None else None,
        "started": report.started, "seconds": round(report.seconds, 3),
        "max_late": round(report.max_late, 4),
        "addresses": prepared.mapping,
    }


def _mac(text: str) -> bytes:
    return bytes.fromhex(text.replace(":", ""))


def format_report(data: dict) -> str:
    """The replay report as a few readable lines."""
    seen = data["seen"]
    if seen is None:
        arrival = "seen: not counted (the target is not a Mininet host here)"
    else:
        share = seen / data["sent"] if data["sent"] else 0.0
        arrival = f"seen at {data['seen_at']}: {seen:,} ({share:.1%} of sent)"
    lines = [f"replayed {data['pcap']} into {data['network']}: {data['from']} -> {data['to']}",
             f"  frames: {data['records']:,} in the capture, {data['skipped']:,} skipped "
             f"(not IPv4/ARP), {data['sent']:,} sent in {data['seconds']:.2f} s "
             f"({data['loops']} loop{'s' if data['loops'] != 1 else ''}), "
             f"{data['errors']} send errors",
             f"  {arrival}"]
    mapped = [f"{a} -> {b}" for a, b in data["addresses"].items() if "." in a][:6]
    if mapped:
        lines.append(f"  addresses: {', '.join(mapped)}"
                     + (" ..." if len(data["addresses"]) > len(mapped) else ""))
    return "\n".join(lines)


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the `replay` subcommand."""
    replay = subparsers.add_parser(
        "replay", help="replay a capture into a shadow (or primary) host",
        description=__doc__.split("\n\n", 1)[1] if __doc__ else None,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    replay.add_argument("pcap", metavar="PCAP", help="pcap or pcapng file")
    replay.add_argument("--network", required=True, help="the network (by name in --config)")
    replay.add_argument("--config", required=True, help="the controller's YAML config")
    replay.add_argument("--to", metavar="HOST", help="the host the frames are for (default: "
                        "the network's first shadow host; with --from, the next primary host)")
    replay.add_argument("--from", dest="source", metavar="HOST",
                        help="send from this primary Mininet host's namespace instead, "
                             "through the primary")
    pace = replay.add_mutually_exclusive_group()
    pace.add_argument("--speed", type=float, help="capture timestamps / SPEED (default 1)")
    pace.add_argument("--pps", type=float, help="a fixed rate instead of the timestamps")
    replay.add_argument("--rewrite-net", metavar="CIDR",
                        help="map addresses into this network (default: the network's cidr)")
    replay.add_argument("--loop", type=int, default=1, help="send the capture N times")
    replay.add_argument("--json", metavar="OUT", help="also write the report as JSON here "
                        "('-': JSON on stdout instead)")
    replay.set_defaults(func=replay_command)
    return replay
