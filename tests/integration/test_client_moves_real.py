"""Client path moves on the real ring: traffic shifts to the shadow path and back, no loss."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from sdn_shadow.lab.session import Lab, running_lab
from sdn_shadow.lab.traffic import start_ping

pytestmark = pytest.mark.integration

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture(scope="module")
def ring(tmp_path_factory) -> Iterator[Lab]:
    from topologies.ring import RingTopo

    with running_lab(RingTopo(), EXAMPLES / "ring.yaml", tmp_path_factory.mktemp("moves")) as lab:
        yield lab


def packets_via(switch: str, vid: int) -> int:
    """Packets switch `switch` carried as shadow-path transit (tag `vid`)."""
    out = subprocess.run(["ovs-ofctl", "-O", "OpenFlow13", "dump-flows", switch,
                          f"table=0,dl_vlan={vid}"], capture_output=True, text=True,
                         check=True).stdout
    return sum(int(part.split("=")[1].rstrip(",")) for line in out.splitlines()
               for part in line.split() if part.startswith("n_packets="))


def shadow_vlan() -> int:
    """The VLAN id the parser assigns to tenant-a's shadow in examples/ring.yaml."""
    from sdn_shadow.config import parse_config

    config = parse_config(yaml.safe_load((EXAMPLES / "ring.yaml").read_text()))
    shadow = config.networks[0].shadow
    assert shadow is not None
    return shadow.vlan


def policy(path: str) -> dict:
    data = yaml.safe_load((EXAMPLES / "ring.yaml").read_text())
    data["networks"]["tenant-a"]["shadow"]["clients"] = {"h1": {"path": path}}
    return data


def test_move_to_shadow_and_back_under_ping(ring) -> None:
    shadow_vid = shadow_vlan()  # tenant-a's shadow VLAN (assigned from its name)
    run = start_ping(ring.host("h1"), "10.0.0.2", count=1000, interval=0.01)
    time.sleep(1.0)
    before = packets_via("s4", shadow_vid)
    state = ring.restart(policy("shadow"))  # s1 -> s4 -> s3 -> s2 from now on
    assert state["switches"]["1"]["last_sync"]["deleted"] == 0, "make-before-break"
    time.sleep(2.0)
    moved = packets_via("s4", shadow_vid) - before
    ring.restart(policy("primary"))
    result = run.result()
    assert moved >= 100, "h1's traffic did not take the shadow path"
    assert result.loss <= 0.01, result  # measured 0 in every run so far
    assert result.duplicates == 0


def _moves_during(ring: Lab, work) -> dict:
    """Run `work(result)` in a thread while h1 moves to the shadow and back."""
    import threading

    result: dict = {}
    thread = threading.Thread(target=work, args=(result,))
    thread.start()
    time.sleep(2.0)
    ring.restart(policy("shadow"))
    time.sleep(2.0)
    ring.restart(policy("primary"))
    thread.join()
    return result


def test_moves_under_udp_load_lose_almost_nothing(ring) -> None:
    # Asserted loosely, to catch breakage (a broken move loses a path's worth):
    # moves are triggered here by restarting the controller, and OVS's userspace
    # datapath forwards AF_PACKET ports in the same thread that serves the new
    # connection's flow dump and polls. Measured: 0, 0 and 5 of 69,054 lost at
    # 100 Mbit/s; 0 in 3 of 4 runs and 318 of 34,527 in one at 50 Mbit/s.
    from sdn_shadow.lab.traffic import iperf3_udp

    udp = _moves_during(ring, lambda out: out.update(iperf3_udp(
        ring.host("h1"), ring.host("h2"), "50M", seconds=8, port=5601)))
    print(f"moves under UDP load: {udp}")
    assert udp["lost_fraction"] <= 0.03, udp
    assert udp["packets"] > 25_000


def test_a_tcp_stream_survives_both_moves(ring) -> None:
    # Run apart from the UDP stream: on 2 cores, 100 Mbit/s of UDP plus any TCP
    # overload the single-threaded userspace datapath (UDP loses ~2% with no move).
    from sdn_shadow.lab.traffic import iperf3_tcp

    tcp = _moves_during(ring, lambda out: out.update(bps=iperf3_tcp(
        ring.host("h1"), ring.host("h2"), seconds=8, port=5602)))
    assert tcp["bps"] > 10e6  # ran to the end: iperf3 fails on a reset connection
