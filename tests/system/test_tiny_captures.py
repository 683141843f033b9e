"""Tiny captures with long silences as processes: bounded memory, a clear answer."""

from __future__ import annotations

import json
import os
import resource
import struct
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LIMIT = 1 << 30  # address space per command: a runaway fails here, not on the machine
RSS_BOUND = 300 << 20  # the bound for a CLI command on a small input
YEARS = 3 * 365 * 86_400.0


def tiny_capture(path: Path, gap: float) -> Path:
    """A pcap of three TCP SYNs from 10.0.0.1 to 10.0.0.2, `gap` seconds between the first two."""
    frame = (bytes(5) + b"\x02" + bytes(5) + b"\x01" + b"\x08\x00"
             + bytes.fromhex("4500002800010000400600000a0000010a000002")
             + struct.pack("!HHIIBBHHH", 1234, 80, 0, 0, 0x50, 0x02, 1024, 0, 0))
    records = b"".join(struct.pack("<IIII", int(t), int(t % 1 * 1e6), len(frame), len(frame))
                       + frame for t in (1e9, 1e9 + gap, 1e9 + gap + 0.5))
    path.write_bytes(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1) + records)
    return path


# The peak RSS of this process image: VmHWM starts again at exec, while getrusage's
# ru_maxrss carries over a bigger parent's (a pytest process of 500 MB reads as 500 MB).
WRAPPER = ("import sys\n"
           "from sdn_shadow.cli import main\n"
           "try:\n"
           "    code = main(sys.argv[2:])\n"
           "finally:\n"
           "    hwm = [line.split()[1] for line in open('/proc/self/status')\n"
           "           if line.startswith('VmHWM:')][0]\n"
           "    with open(sys.argv[1], 'w') as f:\n"
           "        f.write(hwm)\n"
           "sys.exit(code)\n")


def run(tmp_path: Path, *args: str) -> tuple[int, str, str, int]:
    """`sdn-shadow ARGS` in a process limited to LIMIT bytes: (code, out, err, max RSS)."""
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (LIMIT, LIMIT))

    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    rss_file = tmp_path / "rss"
    proc = subprocess.run([sys.executable, "-c", WRAPPER, str(rss_file), *args], cwd=ROOT,
                          env=env, capture_output=True, text=True, preexec_fn=limit,
                          timeout=120, check=False)
    rss = int(rss_file.read_text()) << 10 if rss_file.exists() else LIMIT
    return proc.returncode, proc.stdout, proc.stderr, rss


def test_a_tiny_capture_is_small(tmp_path: Path) -> None:
    pcap = tiny_capture(tmp_path / "gap.pcap", YEARS)
    assert pcap.stat().st_size <= 256
    code, out, err, rss = run(tmp_path, "analyze", str(pcap), "--json", "-")
    assert code == 0, err
    assert json.loads(out)["intervals"] == 2, "the years between are left out"
    assert rss < RSS_BOUND, f"analyze took {rss >> 20} MiB"


@pytest.mark.parametrize("interval", ["1", "0.000001"])
def test_a_profile_over_too_many_intervals_is_refused(tmp_path: Path, interval: str) -> None:
    gap = YEARS if interval == "1" else 60.0
    pcap = tiny_capture(tmp_path / "gap.pcap", gap)
    code, _, err, rss = run(tmp_path, "profile", str(pcap), "--address", "10.0.0.2",
                            "--interval", interval)
    assert code == 2 and "Traceback" not in err
    assert err.startswith("sdn-shadow profile: ") and "choose a larger --interval" in err
    assert len(err.strip().splitlines()) == 1
    assert rss < RSS_BOUND, f"profile took {rss >> 20} MiB"
