"""A numbered UDP stream across timed changes in a running lab, read against a control stream.

Lab tests of moves run on a shared 2-core box whose userspace OVS datapath drops
bursts of datagrams whenever it is starved of CPU, move or no move. A loss is
the move's only when the same stream, at the same rate and with the same
disturbance but no path change (the *control*), does not show it: these helpers
run both the same way and count, per sequence number, what was lost inside a
window around each change and what was delivered while a path was in use.
"""

from __future__ import annotations

import argparse
import json
import math
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sdn_shadow.lab.sequenced import StreamReport, send

if TYPE_CHECKING:
    from sdn_shadow.lab.session import Lab

BEFORE, AFTER = 0.05, 0.5  # a change's window: from BEFORE s before asked to AFTER s after


@dataclass(frozen=True)
class Change:
    """A change asked for at `asked` and confirmed at `applied` (wall clock)."""

    name: str
    asked: float
    applied: float


@dataclass(frozen=True)
class StreamRun:
    """A numbered stream's report and the changes made while it ran."""

    udp: StreamReport
    changes: tuple[Change, ...]
    mbps: float
    size: int = 1200

    def seq_at(self, t: float) -> int:
        """The sequence number the paced sender was due to send at wall-clock `t`."""
        rate = self.mbps * 1e6 / 8 / self.size
        return max(0, min(self.udp.sent, int((t - self.udp.started) * rate)))

    def lost_in(self, first: int, last: int) -> int:
        """Datagrams numbered first..last (inclusive) that never arrived."""
        return sum(max(0, min(b, last) - max(a, first) + 1) for a, b, _ in self.udp.missing)

    def lost_during(self, start: float, end: float) -> int:
        """Datagrams due to be sent between wall-clock `start` and `end` that never arrived."""
        return self.lost_in(self.seq_at(start), self.seq_at(end) - 1)

    def lost_at(self, change: Change) -> int:
        """Datagrams lost from BEFORE s before `change` was asked to AFTER s after it applied."""
        return self.lost_during(change.asked - BEFORE, change.applied + AFTER)

    def lost_at_changes(self) -> int:
        """Datagrams lost in the windows of all changes."""
        return sum(self.lost_at(c) for c in self.changes)

    def longest_gap_at_changes(self) -> int:
        """The most consecutive datagrams lost inside one change's window."""
        spans = [(self.seq_at(c.asked - BEFORE), self.seq_at(c.applied + AFTER) - 1)
                 for c in self.changes]
        return max((min(b, last) - max(a, first) + 1 for a, b, _ in self.udp.missing
                    for first, last in spans if min(b, last) >= max(a, first)), default=0)

    def longest_gap(self) -> int:
        """The most consecutive datagrams lost anywhere in the stream."""
        return max((b - a + 1 for a, b, _ in self.udp.missing), default=0)

    def line(self) -> str:
        """One line for a test's log: changes, counts and the first loss ranges."""
        changes = ", ".join(f"{c.name} {c.asked - self.udp.started:.2f}-"
                            f"{c.applied - self.udp.started:.2f} s ({self.lost_at(c)} lost)"
                            for c in self.changes)
        return (f"{self.mbps:g} Mbit/s; changes [{changes}]; longest gap {self.longest_gap()}; "
                f"udp {self.udp.summary()}")


def send_until_stopped(dst: str, port: int, mbps: float, stopped: Callable[[], bool],
                       size: int = 1200) -> dict:
    """`sdn_shadow.lab.sequenced.send` until `stopped()` instead of for a fixed time."""
    return send(dst, port, mbps, math.inf, size, stopped=stopped)


class NumberedStream:
    """A numbered UDP stream `src` -> `dst` running in the lab until stopped."""

    def __init__(self, lab: Lab, src: str, dst: str, port: int, mbps: float) -> None:
        self.lab, self.src, self.dst, self.port, self.mbps = lab, src, dst, port, mbps
        self.sink: subprocess.Popen[str] | None = None
        self.sender: subprocess.Popen[str] | None = None

    def start(self) -> NumberedStream:
        """Start the sink in `dst`, then the sender in `src`; return once both run."""
        from sdn_shadow.lab.traffic import child_env

        sink_host = self.lab.host(self.dst)
        self.sink = sink_host.popen(
            [sys.executable, "-m", "sdn_shadow.lab.sequenced", "sink", "--port", str(self.port),
             "--seconds", "600"], env=child_env(), stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if "listening" not in (self.sink.stdout.readline() if self.sink.stdout else ""):
            why = self.sink.stderr.read() if self.sink.stderr else ""
            raise RuntimeError(f"the UDP sink did not start: {why}")
        self.sender = self.lab.host(self.src).popen(
            [sys.executable, "-m", "tests.lab_streams", "--dst", sink_host.IP(),
             "--port", str(self.port), "--mbps", f"{self.mbps:g}"], env=child_env(),
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if "sending" not in (self.sender.stdout.readline() if self.sender.stdout else ""):
            raise RuntimeError(f"the UDP sender did not start: {self.sender.communicate()[1]}")
        return self

    def stop_sending(self) -> dict:
        """Stop the sender; what it sent (JSON of `send_until_stopped`)."""
        assert self.sender is not None
        self.sender.terminate()
        out, err = self.sender.communicate(timeout=60)
        if self.sender.returncode != 0:
            raise RuntimeError(f"the UDP sender failed ({self.sender.returncode}): {err[-500:]}")
        return dict(json.loads(out.strip().splitlines()[-1]))

    def stop_sink(self, sent: dict) -> StreamReport:
        """Stop the sink; the stream's report."""
        assert self.sink is not None
        self.sink.terminate()
        received_out, _ = self.sink.communicate(timeout=30)
        return StreamReport.of(sent, json.loads(received_out.strip().splitlines()[-1]))

    def kill(self) -> None:
        """End whatever still runs (after a failure)."""
        for proc in (self.sender, self.sink):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait()


def numbered_streams(lab: Lab, pairs: Sequence[tuple[str, str, int]], mbps: float,
                     changes: Sequence[tuple[float, str, Callable[[], object]]] = (),
                     tail: float = 1.5) -> list[StreamRun]:
    """Numbered UDP streams, one per (src, dst, port), all at once while each (delay, name,
    change) runs change() `delay` s after the previous one applied (the first: after the
    streams started); `tail` s more. One StreamRun per pair, all with the same changes.

    The streams last as long as the changes take (a controller restart takes 1 s on a
    quiet box and over 10 s on a loaded one), so every change happens inside them."""
    streams = [NumberedStream(lab, src, dst, port, mbps) for src, dst, port in pairs]
    made: list[Change] = []
    try:
        for stream in streams:
            stream.start()
        since = time.time()
        for delay, name, change in changes:
            time.sleep(max(0.0, since + delay - time.time()))
            asked = time.time()
            change()
            since = time.time()
            made.append(Change(name, asked, since))
        time.sleep(max(0.0, since + tail - time.time()))
        sent = [stream.stop_sending() for stream in streams]
        time.sleep(0.5)  # datagrams still in flight
        reports = [stream.stop_sink(s) for stream, s in zip(streams, sent, strict=True)]
    finally:
        for stream in streams:
            stream.kill()
    return [StreamRun(report, tuple(made), mbps) for report in reports]


def flow_packets(switch: str, match: str) -> int:
    """Packets counted by the flows of `switch` matching `match` (an ovs-ofctl flow match)."""
    out = subprocess.run(["ovs-ofctl", "-O", "OpenFlow13", "dump-flows", switch, match],
                         capture_output=True, text=True, check=True).stdout
    return sum(int(part.split("=")[1].rstrip(",")) for line in out.splitlines()
               for part in line.split() if part.startswith("n_packets="))


def main(argv: list[str] | None = None) -> int:
    """Send numbered datagrams until SIGTERM, then print what was sent as JSON."""
    parser = argparse.ArgumentParser(prog="python -m tests.lab_streams")
    parser.add_argument("--dst", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--mbps", type=float, required=True)
    args = parser.parse_args(argv)
    terminated: list[int] = []
    signal.signal(signal.SIGTERM, lambda signum, _frame: terminated.append(signum))
    print(json.dumps({"sending": args.port}), flush=True)
    print(json.dumps(send_until_stopped(args.dst, args.port, args.mbps,
                                        lambda: bool(terminated))), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
