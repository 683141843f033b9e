"""lab_fabric_sync_s and lab_fabric_move_ms: the generated fabric on real switches.

The largest fabric this machine carries: the k=4 fat-tree of `bench.fabric_gen`
(20 userspace OVS switches in Mininet) with HOSTS declared hosts in networks
of 40, each with its twins and mirror sessions, as the scale figures use. Only
a sample of the declared hosts is made in Mininet (`SAMPLE`: the first four
hosts of the first two networks, on four different edge switches, and their
first two twins); the controller plans for every declared host either way.

- `lab_fabric_sync_s`: seconds from starting `sdn-shadow run` (and, at the
  same moment, the net) until every switch is connected and synced (its
  flows, groups and meters confirmed), with the sample's pings checked after.
- `lab_fabric_move_ms`: one client moved to its shadow path through the REST
  API (`PUT .../clients/<host>`), from the request until the answer (the
  answer comes once every switch confirmed the change), then pings again.

The reference of each is the same measurement with one 40-host network on
the same 20 switches, in the same run: what the fabric costs before the hosts.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import yaml
from mininet.topo import Topo

from bench import fabric_gen
from bench.figures import Figure, median
from sdn_shadow.lab.session import Lab

HOSTS = 2_000
REFERENCE_HOSTS = 40
K = 4
RUNS = 3
SYNC_TIMEOUT_S = 600.0
#: (network, host) of the primaries made in Mininet; twins of hosts 0 and 1 of each too.
SAMPLE = [(n, h) for n in (0, 1) for h in range(4)]


def _switch(dpid: int) -> str:
    """The Mininet name of switch `dpid` (short: interface names have 15 characters)."""
    return f"g{dpid}"


class FabricTopo(Topo):
    """The generated document's switches and links, and the sampled hosts on their ports."""

    def build(self, document: dict, sample: list[tuple[int, int]]) -> None:
        """Switches by dpid, fabric links on their ports, sampled hosts and twins."""
        switches = document["fabric"]["switches"]
        for spec in switches.values():
            self.addSwitch(_switch(spec["dpid"]), dpid=f"{spec['dpid']:016x}")
        for link in document["fabric"]["links"]:
            (a, pa), (b, pb) = (link[end].rsplit(":", 1) for end in ("a", "b"))
            self.addLink(_switch(switches[a]["dpid"]), _switch(switches[b]["dpid"]),
                         port1=int(pa), port2=int(pb))
        for n, h in sample:
            net = document["networks"][fabric_gen.network_name(n)]
            prefix = net["cidr"].split("/")[1]
            primary = net["hosts"][fabric_gen.host_name(n, h)]
            names = [(fabric_gen.host_name(n, h), primary)]
            twin = net["shadow"]["hosts"].get(fabric_gen.twin_name(n, h))
            if twin is not None:
                names.append((fabric_gen.twin_name(n, h), twin))
            for name, spec in names:
                self.addHost(name, mac=primary["mac"], ip=f"{primary['ip']}/{prefix}")
                self.addLink(name, _switch(switches[spec["switch"]]["dpid"]),
                             port2=spec["port"])


@contextmanager
def _fabric(hosts: int, workdir: Path, progress: Callable[[str], None]
            ) -> Iterator[tuple[dict, float, Lab, tuple[str, str]]]:
    """Controller and net of the k=4 fat-tree with `hosts` hosts: (document, seconds to
    sync, the lab, (API URL, admin token))."""
    from sdn_shadow.api.auth import TokenBook
    from sdn_shadow.lab.controller import ControllerProcess
    from sdn_shadow.lab.net import free_tcp_port, running_net

    document = fabric_gen.fabric_config(fabric_gen.fat_tree(K), hosts)
    config = workdir / f"fabric-{hosts}.yaml"
    config.write_text(yaml.safe_dump(document, sort_keys=False))
    tokens = workdir / "tokens.json"
    book = TokenBook()
    token = book.add("bench", "admin")
    book.save(tokens)
    api_port, of_port = free_tcp_port(), free_tcp_port()
    controller = ControllerProcess(
        config, of_port, workdir / f"state-{hosts}.json", workdir / f"controller-{hosts}.log",
        extra_args=["--api", f"127.0.0.1:{api_port}", "--tokens", str(tokens),
                    "--log-level", "warning"])
    sample = [(n, h) for n, h in SAMPLE
              if fabric_gen.network_name(n) in document["networks"]]
    dpids = [spec["dpid"] for spec in document["fabric"]["switches"].values()]
    start = time.perf_counter()
    controller.start()
    try:
        with running_net(FabricTopo(document, sample), of_port) as net:
            controller.wait_synced(dpids, timeout=SYNC_TIMEOUT_S)
            seconds = time.perf_counter() - start
            progress(f"{hosts} hosts: {len(dpids)} switches synced {seconds:.2f} s after start")
            yield document, seconds, Lab(net, controller, dpids), (
                f"http://127.0.0.1:{api_port}", token)
    finally:
        controller.stop()


def _pings(lab: Lab, sample: list[tuple[int, int]]) -> list[str]:
    """Ping from host 0 of each sampled network to its other sampled hosts; the failures."""
    from sdn_shadow.lab.traffic import ping

    failed = []
    for n in sorted({n for n, _ in sample}):
        src = lab.host(fabric_gen.host_name(n, 0))
        for _, h in [(m, h) for m, h in sample if m == n and h]:
            dst = lab.host(fabric_gen.host_name(n, h))
            ping(src, dst.IP(), count=1, interval=0.2)  # warm-up: ARP on the way
            result = ping(src, dst.IP(), count=3, interval=0.2)
            if result.received < 3:
                failed.append(f"{src.name} -> {dst.name}: {result.received}/3")
    return failed


def _move_ms(api: tuple[str, str], network: str, host: str, path: str) -> float:
    """Milliseconds for one `PUT .../clients/<host> {path}` through the API."""
    from sdn_shadow.client import ShadowClient

    with ShadowClient(*api) as client:
        start = time.perf_counter()
        client.set_client(network, host, path=path, reason="bench")
        return (time.perf_counter() - start) * 1000


def _measure(hosts: int, progress: Callable[[str], None]) -> dict:
    """Sync seconds and move ms (median of RUNS moves there and back) at `hosts`."""
    with tempfile.TemporaryDirectory(prefix="bench-fabric-") as tmp, \
            _fabric(hosts, Path(tmp), progress) as (document, synced, lab, api):
        sample = [(n, h) for n, h in SAMPLE
                  if fabric_gen.network_name(n) in document["networks"]]
        failed = _pings(lab, sample)
        network, host = fabric_gen.network_name(0), fabric_gen.host_name(0, 3)
        moves = []
        for _ in range(RUNS):
            moves.append(_move_ms(api, network, host, "shadow"))
            failed += [f"on the shadow path: {f}" for f in _pings(lab, sample)]
            moves.append(_move_ms(api, network, host, "primary"))
        progress(f"{hosts} hosts: moves {', '.join(f'{m:.0f}' for m in moves)} ms; "
                 f"ping failures {failed or 'none'}")
        flows = sum(len(lab.dump_flows(_switch(d))) for d in lab.dpids)
    return {"sync_s": synced, "move_ms": median(moves), "moves_ms": moves, "failed": failed,
            "flows": flows, "sampled_hosts": len(sample)}


def lab_fabric(progress: Callable[[str], None]) -> dict[str, Figure]:
    """Both figures at HOSTS declared hosts, references at REFERENCE_HOSTS, in one run."""
    small = _measure(REFERENCE_HOSTS, progress)
    big = _measure(HOSTS, progress)
    checks = not small["failed"] and not big["failed"]
    detail = {"topology": f"fat-tree k={K}, 20 switches (userspace OVS, Mininet)",
              "declared_hosts": HOSTS, "reference_hosts": REFERENCE_HOSTS,
              "flows_installed": big["flows"], "reference_flows_installed": small["flows"],
              "sampled_hosts": big["sampled_hosts"], "ping_failures": big["failed"]
              + small["failed"]}
    return {
        "lab_fabric_sync_s": Figure(
            round(big["sync_s"], 2), "s", round(small["sync_s"], 2),
            "every switch synced, sampled pings answered", checks,
            {**detail, "reference_unit": f"s, the same start with {REFERENCE_HOSTS} hosts"}),
        "lab_fabric_move_ms": Figure(
            round(big["move_ms"], 1), "ms", round(small["move_ms"], 1),
            "applied on every switch, sampled pings answered on the shadow path", checks,
            {**detail, "moves_ms": [round(m, 1) for m in big["moves_ms"]],
             "reference_moves_ms": [round(m, 1) for m in small["moves_ms"]],
             "reference_unit": f"ms, the same move with {REFERENCE_HOSTS} hosts"}),
    }
