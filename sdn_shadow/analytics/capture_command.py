"""`sdn-shadow capture`: what a shadow host receives (the mirror's copies) to rotating pcaps.

It reads the frames the shadow host's switch port sends (the same window
the controller's watch uses: an AF_PACKET socket with an outgoing-only
filter, on the machine of the switch) and writes classic pcap files
PREFIX-YYYYmmddTHHMMSS-NNNN.pcap into --out, rotating by size and capture
time and keeping the newest --max-files. It stops after --duration, or on
Ctrl-C / SIGTERM, and prints what it wrote.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
from typing import Any

from sdn_shadow.analytics.lab_target import lab_network, shadow_host, switch_interface
from sdn_shadow.analytics.pcap_out import RotatingPcapWriter
from sdn_shadow.lab_check import OVS, require_lab
from sdn_shadow.usage import UsageError

EXIT_OK, EXIT_USAGE = 0, 2
PROGRESS_EVERY = 5.0


def capture_command(args: argparse.Namespace) -> int:
    """Run `sdn-shadow capture`; 0 when it ran, 2 on bad input or an unreadable port."""
    from sdn_shadow.sniffer import PortSniffer

    err = sys.stderr
    refused = require_lab("capture", err, (OVS,))
    if refused is not None:
        return refused
    try:
        config, net = lab_network(args.config, args.network)
        twin = shadow_host(net, args.to)
        interface = switch_interface(config, twin)
        writer = RotatingPcapWriter(args.out, args.prefix or twin.name, args.max_bytes,
                                    args.max_seconds, args.max_files, snaplen=args.snap)
    except (UsageError, ValueError, OSError) as problem:
        print(f"sdn-shadow capture: {problem}", file=err)
        return EXIT_USAGE
    counts = {"frames": 0, "bytes": 0}
    lock = threading.Lock()

    def take(frames: list, lost: int) -> None:  # lost: counted by the sniffer, told at the end
        with lock:
            for when, data, length in frames:
                writer.write(when, data, length)
                counts["frames"] += 1
                counts["bytes"] += length

    stop = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    sniffer = PortSniffer(interface, take, snap=args.snap)
    try:
        sniffer.start()
    except OSError as problem:
        signal.signal(signal.SIGTERM, previous)
        print(f"sdn-shadow capture: {interface}: {problem}", file=err)
        return EXIT_USAGE
    print(f"capturing what {twin.name} receives on {interface} into {args.out}", file=err)
    started = time.monotonic()
    try:
        while not stop.is_set():
            left = args.duration - (time.monotonic() - started) if args.duration else None
            if left is not None and left <= 0:
                break
            if not stop.wait(PROGRESS_EVERY if left is None else min(PROGRESS_EVERY, left)):
                dropped = f", {sniffer.drops:,} dropped by the kernel" if sniffer.drops else ""
                print(f"capture: {counts['frames']:,} frames so far{dropped}", file=err)
    except KeyboardInterrupt:
        pass
    finally:
        sniffer.stop()
        signal.signal(signal.SIGTERM, previous)
        with lock:
            writer.close()
    files = [p.name for p in writer.files]
    print(f"captured {counts['frames']:,} frames ({counts['bytes']:,} bytes) of what "
          f"{twin.name} received in {time.monotonic() - started:.1f} s; kernel drops "
          f"{sniffer.drops}; files in {args.out}: {', '.join(files) or '-'}")
    return EXIT_OK


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the `capture` subcommand."""
    cap = subparsers.add_parser("capture", help="capture a shadow host's copies to rotating "
                                "pcap files", description=__doc__.split("\n\n", 1)[1])
    cap.add_argument("--config", required=True, help="the controller's YAML config")
    cap.add_argument("--network", required=True)
    cap.add_argument("--to", required=True, metavar="HOST", help="the shadow host")
    cap.add_argument("--out", required=True, metavar="DIR", help="directory for the files")
    cap.add_argument("--prefix", help="file name start (default: the shadow host's name)")
    cap.add_argument("--duration", type=float, default=0.0,
                     help="seconds to capture (default: until Ctrl-C / SIGTERM)")
    cap.add_argument("--max-bytes", type=int, default=64 << 20, help="bytes per file")
    cap.add_argument("--max-seconds", type=float, default=3600.0,
                     help="capture seconds per file")
    cap.add_argument("--max-files", type=int, default=10, help="files kept (oldest go)")
    cap.add_argument("--snap", type=int, default=65535, help="bytes kept of each frame")
    cap.set_defaults(func=capture_command)
    return cap
