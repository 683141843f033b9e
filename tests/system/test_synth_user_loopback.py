"""Synthetic users on loopback: real user processes against real HTTP and iperf3 servers."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from sdn_shadow.analytics.synth_pattern import (
    Constant,
    bin_counts,
    parse_pattern,
    schedule,
    split,
)
from sdn_shadow.analytics.synth_report import build_report, load_records

REPO = Path(__file__).resolve().parents[2]
USER = [sys.executable, "-m", "sdn_shadow.analytics.synth_user"]
BODY = b"hello from the service\n"


class _Handler(BaseHTTPRequestHandler):
    """`/` answers 200, `/fail` 503, `/slow` 200 after 0.8 s."""

    def do_GET(self) -> None:  # noqa: N802 (the http.server name)
        if self.path == "/slow":
            time.sleep(0.8)
        status = 503 if self.path == "/fail" else 200
        self.send_response(status)
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)

    def log_message(self, *args: Any) -> None:
        """Quiet."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # a burst of connections (users catching up) must not overflow the listen backlog: the
    # kernel would drop the SYNs, and the retries a second later look like a slow server
    request_queue_size = 128


@pytest.fixture(scope="module")
def http_url() -> Iterator[str]:
    """A threading HTTP server on 127.0.0.1, shut down after the module."""
    server = _Server(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture(scope="module")
def dead_ports() -> Iterator[tuple[int, int]]:
    """(closed, silent): a bound port nobody listens on, and one that listens but never answers."""
    closed, silent = socket.socket(), socket.socket()
    try:
        closed.bind(("127.0.0.1", 0))  # held, so no one else takes it: connecting is refused
        silent.bind(("127.0.0.1", 0))
        silent.listen(64)  # the kernel completes handshakes; nobody reads
        yield closed.getsockname()[1], silent.getsockname()[1]
    finally:
        closed.close()
        silent.close()


def _launch(args: list[str], out: Path) -> subprocess.Popen[str]:
    """Start one user process writing its records to `out`."""
    return subprocess.Popen([*USER, *args, "--out", str(out)], cwd=REPO, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _finish(process: subprocess.Popen[str], out: Path) -> dict[str, Any]:
    """Wait for a user process (always reaped); its exit code, output, summary and records."""
    try:
        stdout, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    lines = stdout.strip().splitlines()
    return {"rc": process.returncode, "stderr": stderr, "lines": lines,
            "summary": json.loads(lines[-1])["summary"] if lines else None,
            "records": load_records([out]) if out.exists() else []}


def _ready_times(started: dict[str, tuple[subprocess.Popen[str], Path]],
                 timeout: float = 60) -> dict[str, float]:
    """When (time.time()) each user opened its --out file, which it does once started (imports
    done, arguments checked), right before its schedule runs; a user that exited counts too."""
    ready: dict[str, float] = {}
    deadline = time.monotonic() + timeout
    while len(ready) < len(started) and time.monotonic() < deadline:
        for name, (process, out) in started.items():
            if name not in ready and (out.exists() or process.poll() is not None):
                ready[name] = time.time()
        time.sleep(0.005)
    return {name: ready.get(name, time.time()) for name in started}


def _run_together(plans: dict[str, list[str]], folder: Path, head: float
                  ) -> tuple[dict[str, dict[str, Any]], float]:
    """Every plan as a user process, all with --start-at `head` s from now: their runs, and how
    late after that start the last of them was ready (<= 0: all were in time)."""
    folder.mkdir()
    start = time.time() + head
    started = {name: (_launch([*args, "--start-at", f"{start:.6f}"], folder / f"{name}.jsonl"),
                      folder / f"{name}.jsonl") for name, args in plans.items()}
    done = {}
    try:
        ready = _ready_times(started)
        for name, (process, out) in started.items():
            done[name] = _finish(process, out)
    finally:
        for process, _ in started.values():
            if process.poll() is None:
                process.kill()
                process.wait()
    return done, max(ready.values()) - start


@pytest.fixture(scope="module")
def runs(http_url: str, dead_ports: tuple[int, int],
         tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """Six users at once (they mostly wait), all starting together at --start-at.

    A user still starting when its schedule begins sends its first requests late for that
    alone; on a loaded machine six interpreters may need more than the usual head start, so
    then the six run again with a head start that covers what starting took.
    """
    folder = tmp_path_factory.mktemp("synth")
    closed, silent = dead_ports
    times = folder / "times.json"
    times.write_text(json.dumps([0.1 * i for i in range(10)]))
    plans = {
        "constant": ["--target", f"{http_url}/", "--pattern", "constant", "--peak", "200",
                     "--duration", "3", "--seed", "1", "--users", "2", "--user", "1"],
        "flash": ["--target", f"{http_url}/", "--pattern", "flash-crowd", "--peak", "200",
                  "--duration", "3", "--seed", "2"],
        "closed": ["--target", f"http://127.0.0.1:{closed}/", "--times-file", str(times)],
        "fail": ["--target", f"{http_url}/fail", "--times-file", str(times)],
        "silent": ["--target", f"http://127.0.0.1:{silent}/", "--times-file", str(times),
                   "--timeout", "0.5"],
        "slow": ["--target", f"{http_url}/slow", "--pattern", "constant", "--peak", "20",
                 "--duration", "1.5", "--seed", "3"],
    }
    head = 3.0  # room for six interpreters to start on two CPUs (about 1.5 s unloaded)
    done, late = _run_together(plans, folder / "first", head)
    if late > 0.02:
        head += 2 * late + 1
        done, late = _run_together(plans, folder / "again", head)
    assert late <= 0.02, f"a user was still starting {late:.2f} s into a {head:.1f} s head start"
    return done


def _clean(run: dict[str, Any]) -> None:
    """Exit 0, nothing on stderr, a complete summary."""
    assert run["rc"] == 0 and run["stderr"] == "" and run["summary"]["complete"] is True


def test_constant_user_sends_its_share_on_time(runs: dict[str, dict[str, Any]]) -> None:
    run = runs["constant"]
    _clean(run)
    pattern = Constant(200.0, 3.0)
    mine = split(schedule(pattern, 1), 2)[1]
    records = run["records"]
    assert len(records) == len(mine) == run["summary"]["requests"]
    assert sorted(r["t"] for r in records) == pytest.approx(mine)
    assert all(r["error"] is None and r["status"] == 200 and r["bytes"] == len(BODY)
               and r["latency_ms"] > 0 for r in records)
    sent = bin_counts([r["sent"] for r in records], pattern, 0.5)
    moved = np.abs(sent - bin_counts(mine, pattern, 0.5)).sum() / 2  # late across a bin edge
    assert moved <= 2 + 0.03 * len(mine)
    report = build_report(records, pattern, 0.5, share=0.5)
    assert report.total_error == pytest.approx(0, abs=0.15) and report.chi2_per_bin < 3
    assert report.late_ms["p90"] < 50


def test_flash_crowd_user_follows_the_crowd(runs: dict[str, dict[str, Any]]) -> None:
    run = runs["flash"]
    _clean(run)
    pattern = parse_pattern("flash-crowd", 200.0, 3.0)
    planned = schedule(pattern, 2)
    records = run["records"]
    assert len(records) == len(planned) and run["summary"]["errors"] == 0
    assert all(r["latency_ms"] is not None for r in records)
    report = build_report(records, pattern, 0.5)
    moved = np.abs(np.array(report.achieved) - bin_counts(planned, pattern, 0.5)).sum() / 2
    assert moved <= 2 + 0.03 * len(planned)
    assert report.correlation > 0.9
    quiet, crowd = report.achieved[0], max(report.achieved)  # base 20/s, then 200/s
    assert crowd > 4 * quiet and report.achieved.index(crowd) in (2, 3)


def test_closed_port_is_recorded_as_refused_without_a_crash(
        runs: dict[str, dict[str, Any]]) -> None:
    run = runs["closed"]
    _clean(run)
    assert len(run["records"]) == 10 and "Traceback" not in run["stderr"]
    assert {r["error"] for r in run["records"]} == {"refused"}
    assert all(r["latency_ms"] is None and r["status"] is None for r in run["records"])
    assert run["summary"]["by_error"] == {"refused": 10} and run["summary"]["success_rate"] == 0


def test_server_errors_and_silence_are_errors(runs: dict[str, dict[str, Any]]) -> None:
    fail, silent = runs["fail"], runs["silent"]
    _clean(fail)
    _clean(silent)
    assert [(r["status"], r["error"]) for r in fail["records"]] == [(503, "http_5xx")] * 10
    assert [r["error"] for r in silent["records"]] == ["timeout"] * 10


def test_slow_responses_do_not_delay_later_requests(runs: dict[str, dict[str, Any]]) -> None:
    run = runs["slow"]
    _clean(run)
    records = run["records"]
    assert len(records) == len(schedule(Constant(20.0, 1.5), 3)) > 15
    assert min(r["latency_ms"] for r in records) >= 750
    assert max(r["sent"] - r["t"] for r in records) < 0.3  # open loop: sent on time anyway


@pytest.fixture
def iperf3_port(tmp_path: Path) -> Iterator[int]:
    """An `iperf3 -s` on 127.0.0.1 (not -1: one client run per segment), stopped afterwards."""
    if shutil.which("iperf3") is None:
        pytest.fail("iperf3 is not installed: scripts/setup installs it", pytrace=False)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = tmp_path / "iperf3-server.log"
    with log.open("w") as sink:
        server = subprocess.Popen(["iperf3", "-s", "-B", "127.0.0.1", "-p", str(port),
                                   "--forceflush"], stdout=sink, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 5
        while "listening" not in log.read_text() and time.monotonic() < deadline:
            assert server.poll() is None, log.read_text()
            time.sleep(0.02)
        yield port
    finally:
        server.terminate()
        try:
            server.wait(5)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def test_iperf3_segments_follow_the_pattern(iperf3_port: int, tmp_path: Path) -> None:
    out = tmp_path / "iperf3.jsonl"
    run = _finish(_launch(["--target", f"iperf3://127.0.0.1:{iperf3_port}", "--pattern",
                           "flash-crowd", "--peak", "200", "--duration", "4",
                           "--bytes-per-request", "500"], out), out)
    _clean(run)
    wanted = parse_pattern("flash-crowd", 200.0, 4.0).expected_counts(1.0) * 500 * 8
    records = run["records"]
    assert [r["t"] for r in records] == [0, 1, 2, 3] and run["summary"]["errors"] == 0
    assert [r["target_bps"] for r in records] == [int(x) for x in wanted]
    for record in records:
        assert record["bytes"] == pytest.approx(record["target_bps"] / 8, rel=0.1, abs=1000)
        assert record["lost_percent"] == 0


def test_sigterm_stops_a_user_cleanly(http_url: str, tmp_path: Path) -> None:
    out = tmp_path / "long.jsonl"
    process = _launch(["--target", f"{http_url}/", "--pattern", "constant", "--peak", "20",
                       "--duration", "60"], out)
    try:
        deadline = time.monotonic() + 10
        while not (out.exists() and out.read_text()) and time.monotonic() < deadline:
            time.sleep(0.05)
        process.send_signal(signal.SIGTERM)
    finally:
        run = _finish(process, out)
    assert run["rc"] == 1 and "Traceback" not in run["stderr"]
    assert run["summary"]["complete"] is False and run["summary"]["requests"] >= 1


def test_bad_arguments_exit_2_as_a_process() -> None:
    done = subprocess.run([*USER, "--target", "http://127.0.0.1:9/", "--times-file",
                           os.devnull, "--timeout", "0"], cwd=REPO, capture_output=True,
                          text=True, timeout=30)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr == "synth_user: argument --timeout: must be > 0, not 0\n"

