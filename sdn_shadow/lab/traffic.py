"""Traffic helpers run inside Mininet hosts: ping, iperf3, scapy capture and crafted-frame sends."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from mininet.node import Node

REPO_ROOT = Path(__file__).resolve().parents[2]

_REPLY_RE = re.compile(
    r'^\[(?P<ts>\d+\.\d+)\]\s+\d+ bytes from [^:]+: icmp_seq=(?P<seq>\d+)'
    r'.*?time=(?P<rtt>[\d.]+) ms(?P<dup> \(DUP!\))?')
_TX_RE = re.compile(r'(?P<sent>\d+) packets transmitted, (?P<recv>\d+) received')


def child_env() -> dict[str, str]:
    """Environment for Python helpers started in a host: the repo root on PYTHONPATH."""
    env = dict(os.environ)
    paths = [str(REPO_ROOT)] + [p for p in env.get('PYTHONPATH', '').split(os.pathsep) if p]
    env['PYTHONPATH'] = os.pathsep.join(dict.fromkeys(paths))
    env['PYTHONUNBUFFERED'] = '1'
    return env


def run_in(host: Node, args: Sequence[str], timeout: float,
           env: dict[str, str] | None = None) -> tuple[int, str, str]:
    """Run a command in a host's namespace (own process, not the host's shell); rc, out, err."""
    proc = host.popen(list(args), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                      stderr=subprocess.PIPE, **({'env': env} if env is not None else {}))
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        raise RuntimeError(f'{host.name}: {" ".join(args)} timed out after {timeout} s: '
                           f'{err.decode(errors="replace")[-2000:]}') from None
    return proc.returncode, out.decode(errors='replace'), err.decode(errors='replace')


# --------------------------------------------------------------------------- ping


@dataclass(frozen=True)
class PingResult:
    """Outcome of one ping run; max_gap is the longest time between consecutive replies."""

    sent: int
    received: int
    loss: float
    rtt_avg_ms: float | None
    max_gap: float
    duration: float
    duplicates: int = 0
    reply_times: tuple[float, ...] = field(default=(), repr=False)
    lost_seqs: tuple[int, ...] = field(default=(), repr=False)


def parse_ping(output: str, count: int, duration: float) -> PingResult:
    """Parse `ping -D -n` output into a PingResult (max_gap = duration if < 2 replies)."""
    times: list[float] = []
    rtts: list[float] = []
    seqs: set[int] = set()
    dups = 0
    for line in output.splitlines():
        m = _REPLY_RE.match(line.strip())
        if not m:
            continue
        if m.group('dup'):
            dups += 1
            continue
        seqs.add(int(m.group('seq')))
        times.append(float(m.group('ts')))
        rtts.append(float(m.group('rtt')))
    tx = _TX_RE.search(output)
    sent = int(tx.group('sent')) if tx else count
    received = len(times)
    times.sort()
    if received >= 2:
        max_gap = max(b - a for a, b in zip(times, times[1:], strict=False))
    else:
        max_gap = duration
    return PingResult(
        sent=sent,
        received=received,
        loss=(1.0 - received / sent) if sent else 1.0,
        rtt_avg_ms=sum(rtts) / len(rtts) if rtts else None,
        max_gap=max_gap,
        duration=duration,
        duplicates=dups,
        reply_times=tuple(times),
        lost_seqs=tuple(s for s in range(1, sent + 1) if s not in seqs),
    )


class PingRun:
    """A ping running in the background in a host; result() waits for it and parses it.

    Its output is drained continuously by a thread: a fast ping that nobody reads
    fills the 64 KiB pipe in under a second, and then ping stops sending (the
    pause would look like an outage).
    """

    def __init__(self, src: Node, dst_ip: str, count: int, interval: float) -> None:
        """Start `ping -D -n -c count -i interval -W 1 dst_ip` in src."""
        self.count = count
        self.interval = interval
        self.started = time.time()
        self._proc = src.popen(
            ['ping', '-D', '-n', '-c', str(count), '-i', f'{interval:g}', '-W', '1', dst_ip],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self._chunks: list[bytes] = []
        self._reader = threading.Thread(target=self._drain, daemon=True)
        self._reader.start()

    def _drain(self) -> None:
        assert self._proc.stdout is not None
        for chunk in iter(lambda: self._proc.stdout.read1(65536), b''):
            self._chunks.append(chunk)

    def result(self, timeout: float | None = None) -> PingResult:
        """Wait for ping to end (default timeout: its expected length + 15 s) and parse it."""
        if timeout is None:
            timeout = self.count * self.interval + 15
        try:
            self._proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        self._reader.join(timeout=10)
        duration = time.time() - self.started
        return parse_ping(b''.join(self._chunks).decode(errors='replace'), self.count, duration)

    def stop(self) -> PingResult:
        """Interrupt ping (SIGINT, it prints its summary) and parse what it saw."""
        if self._proc.poll() is None:
            self._proc.send_signal(signal.SIGINT)
        return self.result(timeout=10)


def start_ping(src: Node, dst_ip: str, count: int = 10, interval: float = 0.2) -> PingRun:
    """Start a background ping from src (for outages: call .result() after the event)."""
    return PingRun(src, dst_ip, count, interval)


def ping(src: Node, dst_ip: str, count: int = 5, interval: float = 0.2) -> PingResult:
    """Ping dst_ip from src and return sent/received/loss/rtt and the longest reply gap."""
    return start_ping(src, dst_ip, count, interval).result()


# --------------------------------------------------------------------------- iperf3


def _wait_listening(host: Node, port: int, proc: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            err = proc.stderr.read().decode(errors='replace') if proc.stderr else ''
            raise RuntimeError(f'{host.name}: iperf3 server exited ({proc.returncode}): {err}')
        _rc, out, _err = run_in(host, ['ss', '-Hltn', f'sport = :{port}'], timeout=5)
        if out.strip():
            return
        time.sleep(0.05)
    raise RuntimeError(f'{host.name}: iperf3 server not listening on {port} after {timeout} s')


def _iperf3(client: Node, server: Node, extra: list[str], seconds: float,
            port: int, receiver: dict[str, Any] | None = None) -> dict[str, Any]:
    """Run one iperf3 test; the client's JSON, and the server's into `receiver` if given."""
    server_proc = server.popen(['iperf3', '-s', '-1', '-p', str(port), '--json'],
                               stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE if receiver is not None
                               else subprocess.DEVNULL,
                               stderr=subprocess.PIPE)
    try:
        _wait_listening(server, port, server_proc, timeout=10)
        args = ['iperf3', '-c', server.IP(), '-p', str(port), '-t', f'{seconds:g}',
                '--json', *extra]
        rc, out, err = run_in(client, args, timeout=seconds + 30)
        try:
            data = json.loads(out)
        except json.JSONDecodeError:
            raise RuntimeError(f'iperf3 client gave no JSON (rc {rc}): {out[-500:]} '
                               f'{err[-500:]}') from None
        if rc != 0 or 'error' in data:
            raise RuntimeError(f'iperf3 {client.name} -> {server.name} failed: '
                               f'{data.get("error", rc)}')
        if receiver is not None:
            out, _ = server_proc.communicate(timeout=10)
            receiver.update(json.loads(out))
        return data
    finally:
        if server_proc.poll() is None:
            try:
                server_proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                server_proc.kill()
                server_proc.wait()
        for stream in (server_proc.stdout, server_proc.stderr):
            if stream:
                stream.close()


def iperf3_tcp(client: Node, server: Node, seconds: float = 5, port: int = 5201,
               rate: str | None = None) -> float:
    """Run a one-off iperf3 TCP test client -> server (capped at `rate`); received bits/s."""
    data = _iperf3(client, server, ['-b', rate] if rate else [], seconds, port)
    return float(data['end']['sum_received']['bits_per_second'])


def iperf3_udp(client: Node, server: Node, rate: str | float, seconds: float = 5,
               length: int | None = None, port: int = 5201) -> dict[str, Any]:
    """Run a one-off iperf3 UDP test at rate (bits/s or '10M'); packets sent/lost and bits/s.

    `received`, `receiver_lost` and `out_of_order` are the receiving server's own
    counters; iperf3 counts a duplicate as out of order, so 0 lost and 0 out
    of order means every datagram arrived exactly once, in order.
    """
    extra = ['-u', '-b', rate if isinstance(rate, str) else str(int(rate))]
    if length is not None:
        extra += ['-l', str(length)]
    receiver: dict[str, Any] = {}
    data = _iperf3(client, server, extra, seconds, port, receiver)
    streams = receiver.get('end', {}).get('streams', [])
    got = [s.get('udp', {}) for s in streams]
    end = data['end']
    total = end.get('sum_received') or end.get('sum') or {}
    sent = end.get('sum_sent') or end.get('sum') or {}
    packets = int(sent.get('packets', total.get('packets', 0)))
    lost = int(total.get('lost_packets', 0))
    return {
        'packets': packets,
        'lost': lost,
        'lost_fraction': lost / packets if packets else 0.0,
        'bits_per_second': float(total.get('bits_per_second', 0.0)),
        'sent_bits_per_second': float(sent.get('bits_per_second', 0.0)),
        'jitter_ms': float(total.get('jitter_ms', 0.0)),
        'received': sum(int(u.get('packets', 0)) - int(u.get('lost_packets', 0)) for u in got),
        'receiver_lost': sum(int(u.get('lost_packets', 0)) for u in got),
        'out_of_order': sum(int(u.get('out_of_order', 0)) for u in got),
    }


# --------------------------------------------------------------------------- scapy helpers


class Capture:
    """Context manager: a sniffer process (sdn_shadow.lab.capture) inside a host.

    `with Capture(h1s, 'h1s-eth0', 'udp') as cap: ...` — on exit the sniffer
    gets SIGTERM and cap.summary / cap.count / cap.packets hold its JSON summary.
    """

    def __init__(self, host: Node, iface: str, bpf_filter: str = '', out_path: str | None = None,
                 max_packets: int = 20000, direction: str = 'both',
                 ready_timeout: float = 30.0) -> None:
        """Describe the capture; nothing runs until start() or `with`."""
        self.host = host
        self.iface = iface
        self.bpf_filter = bpf_filter
        self.max_packets = max_packets
        self.direction = direction
        self.ready_timeout = ready_timeout
        self.out_path = out_path
        self._own_dir = ''
        self._proc: subprocess.Popen | None = None
        self.summary: dict[str, Any] | None = None

    def start(self) -> Capture:
        """Start the sniffer and return once its socket is listening."""
        if self._proc is not None:
            raise RuntimeError('capture already started')
        self._own_dir = tempfile.mkdtemp(prefix=f'sdn-shadow-cap-{self.host.name}-')
        self.out_path = self.out_path or os.path.join(self._own_dir, 'capture.json')
        self._ready_path = os.path.join(self._own_dir, 'ready.json')
        self._log_path = os.path.join(self._own_dir, 'capture.log')
        args = [sys.executable, '-m', 'sdn_shadow.lab.capture', '--iface', self.iface,
                '--filter', self.bpf_filter, '--out', self.out_path, '--ready', self._ready_path,
                '--max-packets', str(self.max_packets), '--direction', self.direction]
        with open(self._log_path, 'wb') as log:
            self._proc = self.host.popen(args, stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT, env=child_env())
        deadline = time.monotonic() + self.ready_timeout
        while not os.path.exists(self._ready_path):
            if self._proc.poll() is not None:
                raise RuntimeError(f'capture on {self.host.name}:{self.iface} exited '
                                   f'({self._proc.returncode}): {self._log_tail()}')
            if time.monotonic() > deadline:
                self._terminate()
                raise RuntimeError(f'capture on {self.host.name}:{self.iface} not ready after '
                                   f'{self.ready_timeout} s: {self._log_tail()}')
            time.sleep(0.02)
        return self

    def stop(self) -> dict[str, Any]:
        """Stop the sniffer (SIGTERM), read its summary and return it."""
        if self.summary is not None:
            return self.summary
        if self._proc is None:
            raise RuntimeError('capture not started')
        self._terminate()
        if self._proc.returncode != 0 or not os.path.exists(self.out_path):
            raise RuntimeError(f'capture on {self.host.name}:{self.iface} failed '
                               f'({self._proc.returncode}): {self._log_tail()}')
        with open(self.out_path, encoding='utf-8') as fh:
            self.summary = json.load(fh)
        shutil.rmtree(self._own_dir, ignore_errors=True)  # the caller's out_path lies elsewhere
        return self.summary

    @property
    def count(self) -> int:
        """Packets captured (after stop)."""
        return int(self._require()['count'])

    @property
    def packets(self) -> list[dict[str, Any]]:
        """Per-packet records (after stop; at most max_packets of them)."""
        return list(self._require()['packets'])

    def _require(self) -> dict[str, Any]:
        if self.summary is None:
            raise RuntimeError('capture not stopped yet')
        return self.summary

    def _terminate(self) -> None:
        assert self._proc is not None
        if self._proc.poll() is None:
            self._proc.send_signal(signal.SIGTERM)
            try:
                self._proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()

    def _log_tail(self) -> str:
        try:
            with open(self._log_path, encoding='utf-8', errors='replace') as fh:
                return fh.read()[-3000:]
        except OSError:
            return ''

    def __enter__(self) -> Capture:
        """Start the capture."""
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        """Stop the capture; on an exception in the block only make sure the sniffer ends."""
        if exc_type is not None:
            if self._proc is not None:
                self._terminate()
            shutil.rmtree(self._own_dir, ignore_errors=True)
            return
        self.stop()


def send_frames(host: Node, iface: str, count: int, rate: float, src_mac: str, dst_mac: str,
                src_ip: str, dst_ip: str, proto: str = 'udp',
                sport_range: tuple[int, int] = (10000, 10000), dport: int = 9,
                size: int = 64, timeout: float | None = None) -> dict[str, Any]:
    """Send crafted frames from host (sdn_shadow.lab.send); returns {'sent', 'seconds', 'pps'}."""
    args = [sys.executable, '-m', 'sdn_shadow.lab.send', '--iface', iface, '--count', str(count),
            '--rate', f'{rate:g}', '--src-mac', src_mac, '--dst-mac', dst_mac,
            '--src-ip', src_ip, '--dst-ip', dst_ip, '--proto', proto,
            '--sport-range', f'{sport_range[0]}-{sport_range[1]}', '--dport', str(dport),
            '--size', str(size)]
    if timeout is None:
        timeout = 30 + (count / rate if rate > 0 else count / 1000)
    proc = host.popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                      stderr=subprocess.PIPE, env=child_env())
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise RuntimeError(f'send from {host.name}:{iface} timed out after {timeout} s') from None
    if proc.returncode != 0:
        raise RuntimeError(f'send from {host.name}:{iface} failed ({proc.returncode}): '
                           f'{err.decode(errors="replace")[-2000:]}')
    return json.loads(out.decode().strip().splitlines()[-1])
