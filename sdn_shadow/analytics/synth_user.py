"""One synthetic user: send requests to a service at scheduled times (open loop), record each."""

from __future__ import annotations

import argparse
import asyncio
import errno
import json
import math
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any, NoReturn, TextIO
from urllib.parse import urlsplit

import numpy as np

from sdn_shadow.analytics.synth_pattern import PATTERNS, parse_pattern, schedule_array
from sdn_shadow.analytics.synth_report import summarize
from sdn_shadow.usage import UsageError

EXIT_OK, EXIT_INTERRUPTED, EXIT_USAGE = 0, 1, 2
MIN_BPS = 1000  # iperf3 reads -b 0 as "unlimited": slower segments are skipped, not sent
_ERRNO_KIND = {errno.ECONNREFUSED: "refused", errno.ECONNRESET: "reset",
               errno.EHOSTUNREACH: "unreachable", errno.ENETUNREACH: "unreachable",
               errno.ETIMEDOUT: "timeout", errno.EPIPE: "reset"}
Emit = Callable[[dict[str, Any]], None]


class _Parser(argparse.ArgumentParser):
    """An argparse parser whose errors are one line and exit 2."""

    def error(self, message: str) -> NoReturn:
        """Print `synth_user: message` and exit 2."""
        self.exit(EXIT_USAGE, f"{self.prog}: {message}\n")


def _number(low: float, strict: bool) -> Callable[[str], float]:
    """An argparse type: a finite float > low (or >= low)."""
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not math.isfinite(value) or value < low or (strict and value == low):
            raise argparse.ArgumentTypeError(f"must be {'>' if strict else '>='} {low:g}, "
                                             f"not {text}")
        return value
    return parse


def build_parser() -> argparse.ArgumentParser:
    """The command line of one user process."""
    p = _Parser(prog="synth_user", description="Send requests to --target at scheduled times "
                "(open loop, a new TCP connection per request) and write one JSON line per "
                "request, then a JSON summary line on stdout.")
    p.add_argument("--target", required=True,
                   help="http://HOST:PORT/PATH, or iperf3://HOST:PORT (UDP segments)")
    p.add_argument("--times-file", metavar="FILE", help="JSON list of send times (s from start)")
    p.add_argument("--pattern", help=f"compute the schedule: {', '.join(PATTERNS)}")
    p.add_argument("--peak", type=_number(0, False), help="peak requests/s of ALL users together")
    p.add_argument("--duration", type=_number(0, True), help="seconds")
    p.add_argument("--seed", type=int, default=0, help="seed of the schedule and the bursts")
    p.add_argument("--user", type=int, default=0, help="this user's index, 0..users-1")
    p.add_argument("--users", type=int, default=1, help="how many users share the pattern")
    p.add_argument("--start-at", type=_number(0, True), metavar="EPOCH",
                   help="wall-clock time (time.time()) that is t=0 (default: now)")
    p.add_argument("--timeout", type=_number(0, True), default=5.0,
                   help="seconds for one request, connect included (default 5)")
    p.add_argument("--out", default="-", help="JSON lines of records ('-': stdout, the default)")
    p.add_argument("--step", type=int, default=1, help="iperf3: whole seconds per segment")
    p.add_argument("--bytes-per-request", type=int, default=1000,
                   help="iperf3: UDP datagram size; bitrate = rate x this x 8 (default 1000)")
    return p


async def _fetch(host: str, port: int, request: bytes) -> tuple[int, int]:
    """(status, body bytes) of one request on a new connection; raises on network errors."""
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(request)
        await writer.drain()
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        status = int(head[0].split()[1])
        length = next((int(h.split(":", 1)[1]) for h in head[1:]
                       if h.lower().startswith("content-length:")), None)
        body = await (reader.read() if length is None else reader.readexactly(length))
        return status, len(body)
    finally:
        writer.close()


def _kind(problem: Exception) -> str:
    """A short error kind for a failed request."""
    if isinstance(problem, TimeoutError):
        return "timeout"
    if isinstance(problem, asyncio.IncompleteReadError):
        return "closed"
    if isinstance(problem, OSError):
        name = errno.errorcode.get(problem.errno or 0, "os_error").lower()
        return _ERRNO_KIND.get(problem.errno, name)
    return "bad_response"


async def _http(target: str, times: Sequence[float], start_at: float, timeout: float,
                user: int, emit: Emit) -> None:
    """Send one GET per time, each on its own task, so slow responses never delay the next."""
    url = urlsplit(target)
    host, port = url.hostname or "", url.port or 80
    path = (url.path or "/") + (f"?{url.query}" if url.query else "")
    request = (f"GET {path} HTTP/1.1\r\nHost: {url.netloc}\r\nUser-Agent: sdn-shadow-synth\r\n"
               f"X-Synth-User: {user}\r\nConnection: close\r\n\r\n").encode()
    loop = asyncio.get_running_loop()
    # SIGTERM cancels this task (and asyncio.run then cancels the requests in flight):
    # a KeyboardInterrupt raised inside a request's task would escape as a traceback.
    loop.add_signal_handler(signal.SIGTERM, asyncio.current_task().cancel)
    zero = loop.time() + (start_at - time.time())

    async def one(t: float) -> None:
        began = loop.time()
        status, error, size, latency = None, None, 0, None
        try:
            async with asyncio.timeout(timeout):
                status, size = await _fetch(host, port, request)
            latency = round((loop.time() - began) * 1000, 3)
            error = "http_5xx" if status >= 500 else None
        except Exception as problem:  # a user never dies of what the network or server does
            error = _kind(problem)
        emit({"t": t, "sent": round(began - zero, 6), "latency_ms": latency, "status": status,
              "error": error, "bytes": size})

    tasks: set[asyncio.Task[None]] = set()
    for t in times:
        delay = zero + t - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        task = loop.create_task(one(t))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    if tasks:
        await asyncio.wait(tasks)


def _iperf3(target: str, rates: Sequence[float], step: int, size: int, start_at: float,
            timeout: float, emit: Emit) -> None:
    """Run one `iperf3 -u` segment of `step` s per rate (requests/s x size x 8 bit/s)."""
    url = urlsplit(target)
    exe, zero = shutil.which("iperf3") or "iperf3", time.monotonic() + start_at - time.time()
    for k, per_second in enumerate(rates):
        delay = zero + k * step - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        bps = int(per_second * size * 8)
        record = {"t": k * step, "sent": round(time.monotonic() - zero, 6), "latency_ms": None,
                  "status": None, "error": None, "bytes": 0, "seconds": step, "target_bps": bps}
        if bps >= MIN_BPS:
            command = [exe, "-c", url.hostname or "", "-p", str(url.port or 5201), "-u",
                       "-b", str(bps), "-l", str(size), "-t", str(step), "--json",
                       "--connect-timeout", str(int(timeout * 1000))]
            try:
                done = subprocess.run(command, capture_output=True, text=True,
                                      timeout=step + 2 * timeout)
                data = json.loads(done.stdout)
                record["status"] = done.returncode
                if "error" in data:
                    record["error"] = f"iperf3: {data['error']}"
                else:
                    sent, got = data["end"]["sum_sent"], data["end"]["sum_received"]
                    record.update(bytes=sent["bytes"], bps=round(got["bits_per_second"]),
                                  lost_percent=data["end"]["sum"].get("lost_percent"))
            except subprocess.TimeoutExpired:
                record["error"] = "timeout"
            except (ValueError, KeyError, TypeError):
                record["error"] = "iperf3: unreadable output"
        emit(record)


def _times(args: argparse.Namespace) -> tuple[list[float], list[float] | None]:
    """This user's send times, and (iperf3 from a pattern) its expected rate per step."""
    if (args.times_file is None) == (args.pattern is None):
        raise UsageError("give either --times-file or --pattern (with --peak and --duration)")
    if not 0 <= args.user < args.users:
        raise UsageError(f"--user must be in 0..{args.users - 1} (got {args.user})")
    if args.step < 1 or not 1 <= args.bytes_per_request <= 65000:
        raise UsageError("--step must be >= 1 and --bytes-per-request in 1..65000")
    if args.times_file is not None:
        try:
            with open(args.times_file) as handle:
                times = json.load(handle)
        except (OSError, ValueError) as problem:
            raise UsageError(f"--times-file {args.times_file}: {problem}") from None
        if not isinstance(times, list) or not all(
                isinstance(t, int | float) and not isinstance(t, bool) and 0 <= t < math.inf
                for t in times):
            raise UsageError(f"--times-file {args.times_file}: not a JSON list of times >= 0")
        return sorted(float(t) for t in times), None
    if args.peak is None or args.duration is None:
        raise UsageError("--pattern needs --peak and --duration")
    pattern = parse_pattern(args.pattern, args.peak, args.duration, seed=args.seed)
    mine = schedule_array(pattern, args.seed)[args.user::args.users].tolist()  # = split()
    return mine, (pattern.expected_counts(args.step) / args.step / args.users).tolist()


def main(argv: Sequence[str] | None = None, stdout: TextIO | None = None) -> int:
    """Run one user; 0 when its schedule ran (errors or not), 1 if interrupted, 2 on bad use."""
    stdout = stdout or sys.stdout
    args = build_parser().parse_args(argv)
    url = urlsplit(args.target)
    start_at = time.time() if args.start_at is None else args.start_at
    try:
        if url.scheme not in ("http", "iperf3") or not url.hostname or url.port == 0:
            raise UsageError(f"--target {args.target!r}: need http://HOST:PORT/PATH "
                             "or iperf3://HOST:PORT")
        if url.scheme == "iperf3" and shutil.which("iperf3") is None:
            raise UsageError("--target iperf3://...: iperf3 is not installed")
        if start_at > time.time() + 86400:
            raise UsageError(f"--start-at {start_at:.0f} is over a day ahead (milliseconds?)")
        times, rates = _times(args)
        out = stdout if args.out == "-" else open(args.out, "w", buffering=1)  # noqa: SIM115
    except (UsageError, ValueError, OSError) as problem:
        print(f"synth_user: {problem}", file=sys.stderr)
        return EXIT_USAGE
    records: list[dict[str, Any]] = []

    def emit(record: dict[str, Any]) -> None:
        records.append(record)
        print(json.dumps(record), file=out, flush=out is stdout)

    # stop like Ctrl-C (the HTTP loop installs its own SIGTERM handler while it runs)
    previous = signal.signal(signal.SIGTERM, signal.default_int_handler)
    complete = True
    try:
        if url.scheme == "http":
            asyncio.run(_http(args.target, times, start_at, args.timeout, args.user, emit))
        else:
            if rates is None:  # from a times file: this user's own count per step
                rates = (np.bincount(np.floor(np.array(times) / args.step).astype(int))
                         / args.step).tolist()
            _iperf3(args.target, rates, args.step, args.bytes_per_request, start_at,
                    args.timeout, emit)
    except (KeyboardInterrupt, asyncio.CancelledError):
        complete = False
    finally:
        signal.signal(signal.SIGTERM, previous)
        if out is not stdout:
            out.close()
    summary = {"user": args.user, "users": args.users, "target": args.target,
               "scheduled": len(times) if url.scheme == "http" else len(rates or []),
               "complete": complete, **summarize(records)}
    print(json.dumps({"summary": summary}), file=stdout, flush=True)
    return EXIT_OK if complete else EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
