"""The demo lab: controller + Mininet fabric + traffic, then a readable summary (`scripts/demo`)."""

from __future__ import annotations

import argparse
import itertools
import sys
import tempfile
import time
from pathlib import Path

from sdn_shadow import report as demo_report
from sdn_shadow.api.auth import TokenBook
from sdn_shadow.client import ShadowClient
from sdn_shadow.config import Config, load_config
from sdn_shadow.lab.net import free_tcp_port, require_lab_tools
from sdn_shadow.lab.sampler import ApiSampler, StateSampler
from sdn_shadow.lab.session import running_lab
from sdn_shadow.lab.traffic import Capture, iperf3_tcp, iperf3_udp, send_frames, start_ping
from sdn_shadow.lab.trouble import run_trouble

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CONFIG = REPO_ROOT / "examples" / "lab.yaml"
ACTS = ("lab", "ring", "attack")
SAMPLED = ("network:tenant-a:tx", "link:s1:s2")  # the lab's series the report draws
RING_SAMPLED = ("link:s1:s2", "link:s1:s4")  # h1's primary and shadow path's first hops


def _step(text: str) -> None:
    print(f"[demo] {text}", flush=True)


def _reachability(net, config: Config) -> tuple[dict[str, tuple[int, int]], tuple[int, int]]:
    """Ping every ordered pair of primary hosts; (reached, tried) per network and across."""
    hosts = [(n.name, h) for n in config.networks for h in n.hosts]
    runs = []
    for (net_a, a), (net_b, b) in itertools.permutations(hosts, 2):
        runs.append((net_a, net_b, start_ping(net.get(a.name), str(b.ip), count=3,
                                              interval=0.2)))
    within: dict[str, list[int]] = {n.name: [0, 0] for n in config.networks}
    across = [0, 0]
    for net_a, net_b, run in runs:
        ok = run.result().received > 0
        bucket = within[net_a] if net_a == net_b else across
        bucket[0] += ok
        bucket[1] += 1
    return {k: (v[0], v[1]) for k, v in within.items()}, (across[0], across[1])


def default_report_path() -> Path:
    """Where the demo's report goes unless told: the temporary directory, stamped."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return Path(tempfile.gettempdir()) / f"sdn-shadow-demo-{stamp}.html"


def run_demo(config_path: Path, seconds: float, workdir: Path,
             acts: tuple[str, ...] = ACTS, report_path: Path | None = None) -> int:
    """Run the acts; print each summary (and the ring's timeline), write the HTML report
    (to `report_path`, or `default_report_path()`) and print its path; 0 when every check
    held."""
    problems: list[str] = []
    sections: list[tuple[str, list[str]]] = []
    record = demo_report.new_record("sdn-shadow demo", time.time())
    path = report_path or default_report_path()
    try:
        log_tail = _acts(config_path, seconds, workdir, acts, record, sections, problems)
    except BaseException as exc:  # still report what ran, then stop as before
        demo_report.add_act(record, "stopped", "the demo stopped", time.time(), [],
                            [f"stopped by {type(exc).__name__}: {exc}"], [])
        record["finished"], record["ok"] = time.time(), False
        print(f"\nreport of what ran before the demo stopped: {demo_report.write(record, path)}")
        raise
    record["finished"], record["ok"] = time.time(), not problems
    written = demo_report.write(record, path)
    print("\n=== sdn-shadow demo: summary ===")
    for title, lines in sections:
        print(f"\n--- {title} ---")
        for line in lines:
            print(f"  {line}")
    print(f"\nreport (open it in a browser): {written}")
    if problems:
        print("\nFAILED: " + "; ".join(problems))
        if log_tail:
            print("controller log (last lines):\n" + log_tail)
        return 1
    print("\nall checks passed; labs torn down")
    return 0


def _acts(config_path: Path, seconds: float, workdir: Path, acts: tuple[str, ...],
          record: dict, sections: list[tuple[str, list[str]]], problems: list[str]) -> str:
    """Run the acts, adding each to `record`, its summary to `sections` and its failed
    checks to `problems`; the lab controller's log tail if it failed."""
    log_tail = ""
    if "lab" in acts:
        title = "the lab: isolation, mirroring, forecast, held capacity"
        start = time.time()
        summary, lab_problems, log_tail, lab_events, series = _lab_act(
            config_path, seconds, workdir / "lab")
        sections.append((title, summary))
        problems += lab_problems
        demo_report.add_act(record, "lab", title, start, summary, lab_problems, lab_events,
                            series)
    if "ring" in acts:
        _step("act 2: trouble on the ring")
        start = time.time()
        args, base, token = _watchable(workdir / "ring", "act 2")
        with ApiSampler(base, token) as sampler:  # the ring's links through the act
            report = run_trouble(workdir / "ring", _step, args)
        title = "trouble on the ring: preemptive move, link failure, host failure"
        sections.append((title, report.summary))
        sections.append(("timeline (controller events, seconds since the ring came up)",
                         report.timeline))
        problems += report.problems
        demo_report.add_act(record, "ring", title, start, report.summary, report.problems,
                            report.events, sampler.series(RING_SAMPLED))
    if "attack" in acts:
        from sdn_shadow.lab.attack import run_attack

        start = time.time()
        attack = run_attack(workdir / "attack", _step,
                            _watchable(workdir / "attack", "act 3")[0])
        title = "an attack through the primary: alert, response, emulated VM"
        sections.append((title, attack.summary))
        problems += attack.problems
        demo_report.add_act(record, "attack", title, start, attack.summary, attack.problems,
                            attack.events)
    return log_tail


def _watchable(workdir: Path, act: str) -> tuple[tuple[str, ...], str, str]:
    """The controller's `--api` and `--tokens` arguments for an act, with a viewer token made
    and the dashboard's address printed, so a person can watch the act live; the arguments,
    the address and the token."""
    workdir.mkdir(parents=True, exist_ok=True)
    book, tokens = TokenBook(), workdir / "tokens.yaml"
    token = book.add("demo-viewer", "viewer")
    book.save(tokens)
    port = free_tcp_port()
    _step(f"dashboard for {act}: http://127.0.0.1:{port}/ (log in with the viewer token "
          f"{token}; it answers once the act's controller is up)")
    return ("--api", f"127.0.0.1:{port}", "--tokens", str(tokens)), \
        f"http://127.0.0.1:{port}", token


def _lab_act(config_path: Path, seconds: float, workdir: Path
             ) -> tuple[list[str], list[str], str, list[dict], list[dict]]:
    """The two-switch lab: summary lines, failed checks, the controller's log tail if any,
    its events and the demand series sampled during the ramp."""
    from topologies.lab import LabTopo

    workdir.mkdir(parents=True, exist_ok=True)
    config = load_config(config_path)
    problems: list[str] = []
    summary: list[str] = []
    _step(f"act 1: starting the controller ({config_path.name}) and a Mininet lab of 2 OVS "
          "switches (userspace datapath, fail_mode secure)")
    book, tokens = TokenBook(), workdir / "tokens.yaml"
    token = book.add("demo", "admin")
    watcher = book.add("demo-viewer", "viewer")
    book.save(tokens)
    port = free_tcp_port()
    api_args = ("--api", f"127.0.0.1:{port}", "--tokens", str(tokens))
    with running_lab(LabTopo(), config_path, workdir, api_args) as lab, \
            ShadowClient(f"http://127.0.0.1:{port}", token) as api:
        net = lab.net
        _step(f"dashboard: http://127.0.0.1:{port}/ (log in with the viewer token {watcher}; "
              "open it now to watch this act live)")
        health = api.health()
        summary.append(f"REST API on 127.0.0.1:{port}: {health['status']}, "
                       f"{health['synced']}/{health['switches']} switches synced")
        state = lab.controller.state()
        for dpid, sw in sorted(state["switches"].items()):
            summary.append(f"switch {sw['name']} (dpid {int(dpid):#x}): connected, "
                           f"{sw['flows']} flows, {sw['groups']} groups installed")
        _step("switches synced; pinging every pair of primary hosts")
        within, across = _reachability(net, config)
        for name, (ok, tried) in within.items():
            summary.append(f"{name}: {ok}/{tried} host pairs reachable")
            if ok != tried:
                problems.append(f"{name}: only {ok}/{tried} pairs reachable")
        summary.append(f"across networks: {across[0]}/{across[1]} pairs reachable "
                       f"({'isolated' if across[0] == 0 else 'NOT isolated'})")
        if across[0]:
            problems.append("networks are not isolated")

        _step(f"iperf3 TCP h1 -> h2 for {seconds:g} s (mirrored by h1-both and h2-in)")
        bps = iperf3_tcp(net.get("h1"), net.get("h2"), seconds=seconds)
        summary.append(f"primary throughput h1 -> h2 (TCP, mirrored): {bps / 1e6:.0f} Mbit/s")

        _step("over the API: narrow mirror session h3-udp-out to UDP port 5301, copies "
              "truncated to 128 bytes")
        session = api.session("tenant-a", "h3-udp-out")
        api.replace_session("tenant-a", "h3-udp-out", {**session["spec"], "truncate": 128,
                                                       "match": {"proto": "udp",
                                                                 "dst_port": 5301}})
        _step("UDP h3 -> h1 at 20 Mbit/s for 3 s, capturing on shadow host h2s")
        with Capture(net.get("h2s"), "h2s-eth0", "udp and dst port 5301") as cap:
            udp = iperf3_udp(net.get("h3"), net.get("h1"), "20M", seconds=3, port=5301)
            time.sleep(0.5)
        seen, sent = cap.count, int(udp["packets"])
        # Copies are judged against what the primary delivered: a packet the busy
        # switch never took from h3 reaches neither h1 nor the twin.
        delivered = int(udp.get("received") or sent)
        summary.append(f"mirror h3-udp-out: {sent} UDP packets sent by h3, {delivered} "
                       f"delivered to h1, {seen} copies seen on shadow h2s "
                       f"({100.0 * min(seen, delivered) / max(delivered, 1):.1f}%)")
        if abs(seen - delivered) > 0.02 * delivered:
            problems.append(f"mirror copied {seen} of the {delivered} packets h1 received")

        _step("shadow h2s sends 200 crafted UDP frames to h1 (must be dropped)")
        with Capture(net.get("h1"), "h1-eth0", "udp and dst port 9") as leak:
            send_frames(net.get("h2s"), "h2s-eth0", 200, 1000.0, "00:00:00:00:0a:02",
                        "00:00:00:00:0a:01", "10.0.0.2", "10.0.0.1", dport=9)
            time.sleep(0.5)
        summary.append(f"shadow h2s -> primary h1: {leak.count}/200 frames delivered "
                       f"({'receive-only holds' if leak.count == 0 else 'LEAK'})")
        if leak.count:
            problems.append("a shadow host reached a primary host")

        _step("demand ramp: UDP h1 -> h2 at 8, 16, 24, 32 Mbit/s (6 s each) for the forecaster")
        with StateSampler(lab, SAMPLED) as sampler:
            for rate in ("8M", "16M", "24M", "32M"):
                iperf3_udp(net.get("h1"), net.get("h2"), rate, seconds=6, port=5302)
            time.sleep(sampler.every * 2)
        capacities = {f"link:{x.switch}:{y.switch}": link.capacity_mbps * 1e6 / 8
                      for link in config.links if link.capacity_mbps
                      for x, y in ((link.a, link.b), (link.b, link.a))}
        sampler.capacity.update(capacities)
        series = sampler.series(SAMPLED)
        state = lab.controller.state()
        measured = state["demand"].get("network:tenant-a:tx", 0.0)
        forecast = api.forecasts()
        fc = forecast["series"].get("network:tenant-a:tx")
        summary.append(f"demand tenant-a now: {measured * 8 / 1e6:.1f} Mbit/s "
                       "(32 Mbit/s of UDP payload, plus headers)")
        if fc is None:
            problems.append("no forecast for tenant-a after the ramp")
        else:
            lo, point, hi = fc
            summary.append(f"forecast tenant-a in {forecast['horizon_s']:g} s: "
                           f"{point * 8 / 1e6:.1f} Mbit/s, {forecast['level']:.0%} "
                           f"interval {lo * 8 / 1e6:.1f}-{hi * 8 / 1e6:.1f} Mbit/s")
        alloc = api.network("tenant-a")["shadow"]["allocation"]
        if alloc is None:
            problems.append("no allocation for tenant-a after the ramp")
        else:
            policed = state["switches"]["1"]["best_effort_kbps"].get("tenant-b@s1>s2")
            summary.append(f"capacity held for tenant-a's shadow ({alloc['strategy']}): "
                           f"{alloc['held'] * 8 / 1e6:.1f} Mbit/s; tenant-b policed to "
                           f"{policed / 1000:.1f} Mbit/s on s1->s2 (meter, 1000 Mbit/s link)")
            if alloc["recommendation"]:
                summary.append(f"shadow compute for tenant-a: {alloc['recommendation']}")

        _step("reading mirror counters back from the switches over the API")
        time.sleep(config.controller.stats_interval * 2 + 0.5)
        for session in api.sessions("tenant-a"):
            c = session["counters"]
            summary.append(f"mirror session {session['name']}: {c['packets']} packets "
                           f"({c['bytes'] / 1e6:.1f} MB) copied (read from the switches)")
        summary.append("API calls the demo made:")
        summary += [f"  {call}" for call in api.calls]
        log_tail = lab.controller.log_tail(20) if problems else ""
        events = lab.controller.state().get("events", [])
    return summary, problems, log_tail, events, series


def main(argv: list[str] | None = None) -> int:
    """Entry point of `scripts/demo`."""
    parser = argparse.ArgumentParser(prog="scripts/demo", description=__doc__)
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG)
    parser.add_argument("--seconds", type=float, default=5.0, help="iperf3 TCP duration")
    parser.add_argument("--act", choices=(*ACTS, "all"), default="all",
                        help="lab: isolation, mirroring, forecast (about 1 min); ring: "
                             "preemptive move, link and host failure (about 2.5 min); "
                             "attack: detection, response, emulated VM (about 1 min)")
    parser.add_argument("--report", type=Path, default=None,
                        help="where to write the HTML report (default: a stamped file in the "
                             "temporary directory); its record is kept beside it as .json")
    args = parser.parse_args(argv)
    missing = require_lab_tools()
    if missing:
        print(f"demo needs: {', '.join(missing)} (run scripts/setup as root)", file=sys.stderr)
        return 2
    if str(REPO_ROOT) not in sys.path:
        sys.path.insert(0, str(REPO_ROOT))
    with tempfile.TemporaryDirectory(prefix="sdn-shadow-demo-") as tmp:
        return run_demo(args.config, args.seconds, Path(tmp),
                        ACTS if args.act == "all" else (args.act,), args.report)


if __name__ == "__main__":
    sys.exit(main())
