"""`sdn-shadow analyze PCAP`: anomaly alerts of a capture file as a table or JSON."""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any, TextIO

from sdn_shadow.analytics.analyze import analyze, format_report
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
                    "them, against the capture itself. Malformed packets are counted and "
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
    return parser


def run(args: argparse.Namespace) -> int:
    """Entry point used by the CLI."""
    return analyze_command(args.pcap, args.baseline, args.interval, args.json,
                           sys.stdout, sys.stderr)


def analyze_command(pcap: str, baselines: list[str], interval: str, json_out: str | None,
                    out: TextIO, err: TextIO) -> int:
    """Analyze `pcap`; 0 when it was read (alerts or not), 2 on bad input."""
    try:
        seconds = _seconds(interval)
        analysis = analyze(pcap, baselines, seconds,
                           progress=lambda line: print(f"analyze: {line}", file=err, flush=True))
    except (UsageError, CaptureError) as problem:
        print(f"sdn-shadow analyze: {problem}", file=err)
        return EXIT_USAGE
    data = analysis.to_json()
    if json_out == "-":
        print(json.dumps(data, indent=2), file=out)
        return EXIT_OK
    print(format_report(analysis), file=out)
    if json_out is not None:
        try:
            Path(json_out).write_text(json.dumps(data, indent=2) + "\n")
        except OSError as problem:
            print(f"sdn-shadow analyze: {json_out}: cannot write ({problem.strerror})", file=err)
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
