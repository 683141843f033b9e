"""`sdn-shadow analyze` (alerts of a capture) and `sdn-shadow profile` (an emulated VM's size)."""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from sdn_shadow.analytics.capture_file import CaptureError
from sdn_shadow.usage import UsageError

EXIT_OK, EXIT_USAGE = 0, 2


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add `analyze` to an argparse subparsers object."""
    parser = subparsers.add_parser(
        "analyze", help="find attacks and anomalies in a pcap or pcapng file",
        description="Cut the capture into intervals and report port scans, SYN floods, "
                    "amplification, ARP spoofing and volume anomalies. Volume is judged "
                    "against the --baseline captures (known-normal traffic) or, without "
                    "them, against the capture's own past (each interval against a rolling "
                    "median of the intervals before it). Malformed packets are counted and "
                    "skipped; a capture cut off at the end is read up to the cut. Times are "
                    "seconds since the capture's first packet.")
    parser.add_argument("pcap", metavar="PCAP", help="pcap or pcapng file")
    parser.add_argument("--baseline", action="append", default=[], metavar="PCAP",
                        help="capture of normal traffic to learn the baseline from (repeatable)")
    parser.add_argument("--interval", default="1", metavar="SECONDS",
                        help="length of an interval (default 1)")
    parser.add_argument("--json", metavar="OUT",
                        help="also write the results as JSON here ('-': JSON on stdout "
                             "instead of the table)")
    parser.set_defaults(func=run)
    profile = subparsers.add_parser(
        "profile", help="size a VM from the traffic a capture sends to its address",
        description="Emulate the VM that would hold --address: cut the traffic to and from it "
                    "into intervals, forecast its drivers (bits, packets, new and active "
                    "connections) and map them through the documented cost model to CPU "
                    "cores, memory, bandwidth and storage, each with its interval, and the "
                    "size to provision.")
    profile.add_argument("pcap", metavar="PCAP", help="pcap or pcapng file")
    profile.add_argument("--address", required=True, metavar="IP",
                         help="the address the VM would have")
    profile.add_argument("--interval", default="1", metavar="SECONDS",
                         help="length of an interval (default 1)")
    profile.add_argument("--level", default="0.9", help="interval level (default 0.9)")
    profile.add_argument("--json", metavar="OUT", help="also write the profile as JSON here "
                         "('-': JSON on stdout instead of the table)")
    profile.set_defaults(func=run_profile)
    return parser


def run_profile(args: argparse.Namespace) -> int:
    """Entry point of `profile` used by the CLI."""
    return profile_command(args.pcap, args.address, args.interval, args.level, args.json,
                           sys.stdout, sys.stderr)


def profile_command(pcap: str, address: str, interval: str, level: str, json_out: str | None,
                    out: TextIO, err: TextIO) -> int:
    """Print (or write) the resource profile of an emulated VM at `address`; 2 on bad input."""
    from sdn_shadow.analytics.emulated_vm import EmulatedVM
    from sdn_shadow.analytics.vm_load import load_samples
    from sdn_shadow.forecast.command import fraction

    try:
        share = fraction("--level", level)
        samples = load_samples(pcap, address, _seconds(interval))
        vm = EmulatedVM(level=share).fit(samples)
    except (UsageError, CaptureError) as problem:
        print(f"sdn-shadow profile: {problem}", file=err)
        return EXIT_USAGE
    data = {"address": address, "samples": vm.n_samples_, "method": vm.method_,
            **vm.profile().to_dict()}
    return emit("profile", data, lambda: format_profile(pcap, data), json_out, out, err)


def format_profile(pcap: str, data: dict) -> str:
    """A profile as a table: each resource's value, interval and provisioned size."""
    how = ("forecast by the SlidingWindowForecaster" if data["method"] == "forecaster"
           else "empirical quantiles (too few samples to forecast)")
    lines = [f"{pcap}: emulated VM at {data['address']}, {data['samples']} samples, {how}",
             f"{data['level']:.0%} intervals, {data['horizon_seconds']:g} s ahead",
             f"{'RESOURCE':<16}{'VALUE':>12}{'LOWER':>12}{'UPPER':>12}{'PROVISION':>12}"]
    for name in ("cpu_cores", "memory_gb", "bandwidth_mbps", "storage_gb", "latency_ms",
                 "connection_rate"):
        e = data[name]
        size = data["provisioned"].get(name)
        lines.append(f"{name:<16}{e['value']:>12.3f}{e['lower']:>12.3f}{e['upper']:>12.3f}"
                     f"{'' if size is None else format(size, 'g'):>12}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """Entry point used by the CLI."""
    return analyze_command(args.pcap, args.baseline, args.interval, args.json,
                           sys.stdout, sys.stderr)


def analyze_command(pcap: str, baselines: list[str], interval: str, json_out: str | None,
                    out: TextIO, err: TextIO) -> int:
    """Analyze `pcap`; 0 when it was read (alerts or not), 2 on bad input."""
    try:
        seconds = _seconds(interval)
        from sdn_shadow.analytics.analyze import analyze  # numpy, scikit-learn: only here

        analysis = analyze(pcap, baselines, seconds,
                           progress=lambda line: print(f"analyze: {line}", file=err, flush=True))
    except (UsageError, CaptureError) as problem:
        print(f"sdn-shadow analyze: {problem}", file=err)
        return EXIT_USAGE
    return emit("analyze", analysis.to_json(), lambda: _format(analysis), json_out, out,
                 err)


def emit(command: str, data: dict, table: Callable[[], str], json_out: str | None,
          out: TextIO, err: TextIO) -> int:
    """Print the table (or JSON with `--json -`), and write JSON to `--json OUT`."""
    if json_out == "-":
        print(json.dumps(data, indent=2), file=out)
        return EXIT_OK
    print(table(), file=out)
    if json_out is not None:
        try:
            Path(json_out).write_text(json.dumps(data, indent=2) + "\n")
        except OSError as problem:
            print(f"sdn-shadow {command}: {json_out}: cannot write ({problem.strerror})",
                  file=err)
            return EXIT_USAGE
    return EXIT_OK


def _seconds(text: str) -> float:
    """A positive finite number of seconds from --interval."""
    try:
        value = float(text)
    except ValueError:
        raise UsageError(f"--interval: {text!r} is not a number of seconds") from None
    if not (value > 0 and math.isfinite(value)):
        raise UsageError(f"--interval: must be a positive number of seconds, not {text}")
    return value


def _format(analysis: Any) -> str:
    from sdn_shadow.analytics.analyze import format_report

    return format_report(analysis)
