"""Record the project's own sample captures in the lab (run by scripts/record-samples).

Each sample is made on the two-switch lab (examples/lab.yaml) with the real
controller, by real tools from Mininet hosts, and recorded by tcpdump inside
a host: what the victim (or the attacker) saw on its wire. The files land in
tests/data/pcaps/{normal,attack}/; tests/data/README.md says what each holds.

Usage: python -m sdn_shadow.lab.samples [--out DIR] [--only NAME ...]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from sdn_shadow.lab.attackers import Tcpdump, arp_spoof, port_scan, syn_flood
from sdn_shadow.lab.session import Lab, running_lab
from sdn_shadow.lab.traffic import ping

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_OUT = REPO_ROOT / 'tests' / 'data' / 'pcaps'
H1, H2, H3 = '10.0.0.1', '10.0.0.2', '10.0.0.3'
H2_MAC = '00:00:00:00:0a:02'


def _nmap_synscan(lab: Lab, path: Path) -> str:
    with Tcpdump(lab.host('h2'), 'h2-eth0', path):
        port_scan(lab.host('h3'), H2, ports='1-1000')
    return 'nmap -sS -T4 of ports 1-1000 on h2 from h3, recorded at h2'


def _nmap_slowscan(lab: Lab, path: Path) -> str:
    with Tcpdump(lab.host('h2'), 'h2-eth0', path):
        port_scan(lab.host('h3'), H2, ports='1-40', delay_ms=100)
    return 'nmap -sS --scan-delay 100ms of ports 1-40 on h2 from h3, recorded at h2'


def _hping3_synflood(lab: Lab, path: Path) -> str:
    with Tcpdump(lab.host('h2'), 'h2-eth0', path):
        syn_flood(lab.host('h3'), H2, port=80, count=1500, interval_us=1000)
    return 'hping3 -S of 1,500 SYNs to h2:80 from h3, one per ms, recorded at h2'


def _arp_spoof(lab: Lab, path: Path) -> str:
    with Tcpdump(lab.host('h3'), 'h3-eth0', path, bpf_filter='arp or icmp'):
        ping(lab.host('h3'), H1, count=2)
        arp_spoof(lab.host('h3'), H2, H2_MAC, [H1], count=3)
    return ("h3 pings h1 (ARP answered for h1), then tells h2 three times, unasked, "
            "that h1's IP is at h3's MAC (scapy); recorded at h3")


def _http_users(lab: Lab, path: Path) -> str:
    config = str(lab.controller.config_path)
    with Tcpdump(lab.host('h2'), 'h2-eth0', path):
        ping(lab.host('h1'), H2, count=3)
        proc = subprocess.run(
            [sys.executable, '-m', 'sdn_shadow.cli', 'synth', '--config', config, '--network',
             'tenant-a', '--users', '2', '--pattern', 'constant', '--peak', '10', '--duration',
             '8', '--page-bytes', '1500', '--target', 'http://h2:8080/'],
            capture_output=True, text=True, timeout=120)
        if proc.returncode:
            raise RuntimeError(f'synth failed: {proc.stderr.strip()[-500:]}')
    return ('sdn-shadow synth: 2 users (h1, h3), 10 requests/s for 8 s to an HTTP server on '
            'h2 (1,500-byte page), after 3 pings h1 -> h2; recorded at h2')


#: name: (folder, recorder)
SAMPLES: dict[str, tuple[str, Callable[[Lab, Path], str]]] = {
    'lab_nmap_synscan': ('attack', _nmap_synscan),
    'lab_nmap_slowscan': ('attack', _nmap_slowscan),
    'lab_hping3_synflood': ('attack', _hping3_synflood),
    'lab_arp_spoof': ('attack', _arp_spoof),
    'lab_http_users': ('normal', _http_users),
}


def record(out: Path, only: list[str], step: Callable[[str], None] = print) -> dict[str, str]:
    """Record the samples named in `only` (all if empty) into `out`; name: how it was made."""
    from topologies.lab import LabTopo

    names = only or list(SAMPLES)
    made: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix='sdn-shadow-samples-') as tmp, \
            running_lab(LabTopo(), REPO_ROOT / 'examples' / 'lab.yaml', Path(tmp)) as lab:
        for name in names:
            folder, recorder = SAMPLES[name]
            path = out / folder / f'{name}.pcap'
            step(f'recording {name} -> {path}')
            made[name] = recorder(lab, path)
            path.chmod(0o644)
            time.sleep(1.0)  # keep one sample's stragglers out of the next
            step(f'  {path.stat().st_size:,} bytes: {made[name]}')
    return made


def main(argv: list[str] | None = None) -> int:
    """Record the samples; exit 2 on an unknown name."""
    parser = argparse.ArgumentParser(prog='scripts/record-samples', description=__doc__.split(
        '\n', 1)[0])
    parser.add_argument('--out', type=Path, default=DEFAULT_OUT, help='pcaps folder')
    parser.add_argument('--only', nargs='*', default=[], choices=list(SAMPLES), metavar='NAME',
                        help=f'record only these ({", ".join(SAMPLES)})')
    args = parser.parse_args(argv)
    record(args.out, args.only)
    return 0


if __name__ == '__main__':
    sys.exit(main())
