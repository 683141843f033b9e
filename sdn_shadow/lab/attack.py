"""The demo's third act: an attack through the primary, seen in the shadow, answered; a VM sized.

On the two-switch lab (examples/lab.yaml) with the watch on shadow h2s
(which gets copies of what h2 receives) and a live response (TTL 8 s, h1
protected), with the same commands a user would and real tools, so the act
needs nothing outside the repository:

1. `sdn-shadow synth` users (h1, h3 -> an HTTP server on h2) while
   `sdn-shadow capture` records h2s's copies: the normal phase;
2. `sdn-shadow replay` of that capture into h2s: the watch stays quiet;
3. a real port scan (Debian's nmap) from h3 against h2 through the primary:
   the alert, the block at h3's port (the rest of the scan goes unanswered,
   h3 cannot reach h2, h1 can), and its expiry after the TTL;
4. a real SYN flood (hping3) from h3: the alert and a block again;
5. `sdn-shadow profile` sizes an emulated VM for h2 from the captured copies.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from sdn_shadow.lab.attackers import port_scan, syn_flood
from sdn_shadow.lab.session import Lab, running_lab

REPO_ROOT = Path(__file__).resolve().parents[2]
TTL = 8.0
SCAN_PORTS, SCAN_DELAY_MS = "1-100", 100  # 100 ports, one every 0.1 s: a 10 s scan
FLOOD_SYNS, FLOOD_GAP_US = 1500, 1000  # 1,500 SYNs, one per ms


@dataclass
class AttackReport:
    """Summary lines and failed checks of the act."""

    summary: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    events: list[dict] = field(default_factory=list)  # the controller's, for the report


def attack_config() -> dict:
    """examples/lab.yaml with the watch on h2s and a live response."""
    data = yaml.safe_load((REPO_ROOT / "examples" / "lab.yaml").read_text())
    data["networks"]["tenant-a"]["shadow"]["detect"] = {
        "on": ["h2s"], "interval": 1, "learn": 0,
        "response": {"mode": "live", "ttl": TTL, "protected": ["h1"]}}
    return data


def _cli(problems: list[str], *args: str, timeout: float = 120) -> dict | None:
    """`sdn-shadow ARGS --json -`'s result; None after noting its failure in `problems`."""
    done = subprocess.run([sys.executable, "-m", "sdn_shadow.cli", *args, "--json", "-"],
                          capture_output=True, text=True, timeout=timeout)
    if done.returncode:
        problems.append(f"{args[0]} failed: {done.stderr.strip()}")
        return None
    return json.loads(done.stdout)


def _cut_off(lab: Lab, host: str, ip: str, within: float = 5.0) -> bool:
    """Whether, within `within` s, none of 2 pings in a row from `host` to `ip` is
    answered (the block's flow takes a moment to reach the switch on a loaded machine)."""
    started = time.monotonic()
    while time.monotonic() - started < within:
        if " 0 received" in lab.host(host).cmd(f"ping -c 2 -i 0.2 -W 1 {ip}"):
            return True
    return False


def _reaches(lab: Lab, host: str, ip: str, within: float = 5.0) -> float | None:
    """Seconds until a ping from `host` to `ip` is answered (a flow change takes a moment
    to reach the switch on a loaded machine), or None if none is within `within` s."""
    started = time.monotonic()
    while time.monotonic() - started < within:
        if " 1 received" in lab.host(host).cmd(f"ping -c 1 -W 1 {ip}"):
            return time.monotonic() - started
    return None


def run_attack(workdir: Path, step: Callable[[str], None],
               extra_args: tuple[str, ...] = ()) -> AttackReport:
    """Run the act in `workdir` (`extra_args` added to the controller's `run`, e.g. `--api`);
    what it showed and what failed."""
    from topologies.lab import LabTopo

    workdir.mkdir(parents=True, exist_ok=True)
    report = AttackReport()
    out, problems = report.summary, report.problems
    step("act 3: an attack through the primary, seen in the shadow (watch on h2s, live "
         f"response, TTL {TTL:g} s)")
    with running_lab(LabTopo(), attack_config(), workdir, extra_args) as lab:
        config = str(lab.controller.config_path)
        net = ("--network", "tenant-a", "--config", config)
        captures = workdir / "captures"
        _normal(lab, net, captures, out, problems, step)
        if not problems:
            _scan(lab, out, problems, step)
        if not problems:
            _flood(lab, out, problems, step)
        files = sorted(captures.glob("*.pcap"))
        if files:
            _profile(files[0], out, problems, step)
        report.events = lab.controller.state().get("events", [])
    return report


def _alerts(lab: Lab) -> list[dict]:
    return [e for e in lab.controller.state()["events"] if e["kind"] == "alert"]


def _normal(lab: Lab, net: tuple[str, ...], captures: Path, out: list[str],
            problems: list[str], step: Callable[[str], None]) -> None:
    """Synthetic users captured at h2s, then the capture replayed into h2s: no alert."""
    step("synthetic users h1, h3 -> HTTP on h2 for 10 s, `sdn-shadow capture` of h2s's copies")
    capture = subprocess.Popen([sys.executable, "-m", "sdn_shadow.cli", "capture", *net,
                                "--to", "h2s", "--out", str(captures), "--duration", "60"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(1.0)
    users = _cli(problems, "synth", *net, "--users", "2", "--pattern", "constant", "--peak",
                 "40", "--duration", "10", "--target", "http://h2:8080/")
    capture.send_signal(signal.SIGTERM)
    captured, _ = capture.communicate(timeout=15)
    if users is None:
        return
    out.append(f"synthetic users: {users['requests']} requests, {users['successes']} ok, "
               f"p50 {users['latency_ms']['p50']} ms, p99 {users['latency_ms']['p99']} ms")
    out.append(captured.strip())
    files = sorted(captures.glob("*.pcap"))
    if not files:
        problems.append("capture wrote no pcap file")
        return
    step(f"replaying the captured normal traffic ({files[0].name}) into shadow h2s at its "
         "own pace")
    normal = _cli(problems, "replay", str(files[0]), *net, "--to", "h2s", "--speed", "1")
    if normal is None:
        return
    out.append(f"captured normal traffic replayed into h2s: {normal['sent']} frames sent, "
               f"{normal['seen']} seen at h2s, never in the primary")
    quiet = _alerts(lab)
    out.append(f"alerts on normal and synthetic traffic: {len(quiet)}")
    if quiet:
        problems.append(f"false alert on normal traffic: {quiet[0]['reason']}")


def _scan(lab: Lab, out: list[str], problems: list[str], step: Callable[[str], None]) -> None:
    """nmap from h3 against h2 through the primary; check the alert, the block and its expiry."""
    step(f"h3 runs nmap -sS of ports {SCAN_PORTS} against h2, one probe every "
         f"{SCAN_DELAY_MS} ms, through the primary")
    started = time.time()
    pool = ThreadPoolExecutor(max_workers=1)
    scan = pool.submit(port_scan, lab.host("h3"), "10.0.0.2", ports=SCAN_PORTS,
                       delay_ms=SCAN_DELAY_MS)
    try:
        _judge_scan(lab, started, out, problems)
    finally:
        report = scan.result()
        pool.shutdown()
    closed, unanswered = _nmap_counts(report)
    out.append(f"nmap's view: {closed} ports answered (closed) before the block, "
               f"{unanswered} unanswered (filtered) after it")
    if unanswered == 0 and not problems:
        problems.append("every probe of the scan was answered: the block came too late")
    step(f"waiting for the block's TTL ({TTL:g} s)")
    lifted = lab.wait_state(lambda s: any(e.get("action") == "unblock" for e in s["events"]),
                            timeout=TTL + 5)
    back = _reaches(lab, "h3", "10.0.0.2")
    out.append(f"after the TTL: block {'lifted' if lifted else 'NOT lifted'}, h3 -> h2 "
               + ("reaches again" if back is not None else "still cut off after 5 s"))
    if not (lifted and back is not None):
        problems.append("the block did not expire")


def _judge_scan(lab: Lab, started: float, out: list[str], problems: list[str]) -> None:
    """While the scan runs: the alert within 5 s, the block, h3 cut off and h1 not."""
    # The alert comes at the end of the watch's interval that saw the 20th port (2 s in),
    # 2-3 s in by the intervals' phase.
    state = lab.wait_state(lambda s: any(e["kind"] == "alert" for e in s["events"]),
                           timeout=max(0.0, started + 5.0 - time.time()))
    events = (state or lab.controller.state())["events"]
    alerts = [e for e in events if e["kind"] == "alert"]
    blocks = [e for e in events if e["kind"] == "response"]
    if not alerts:
        problems.append("the scan raised no alert")
        return
    alert = alerts[0]
    out.append(f"alert: {alert['reason']}")
    out.append(f"  raised {alert['t'] - started:.1f} s after nmap started (it needs 20 ports "
               "in 10 s)")
    if alert["t"] - started > 5.0:
        problems.append(f"the alert took {alert['t'] - started:.1f} s (over 5 s)")
    for event in blocks:
        out.append(f"response: {event['reason']}")
    cut, others = _cut_off(lab, "h3", "10.0.0.2"), _reaches(lab, "h1", "10.0.0.2") is not None
    out.append(f"while blocked: h3 -> h2 {'cut off' if cut else 'STILL REACHES'}, "
               f"h1 -> h2 {'reaches' if others else 'CUT OFF'}")
    if not (cut and others) or not any(e["action"] == "block" for e in blocks):
        problems.append("the response did not block h3 alone")


def _nmap_counts(report: str) -> tuple[int, int]:
    """(closed, filtered) TCP port counts of an nmap report, summarised or listed."""
    counts = {"closed": 0, "filtered": 0}
    for number, state in re.findall(r"(\d+) (closed|filtered) tcp ports", report):
        counts[state] += int(number)
    for state in re.findall(r"^\d+/tcp\s+(closed|filtered)\s", report, re.MULTILINE):
        counts[state] += 1
    return counts["closed"], counts["filtered"]


def _flood(lab: Lab, out: list[str], problems: list[str], step: Callable[[str], None]) -> None:
    """hping3's SYN flood from h3 against h2:80; check the alert and the block."""
    step(f"h3 floods h2:80 with hping3: {FLOOD_SYNS:,} SYNs, one per "
         f"{FLOOD_GAP_US / 1000:g} ms")
    before = len(lab.controller.state()["events"])
    started = time.time()
    report = syn_flood(lab.host("h3"), "10.0.0.2", port=80, count=FLOOD_SYNS,
                       interval_us=FLOOD_GAP_US)
    state = lab.wait_state(
        lambda s: any(e["kind"] == "response" and e.get("action") == "block"
                      for e in s["events"][before:]), timeout=max(0.0, started + 5 - time.time()))
    events = (state or lab.controller.state())["events"][before:]
    floods = [e for e in events if e["kind"] == "alert" and "syn_flood" in e["reason"]]
    if not floods:
        problems.append("the SYN flood raised no syn_flood alert")
        return
    out.append(f"alert: {floods[0]['reason']}")
    out.append(f"  raised {floods[0]['t'] - started:.1f} s after hping3 started")
    blocks = [e for e in events if e["kind"] == "response" and e.get("action") == "block"]
    for event in blocks:
        out.append(f"response: {event['reason']}")
    sent = re.search(r"(\d+) packets transmitted, (\d+) packets received", report)
    if sent:
        out.append(f"hping3's view: {sent[1]} SYNs sent, {sent[2]} answered by h2 (RST) "
                   "before the block")
    if not blocks:
        problems.append("the SYN flood was not blocked")


def _profile(capture: Path, out: list[str], problems: list[str],
             step: Callable[[str], None]) -> None:
    """Size an emulated VM for h2 from the captured copies."""
    step("sizing an emulated VM for h2 from the captured copies")
    p = _cli(problems, "profile", str(capture), "--address", "10.0.0.2")
    if p is None:
        return
    out.append(f"emulated VM for h2 ({p['samples']} samples, {p['level']:.0%} upper bounds): "
               + ", ".join(f"{k} {p[k]['upper']:.3g}"
                           for k in ("cpu_cores", "memory_gb", "bandwidth_mbps", "storage_gb")))
    out.append("  provision: " + ", ".join(f"{k} {v:g}" for k, v in p["provisioned"].items()))
