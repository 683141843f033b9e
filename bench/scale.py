"""plan_change_ms, plan_full_s and start_to_api_s: the controller on generated fabrics.

No switch is attached anywhere here and nothing touches Open vSwitch: the
changes go through the API (the REST app over starlette's TestClient, or the
service layer where the API has no route) with a `send` that drops the
messages, and `start_to_api_s` starts `sdn-shadow run` on loopback ports.
Fabrics come from `bench.fabric_gen` (seed 0).

`python -m bench.scale plan-full HOSTS TOPOLOGY` is the child process
`plan_full_s` measures in (its peak RSS is its own); it prints one JSON line.
"""

from __future__ import annotations

import copy
import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import warnings
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from bench import fabric_gen
from bench.figures import Figure, median
from sdn_shadow.lab.ports import free_tcp_port

ROOT = Path(__file__).resolve().parents[1]

RING_SWITCHES = 20
CHANGE_HOSTS = 2_000
CURVE = (500, 1_000, 2_000, 5_000, 10_000)
CHANGE_TARGET_MS = 50.0
CURVE_CAP_S = 60.0
"""A size whose predicted single change (the largest at the size before it, scaled
linearly with hosts) exceeds this is not measured; the curve says so."""
REPEATS = 5
"""Changes of each kind per size when they are quick (one when a change takes > 1 s)."""
CHANGES = ("move", "takeover", "mirror", "network")
RENUMBER = "network_first"
"""At CHANGE_HOSTS, once more: a network whose name sorts before every other one. Unset
VLAN ids come from a hash of each name (`config.assemble.assign_vlans`), so the others'
ids stay: this shows the name does not matter (it did when ids went in name order)."""

FULL_HOSTS = 5_000
FULL_TOPOLOGY = "leaf_spine:40:10"  # 50 switches
FULL_TARGET_S, FULL_TARGET_MB = 10.0, 1024.0
FLOOR_SAMPLE = 50_000

START_HOSTS = 2_000
START_REFERENCE_HOSTS = 40
START_TARGET_S = 5.0
START_TIMEOUT_S = 300.0


def _load() -> list[float]:
    """The machine's load averages (1, 5, 15 min): the figures are wall-clock times."""
    return [round(x, 2) for x in os.getloadavg()]


def _revision() -> str:
    """The commit measured, "-dirty" when sdn_shadow/ has uncommitted changes (or
    $BENCH_REVISION, for a tree exported without its .git)."""
    if os.environ.get("BENCH_REVISION"):
        return os.environ["BENCH_REVISION"]

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], capture_output=True, text=True, cwd=ROOT,
                              check=False).stdout.strip()

    head = git("rev-parse", "--short", "HEAD") or "unknown"
    return head + ("-dirty" if git("status", "--porcelain", "--", "sdn_shadow") else "")


def topology(spec: str) -> fabric_gen.Topology:
    """`ring:20`, `fat_tree:4`, `leaf_spine:40:10` -> the generated topology."""
    kind, *args = spec.split(":")
    builders: dict[str, Callable[..., fabric_gen.Topology]] = {
        "ring": fabric_gen.ring, "fat_tree": fabric_gen.fat_tree,
        "leaf_spine": fabric_gen.leaf_spine}
    build = builders[kind]
    return build(*(int(a) for a in args))


# --- plan_change_ms -----------------------------------------------------------------


class World:
    """A controller core at one size behind its API service and REST app; sends go nowhere.

    Built the way the app builds it (`ShadowCore(config)`, then `ControllerService`
    with the configuration document), with every switch connected and synced,
    so each change is decided, diffed and handed to `send` as it would be live.
    """

    def __init__(self, hosts: int, topo: fabric_gen.Topology) -> None:
        with warnings.catch_warnings():  # starlette's advice to install httpx2
            warnings.simplefilter("ignore")
            from fastapi.testclient import TestClient

        from sdn_shadow.api.auth import TokenBook
        from sdn_shadow.api.rest import PREFIX, create_app
        from sdn_shadow.api.service import ControllerService
        from sdn_shadow.config import parse_config
        from sdn_shadow.core import ShadowCore

        self.fabric = fabric_gen.fabric(topo, hosts)
        config = parse_config(self.fabric.document)
        start = time.perf_counter()
        self.core = ShadowCore(config)
        self.build_s = time.perf_counter() - start
        for dpid in self.core.switches:
            self.core.switch_connected(0.0, dpid)
            self.core.switch_synced(0.0, dpid)
        self.sent: list[dict[int, list]] = []
        gc.collect()  # the build's garbage is a start cost, not the first change's
        gc.freeze()  # as the controller does after its start-up plan (control/world.py)

        def send(updates: dict[int, list]) -> None:
            self.sent.append(updates)  # applied at once: the switch I/O is left out

        self.service = ControllerService(self.core, send,
                                         document=copy.deepcopy(self.fabric.document))
        book = TokenBook()
        token = book.add("bench", "admin")
        # Entered once: one event loop for every request, as a server runs (a TestClient
        # used without `with` starts a thread and an event loop for each request).
        self.http = TestClient(create_app(self.service, book))
        self.http.__enter__()
        self.auth = {"Authorization": f"Bearer {token}"}
        self.prefix = PREFIX

    @property
    def flows(self) -> int:
        """Flows of the current plan, every switch."""
        return sum(len(p.flows) for p in self.core.plans.values())

    def close(self) -> None:
        """Stop the REST app's event loop."""
        self.http.__exit__(None, None, None)

    def _call(self, method: str, path: str, body: dict) -> None:
        r = self.http.request(method, self.prefix + path, json=body, headers=self.auth)
        if r.status_code not in (200, 201):
            raise RuntimeError(f"{method} {path}: {r.status_code} {r.text[:500]}")

    def change(self, kind: str, i: int) -> dict:
        """Make change `kind` on network `i` (each repetition its own subject); its cost."""
        net, name = fabric_gen.network_name(i), fabric_gen.host_name
        self.sent.clear()
        cpu = time.process_time()  # this process's CPU (all threads): the wall time also
        start = time.perf_counter()  # counts what other processes take on a busy machine
        if kind == "move":  # a client's path to the shadow: PUT .../clients/<host>
            self._call("PUT", f"/networks/{net}/clients/{name(i, 3)}",
                       {"path": "shadow", "reason": "bench"})
        elif kind == "takeover":  # no REST route: the health policy decides it; the
            host = name(i, 0)     # service's commit path is the one the API's changes take
            with self.service.changing:
                self.service._commit(
                    lambda now: self.core.set_host_served(now, net, host, "twin", "bench"),
                    lambda now: self.core.set_host_served(now, net, host, "primary", "undone"))
        elif kind == "mirror":  # POST .../mirror-sessions
            self._call("POST", f"/networks/{net}/mirror-sessions",
                       {"name": f"{net}-bench-in", "hosts": [name(i, 4)], "direction": "in",
                        "to": [fabric_gen.twin_name(i, 1)]})
        elif kind in ("network", "network_first"):  # POST /networks: 40 more hosts
            new, spec = self.fabric.add_network()
            if kind == "network_first":  # named to sort before the others (see RENUMBER)
                new = f"net-{i}"
            self._call("POST", "/networks", {"name": new, **spec})
        else:
            raise ValueError(kind)
        seconds = time.perf_counter() - start
        cpu = time.process_time() - cpu
        msgs = sum(len(m) for u in self.sent for m in u.values())
        switches = len({d for u in self.sent for d in u})
        return {"s": seconds, "cpu_s": cpu, "messages": msgs, "switches": switches}


def _compile_s(world: World) -> float:
    """A full compile of the world's configuration, from scratch (`sdn-shadow flows`)."""
    from sdn_shadow.openflow.compiler import compile_config

    start = time.perf_counter()
    compile_config(world.core.config)
    return time.perf_counter() - start


def _size(hosts: int, progress: Callable[[str], None],
          kinds: tuple[str, ...] = CHANGES) -> dict:
    """Changes `kinds` at `hosts` hosts on the ring, REPEATS times when they are quick.

    The reference (a full compile) is timed at CHANGE_HOSTS only; every size records
    how long building the core took (a full plan too).
    """
    world = World(hosts, fabric_gen.ring(RING_SWITCHES))
    flows = world.flows
    progress(f"plan_change {hosts} hosts: core built in {world.build_s:.1f} s, {flows} flows")
    reference = None
    if hosts == CHANGE_HOSTS:
        reference = _compile_s(world)
        progress(f"plan_change {hosts} hosts: a full compile takes {reference:.1f} s")
    runs: dict[str, list[dict]] = {kind: [] for kind in kinds}
    for rep in range(REPEATS):
        for kind in kinds:
            result = world.change(kind, rep)
            runs[kind].append(result)
            if result["s"] > 1:
                progress(f"plan_change {hosts} hosts: {kind} took {result['s']:.1f} s "
                         f"({result['messages']} messages to {result['switches']} switches)")
        if max(r["s"] for rs in runs.values() for r in rs) > 1:
            break  # slow: one change of each kind is enough to know
    if hosts == CHANGE_HOSTS:
        result = world.change(RENUMBER, 0)
        runs[RENUMBER] = [result]
        progress(f"plan_change {hosts} hosts: a network named to sort first took "
                 f"{result['s']:.1f} s ({result['messages']} messages)")
    world.close()
    out = {"hosts": hosts, "networks": len(world.fabric.document["networks"]),
           "flows": flows, "core_build_s": round(world.build_s, 3),
           "full_compile_s": None if reference is None else round(reference, 3),
           "repeats": len(runs[kinds[0]])}
    for kind, results in runs.items():
        out[f"{kind}_ms"] = round(1000 * median([r["s"] for r in results]), 2)
        out[f"{kind}_cpu_ms"] = round(1000 * median([r["cpu_s"] for r in results]), 2)
        out[f"{kind}_messages"] = results[0]["messages"]
        out[f"{kind}_switches"] = results[0]["switches"]
    return out


def plan_change_ms(progress: Callable[[str], None]) -> dict[str, Figure]:
    """One client move, host takeover, mirror session added, network added at 2,000 hosts on
    a ring of 20 switches, end to end through the API with no switch attached; and the curve
    from 500 to 10,000 hosts."""
    load = {"at_start": _load(), "after_each_size": []}
    revision = _revision()
    curve: list[dict] = []
    skipped: list[dict] = []
    last = (1, 0.0)  # (hosts, slowest change in s) of the last size measured
    for hosts in CURVE:
        predicted_s = last[1] * hosts / last[0]
        if predicted_s > CURVE_CAP_S and hosts != CHANGE_HOSTS:
            skipped.append({"hosts": hosts, "predicted_change_s": round(predicted_s, 1)})
            progress(f"plan_change {hosts} hosts: not measured, a change would take about "
                     f"{predicted_s:.0f} s (cap {CURVE_CAP_S:.0f} s)")
            continue
        # Above the headline size a slow world gets one change (the move), to keep the
        # whole figure within about 10 minutes.
        kinds = (("move",) if hosts > CHANGE_HOSTS and predicted_s > CURVE_CAP_S / 4
                 else CHANGES)
        point = _size(hosts, progress, kinds)
        curve.append(point)
        last = (hosts, max(point[f"{k}_ms"] for k in kinds) / 1000)
        load["after_each_size"].append(_load()[0])
        progress(f"plan_change {hosts} hosts: " + ", ".join(
            f"{k} {point[f'{k}_ms']:.1f} ms" for k in kinds))
        gc.unfreeze()  # the next size builds a world of its own
        gc.collect()
    at = next(p for p in curve if p["hosts"] == CHANGE_HOSTS)
    note = (f"ring of {RING_SWITCHES} switches, networks of 40 hosts spread over every "
            "switch, each with 2 twins and 2 mirror sessions (bench.fabric_gen, seed 0); "
            "every switch connected and synced, send() drops the messages. move: PUT "
            ".../clients/<host> {path: shadow}; mirror: POST .../mirror-sessions; network: "
            "POST /networks (40 hosts), all over the REST app (starlette TestClient, "
            "entered once: one event loop for all requests, as a server has); "
            "takeover has no REST route (the health policy decides it), so it is "
            "ShadowCore.set_host_served through ControllerService._commit, the path the "
            "API's changes take. Each change is the median of `repeats` (1 when a change "
            "takes over 1 s); cpu_ms is the process's CPU time over the same span (the "
            "wall time also counts other processes on a busy machine). The heap is "
            "collected once after the world is built (the build's own garbage is a start "
            "cost, not a change's). Above 2,000 hosts a size whose changes would take over "
            f"{CURVE_CAP_S / 4:.0f} s is measured with the move only. core_build_s: "
            "ShadowCore(config), a full plan.")
    if skipped:
        note += (f" Sizes whose predicted single change exceeds {CURVE_CAP_S:.0f} s are not "
                 "measured: see `curve_skipped` (prediction: the slowest change at the size "
                 "before, scaled with hosts).")
    figures = {}
    for kind in CHANGES:
        value = at[f"{kind}_ms"]
        figures[f"plan_change_ms_{kind}"] = Figure(
            value, "ms", round(1000 * at["full_compile_s"], 1), f"<= {CHANGE_TARGET_MS:.0f}",
            value <= CHANGE_TARGET_MS, {
                "reference_unit": "ms, compile_config of the whole configuration at the same "
                                  "size (what a change costs if it recompiles everything)",
                "hosts": CHANGE_HOSTS, "switches": RING_SWITCHES,
                "messages": at[f"{kind}_messages"], "switches_touched": at[f"{kind}_switches"],
                "curve": [{"hosts": p["hosts"], "ms": p[f"{kind}_ms"],
                           "cpu_ms": p[f"{kind}_cpu_ms"],
                           "messages": p[f"{kind}_messages"], "flows": p["flows"],
                           "core_build_s": p["core_build_s"]}
                          for p in curve if f"{kind}_ms" in p],
                "curve_skipped": skipped,
                **({"renumbering": {
                    "ms": at[f"{RENUMBER}_ms"], "messages": at[f"{RENUMBER}_messages"],
                    "switches_touched": at[f"{RENUMBER}_switches"],
                    "note": "the same 40-host network added under a name that sorts before "
                            "every other (unset VLAN ids are hashed from names, so the "
                            "others' ids stay)"}} if kind == "network" else {}),
                "load_average": load, "commit": revision,
                "sizes": curve,
                "note": note,
            })
    return figures


# --- plan_full_s ----------------------------------------------------------------------


def _rss_mb(field: str = "VmRSS") -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def plan_full_child(hosts: int, spec: str) -> dict:
    """In a fresh process: parse the generated config, then time `compile_config` on it."""
    from sdn_shadow.config import parse_config
    from sdn_shadow.openflow.compiler import compile_config

    config = parse_config(fabric_gen.fabric(topology(spec), hosts).document)
    gc.collect()
    before = _rss_mb()
    start = time.perf_counter()
    plans = compile_config(config)
    seconds = time.perf_counter() - start
    # VmHWM, not getrusage's ru_maxrss: Linux carries ru_maxrss over fork and exec, so
    # a child of a big bench process would report its parent's size.
    peak = _rss_mb("VmHWM")
    after = _rss_mb()
    flows = [len(p.flows) for p in plans.values()]
    by_subsystem: Counter[str] = Counter()
    by_kind: Counter[str] = Counter()  # "<role> <table> <subsystem>"
    from sdn_shadow.openflow.compiler import shadow_paths
    from sdn_shadow.openflow.pipeline import Subsystem, Table
    from sdn_shadow.topology import Fabric

    edge = {h.switch for n in config.networks for h in n.hosts}
    distinct: set[int] = set()
    for plan in plans.values():
        role = "edge" if plan.name in edge else "transit"
        for flow in plan.flows.values():
            owner = Subsystem(flow.subsystem).name.lower()
            by_subsystem[owner] += 1
            by_kind[f"{role} {Table(flow.table_id).name.lower()} {owner}"] += 1
            distinct.add(id(flow))
    start = time.perf_counter()  # what compile_config spent on the fabric and its paths
    shadow_paths(config, Fabric(config))
    paths_s = time.perf_counter() - start
    return {"seconds": seconds, "peak_rss_mb": peak, "rss_before_compile_mb": before,
            "rss_after_compile_mb": after, "flows": sum(flows),
            "flow_objects": len(distinct), "fabric_and_paths_s": paths_s,
            "flows_per_switch_max": max(flows), "flows_per_switch_min": min(flows),
            "groups": sum(len(p.groups) for p in plans.values()),
            "meters": sum(len(p.meters) for p in plans.values()),
            "flows_by_subsystem": dict(by_subsystem.most_common()),
            "flows_by_kind": dict(by_kind.most_common()),
            "networks": len(config.networks), "switches": len(config.switches)}


def _flow_floor_s(flows: int) -> float:
    """Seconds to build `flows` forwarding Flow objects alone (match, verify, cookie),
    timed on FLOOR_SAMPLE and scaled."""
    from bench.flowset import bench_flows

    count = min(flows, FLOOR_SAMPLE)
    start = time.perf_counter()
    bench_flows(count)
    return (time.perf_counter() - start) * flows / count


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(
        [str(ROOT), *(p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p)]))
    return env


def plan_full_s(progress: Callable[[str], None]) -> dict[str, Figure]:
    """Full planning (compile) of 5,000 hosts on 50 switches in a child process: seconds and
    its peak RSS."""
    progress(f"plan_full: compiling {FULL_HOSTS} hosts on {FULL_TOPOLOGY} in a child process "
             "(seconds)")
    out = subprocess.run([sys.executable, "-m", "bench.scale", "plan-full", str(FULL_HOSTS),
                          FULL_TOPOLOGY], capture_output=True, text=True, check=False,
                         cwd=ROOT, env=_child_env(), timeout=1800)
    if out.returncode != 0:
        raise RuntimeError(f"plan-full child failed: {out.stderr[-2000:]}")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    progress(f"plan_full: {result['seconds']:.1f} s, peak RSS {result['peak_rss_mb']:.0f} MB, "
             f"{result['flows']} flows")
    floor = _flow_floor_s(result["flows"])
    progress(f"plan_full: building {result['flows']} Flow objects alone takes about "
             f"{floor:.1f} s")
    seconds, peak = result["seconds"], result["peak_rss_mb"]
    detail = {**{k: (round(v, 2) if isinstance(v, float) else v) for k, v in result.items()},
              "hosts": FULL_HOSTS, "topology": FULL_TOPOLOGY, "load_average": _load(),
              "commit": _revision(),
              "note": "leaf-spine, 40 leaves x 10 spines, networks of 40 hosts spread over "
                      "every leaf, 2 twins and 2 mirror sessions each (bench.fabric_gen, "
                      "seed 0). compile_config(config) from the parsed Config, fabric and "
                      "shadow paths included, in a fresh child process; memory is that "
                      "process's peak RSS (VmHWM of /proc/self/status), interpreter and parsed "
                      "config included (rss_before_compile_mb). flow_objects: distinct Flow "
                      "objects (an entry alike on many switches is one object); "
                      "flows_by_kind: by switch role (edge: has hosts), table and owner."}
    return {
        "plan_full_s": Figure(
            round(seconds, 2), "s", round(floor, 2), f"<= {FULL_TARGET_S:.0f}",
            seconds <= FULL_TARGET_S,
            {**detail, "reference_unit": "s to build the same number of forwarding Flow "
                                         "objects alone (bench.flowset: match, verify, "
                                         f"cookie), timed on {FLOOR_SAMPLE} and scaled"}),
        "plan_full_peak_mb": Figure(
            round(peak, 1), "MB", round(result["rss_before_compile_mb"], 1),
            f"<= {FULL_TARGET_MB:.0f}", peak <= FULL_TARGET_MB,
            {**detail, "reference_unit": "MB RSS of the same process before compiling"}),
    }


# --- start_to_api_s -------------------------------------------------------------------


def _vm_hwm_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def _start_once(hosts: int, workdir: Path, progress: Callable[[str], None]) -> dict:
    """Start `sdn-shadow run` on a generated config; seconds until GET /health answers."""
    import yaml

    from sdn_shadow.api.auth import TokenBook
    from sdn_shadow.lab.controller import ControllerProcess

    config = workdir / f"fabric-{hosts}.yaml"
    config.write_text(yaml.safe_dump(fabric_gen.fabric_config(
        fabric_gen.ring(RING_SWITCHES), hosts), sort_keys=False))
    tokens = workdir / "tokens.json"
    if not tokens.exists():
        book = TokenBook()
        book.add("bench", "viewer")
        book.save(tokens)
    api_port, of_port = free_tcp_port(), free_tcp_port()
    url = f"http://127.0.0.1:{api_port}/api/v1/health"
    proc = ControllerProcess(config, of_port, workdir / f"state-{hosts}.json",
                             workdir / f"controller-{hosts}.log",
                             extra_args=["--of-host", "127.0.0.1", "--api",
                                         f"127.0.0.1:{api_port}", "--tokens", str(tokens),
                                         "--log-level", "warning"])
    start = time.perf_counter()
    proc.start()
    seconds = None
    try:
        last_note = start
        while True:  # until it answers at all (`starting`), then until it is ready (`ok`)
            try:
                with urllib.request.urlopen(url, timeout=2) as r:
                    status = json.loads(r.read()).get("status") if r.status == 200 else None
                if status is not None and seconds is None:
                    seconds = time.perf_counter() - start
                if status == "ok":
                    ready = time.perf_counter() - start
                    break
            except (OSError, ValueError):
                pass
            if not proc.running:
                raise RuntimeError(f"controller exited ({proc.returncode}) before its API "
                                   f"answered\n{proc.log_tail()}")
            now = time.perf_counter()
            if now - start > START_TIMEOUT_S:
                raise RuntimeError(f"no API answer after {START_TIMEOUT_S:.0f} s")
            if now - last_note > 15:
                progress(f"start_to_api {hosts} hosts: waiting for the API, "
                         f"{now - start:.0f} s")
                last_note = now
            time.sleep(0.05)
        peak = _vm_hwm_mb(proc.pid) if proc.pid else None
    finally:
        proc.stop()
    return {"s": seconds, "ready_s": ready, "peak_rss_mb": peak}


def start_to_api_s(progress: Callable[[str], None]) -> Figure:
    """Seconds from starting `sdn-shadow run` (2,000 hosts, no switch) until its REST API
    answers; reference: the same with 40 hosts."""
    with tempfile.TemporaryDirectory(prefix="sdn-shadow-bench-") as tmp:
        workdir = Path(tmp)
        small = [_start_once(START_REFERENCE_HOSTS, workdir, progress) for _ in range(3)]
        progress(f"start_to_api {START_REFERENCE_HOSTS} hosts: "
                 f"{median([r['s'] for r in small]):.2f} s")
        big = _start_once(START_HOSTS, workdir, progress)
        runs = [big]
        if big["s"] < 30:  # quick enough to take the median of three
            runs += [_start_once(START_HOSTS, workdir, progress) for _ in range(2)]
        seconds = median([r["s"] for r in runs])
        progress(f"start_to_api {START_HOSTS} hosts: {seconds:.2f} s, ready (planned) "
                 f"{median([r['ready_s'] for r in runs]):.2f} s")
    reference = median([r["s"] for r in small])
    peaks = [r["peak_rss_mb"] for r in runs if r["peak_rss_mb"] is not None]
    return Figure(round(seconds, 2), "s", round(reference, 2), f"<= {START_TARGET_S:.0f}",
                  seconds <= START_TARGET_S, {
                      "reference_unit": f"s, the same start with {START_REFERENCE_HOSTS} hosts "
                                        "(imports, OS-Ken, uvicorn: the fixed cost)",
                      "runs_s": [round(r["s"], 2) for r in runs],
                      "reference_runs_s": [round(r["s"], 2) for r in small],
                      "ready_s": round(median([r["ready_s"] for r in runs]), 2),
                      "reference_ready_s": round(median([r["ready_s"] for r in small]), 2),
                      "peak_rss_mb": round(statistics.median(peaks), 1) if peaks else None,
                      "hosts": START_HOSTS, "switches": RING_SWITCHES,
                      "load_average": _load(), "commit": _revision(),
                      "note": "sdn-shadow run --config <generated ring of 20, networks of 40 "
                              "hosts, 2 twins and 2 sessions each> --api 127.0.0.1:<free "
                              "port>, OpenFlow on another free loopback port, no switch "
                              "attached; timed from Popen until GET /api/v1/health answers "
                              "200 (polled every 50 ms; status starting while the fabric is "
                              "planned); ready_s until it says ok (planned); peak_rss_mb is the "
                              "process's VmHWM then. The process is stopped by its pid.",
                  })


def main(argv: list[str]) -> int:
    """The child entry point: `plan-full HOSTS TOPOLOGY` prints its result as JSON."""
    if len(argv) == 3 and argv[0] == "plan-full":
        print(json.dumps(plan_full_child(int(argv[1]), argv[2])), flush=True)
        return 0
    print("usage: python -m bench.scale plan-full HOSTS TOPOLOGY", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
