"""`sdn-shadow synth`: synthetic users on a lab network's hosts driving a real service.

The service runs on a primary host of the network (`--target
http://HOST:PORT/` starts an HTTP server there serving one page of
`--page-bytes`; `iperf3://HOST:PORT` one `iperf3 -s` per user on PORT, PORT+1,
...). N user processes (`python -m sdn_shadow.analytics.synth_user`) run on
the other primary hosts (or `--from`), round-robin, each sending its share
of one Poisson schedule of the pattern from a common start time. Their
traffic crosses the primary like any client's, so the controller's demand
series and forecasts see it; with mirror sessions the shadow gets copies.

Hosts are Mininet hosts on this machine, found by their `mininet:NAME`
shells, and processes enter their namespaces with `nsenter`. Everything the
command starts is stopped by pid when it ends, also on Ctrl-C.
"""

from __future__ import annotations

import argparse
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sdn_shadow.analytics.command import emit
from sdn_shadow.analytics.lab_target import lab_network
from sdn_shadow.analytics.synth_pattern import PATTERNS, parse_pattern
from sdn_shadow.analytics.synth_report import build_report, format_report, load_records
from sdn_shadow.config.model import Network
from sdn_shadow.lab_check import MININET, require_lab
from sdn_shadow.usage import UsageError

EXIT_OK, EXIT_USAGE = 0, 2
LEAD = 2.0  # seconds between starting the users and their common t=0
SERVER_WAIT = 5.0  # seconds a service gets to start listening


def _in_host(pid: int, command: list[str], **popen: Any) -> subprocess.Popen:
    """Start `command` in the network namespace of process `pid`."""
    return subprocess.Popen(["nsenter", f"--net=/proc/{pid}/ns/net", "--", *command], **popen)


def _stop(procs: list[subprocess.Popen]) -> None:
    """Stop the processes this command started (SIGTERM, then SIGKILL after 5 s)."""
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 5
    for proc in procs:
        try:
            proc.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _wait_listening(pid: int, port: int, proc: subprocess.Popen, what: str) -> None:
    """Wait until something listens on TCP or UDP `port` in the host (UsageError if not)."""
    deadline = time.monotonic() + SERVER_WAIT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise UsageError(f"{what} exited with status {proc.returncode} before listening")
        out = subprocess.run(["nsenter", f"--net=/proc/{pid}/ns/net", "--", "ss", "-Hlntu",
                              f"sport = :{port}"], capture_output=True, text=True).stdout
        if out.strip():
            return
        time.sleep(0.05)
    raise UsageError(f"{what} did not listen on port {port} within {SERVER_WAIT:g} s")


def _plan(net: Network, target: str, sources: list[str] | None, users: int
          ) -> tuple[str, str, int, list[str]]:
    """(scheme, target host, port, a host per user) from the arguments."""
    url = urlsplit(target)
    hosts = {h.name: h for h in net.hosts}
    if url.scheme not in ("http", "iperf3") or url.hostname not in hosts:
        raise UsageError(f"--target {target!r}: need http://HOST:PORT/ or iperf3://HOST:PORT "
                         f"with HOST a primary host of {net.name} ({', '.join(hosts)})")
    port = url.port or (80 if url.scheme == "http" else 5201)
    pool = sources or [h for h in hosts if h != url.hostname]
    for name in pool:
        if name not in hosts or name == url.hostname:
            raise UsageError(f"--from {name}: not another primary host of {net.name}")
    if not pool:
        raise UsageError(f"{net.name} has no other host to run users on")
    return url.scheme, url.hostname, port, [pool[i % len(pool)] for i in range(users)]


def synth_command(args: argparse.Namespace) -> int:
    """Run `sdn-shadow synth`; 0 when the users ran their schedules, 2 on bad input."""
    from sdn_shadow.netns import mininet_host_pid

    err = sys.stderr
    refused = require_lab("synth", err, (MININET,))
    if refused is not None:
        return refused
    try:
        _, net = lab_network(args.config, args.network)
        if args.users < 1 or args.peak <= 0 or args.duration <= 0:
            raise UsageError("--users must be >= 1, --peak and --duration > 0")
        pattern = parse_pattern(args.pattern, args.peak, args.duration, seed=args.seed)
        scheme, server, port, placement = _plan(
            net, args.target, args.source.split(",") if args.source else None, args.users)
        pids = {name: mininet_host_pid(name) for name in {server, *placement}}
        missing = sorted(n for n, pid in pids.items() if pid is None)
        if missing:
            raise UsageError(f"no Mininet host {', '.join(missing)} is running here")
        if scheme == "iperf3" and shutil.which("iperf3") is None:
            raise UsageError("iperf3 is not installed")
        if shutil.which("nsenter") is None:
            raise UsageError("nsenter (util-linux) is not installed")
    except UsageError as problem:
        print(f"sdn-shadow synth: {problem}", file=err)
        return EXIT_USAGE
    ip = str(net.host(server).ip)
    with tempfile.TemporaryDirectory(prefix="sdn-shadow-synth-") as work:
        servers: list[subprocess.Popen] = []
        users: list[subprocess.Popen] = []
        try:
            targets = _start_services(scheme, pids[server], ip, port, args, Path(work), servers)
            start_at = time.time() + LEAD
            print(f"synth: {args.users} users on {', '.join(sorted(set(placement)))} -> "
                  f"{args.target} ({ip}), {args.pattern} peak {args.peak:g}/s for "
                  f"{args.duration:g} s", file=err)
            for i, host in enumerate(placement):
                out = Path(work) / f"user{i}.jsonl"
                users.append(_in_host(pids[host], [
                    sys.executable, "-m", "sdn_shadow.analytics.synth_user",
                    "--target", targets[i % len(targets)], "--pattern", args.pattern,
                    "--peak", str(args.peak), "--duration", str(args.duration),
                    "--seed", str(args.seed), "--user", str(i), "--users", str(args.users),
                    "--start-at", repr(start_at), "--timeout", str(args.timeout),
                    "--out", str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                    text=True))
            failed = _wait_users(users, start_at + args.duration, err)
            if failed:
                print(f"sdn-shadow synth: {failed}", file=err)
                return EXIT_USAGE
        except UsageError as problem:
            print(f"sdn-shadow synth: {problem}", file=err)
            return EXIT_USAGE
        finally:
            _stop(users + servers)
        records = load_records(sorted(Path(work).glob("user*.jsonl")))
    report = build_report(records, pattern if scheme == "http" else None, args.bin)
    data = {"network": net.name, "target": args.target, "users": args.users,
            "hosts": placement, "pattern": args.pattern, "peak": args.peak,
            "duration": args.duration, "start_at": start_at, **report.to_json()}
    return emit("synth", data, lambda: format_report(report), args.json, sys.stdout, err)


def _start_services(scheme: str, pid: int, ip: str, port: int, args: argparse.Namespace,
                    work: Path, started: list[subprocess.Popen]) -> list[str]:
    """Start the service on the target host; the URL each user is given."""
    if scheme == "http":
        root = work / "www"
        root.mkdir()
        (root / "index.html").write_bytes(b"x" * args.page_bytes)
        proc = _in_host(pid, [sys.executable, "-m", "http.server", str(port), "--bind", ip,
                              "--directory", str(root)], stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL)
        started.append(proc)
        _wait_listening(pid, port, proc, "the HTTP server")
        return [f"http://{ip}:{port}/"]
    urls = []
    for i in range(args.users):  # iperf3 serves one test at a time: a server per user
        proc = _in_host(pid, ["iperf3", "-s", "-B", ip, "-p", str(port + i)],
                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        started.append(proc)
        _wait_listening(pid, port + i, proc, f"iperf3 on port {port + i}")
        urls.append(f"iperf3://{ip}:{port + i}")
    return urls


def _wait_users(users: list[subprocess.Popen], end: float, err) -> str | None:
    """Wait for every user (progress every 5 s); a problem line if one failed to run."""
    next_line = time.time() + 5
    while any(u.poll() is None for u in users):
        if time.time() >= next_line:
            left = max(0.0, end - time.time())
            print(f"synth: {sum(u.poll() is None for u in users)} users running, "
                  f"{left:.0f} s of schedule left", file=err)
            next_line = time.time() + 5
        time.sleep(0.1)
    bad = [(i, u) for i, u in enumerate(users) if u.returncode not in (0, 1)]
    if bad:
        i, user = bad[0]
        return f"user {i} failed (exit {user.returncode}): {user.stderr.read().strip()}"
    return None


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the `synth` subcommand."""
    synth = subparsers.add_parser(
        "synth", help="synthetic users on lab hosts driving a real service",
        description=__doc__.split("\n\n", 1)[1] if __doc__ else None,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    synth.add_argument("--config", required=True, help="the controller's YAML config")
    synth.add_argument("--network", required=True, help="the network (by name in --config)")
    synth.add_argument("--users", type=int, required=True, help="how many user processes")
    synth.add_argument("--pattern", required=True, choices=list(PATTERNS))
    synth.add_argument("--duration", type=float, required=True, help="seconds")
    synth.add_argument("--peak", type=float, default=50.0,
                       help="peak requests/s of all users together (default 50)")
    synth.add_argument("--target", required=True,
                       help="http://HOST:PORT/ or iperf3://HOST:PORT, HOST a primary host")
    synth.add_argument("--from", dest="source", metavar="HOSTS",
                       help="comma-separated hosts for the users (default: every other "
                            "primary host)")
    synth.add_argument("--seed", type=int, default=0, help="seed of the schedule")
    synth.add_argument("--timeout", type=float, default=5.0, help="seconds per request")
    synth.add_argument("--page-bytes", type=int, default=10_000,
                       help="HTTP: size of the page served (default 10000)")
    synth.add_argument("--bin", type=float, default=1.0,
                       help="seconds per bin of the achieved-vs-expected table")
    synth.add_argument("--json", metavar="OUT", help="also write the report as JSON here "
                       "('-': JSON on stdout instead)")
    synth.set_defaults(func=synth_command)
    return synth
