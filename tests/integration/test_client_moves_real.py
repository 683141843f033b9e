"""Client path moves on the real ring: traffic shifts to the shadow path and back, no loss."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from sdn_shadow.lab.session import Lab, running_lab
from sdn_shadow.lab.traffic import start_ping
from tests.lab_streams import AFTER, BEFORE, flow_packets, numbered_streams

pytestmark = pytest.mark.integration

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture(scope="module")
def ring(tmp_path_factory) -> Iterator[Lab]:
    from topologies.ring import RingTopo

    with running_lab(RingTopo(), EXAMPLES / "ring.yaml", tmp_path_factory.mktemp("moves")) as lab:
        yield lab


def packets_via(switch: str, vid: int) -> int:
    """Packets switch `switch` carried as shadow-path transit (tag `vid`)."""
    return flow_packets(switch, f"table=0,dl_vlan={vid}")


def shadow_vlan() -> int:
    """The VLAN id the parser assigns to tenant-a's shadow in examples/ring.yaml."""
    from sdn_shadow.config import parse_config

    config = parse_config(yaml.safe_load((EXAMPLES / "ring.yaml").read_text()))
    shadow = config.networks[0].shadow
    assert shadow is not None
    return shadow.vlan


def policy(path: str, h3: str = "primary") -> dict:
    """examples/ring.yaml with h1 (and h3) placed on `path` (primary|shadow)."""
    data = yaml.safe_load((EXAMPLES / "ring.yaml").read_text())
    data["networks"]["tenant-a"]["shadow"]["clients"] = {"h1": {"path": path},
                                                         "h3": {"path": h3}}
    return data


def test_move_to_shadow_and_back_under_ping(ring) -> None:
    shadow_vid = shadow_vlan()  # tenant-a's shadow VLAN (assigned from its name)
    # Pinging until stopped: a restart takes 1 s on a quiet box and 30 s on a loaded one.
    run = start_ping(ring.host("h1"), "10.0.0.2", count=30_000, interval=0.01)
    time.sleep(1.0)
    before = packets_via("s4", shadow_vid)
    state = ring.restart(policy("shadow"))  # s1 -> s4 -> s3 -> s2 from now on
    assert state["switches"]["1"]["last_sync"]["deleted"] == 0, "make-before-break"
    time.sleep(2.0)
    moved = packets_via("s4", shadow_vid) - before
    ring.restart(policy("primary"))
    time.sleep(1.0)
    result = run.stop()
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


MBPS = 20.0  # per stream; what this box carries through restarts at load 11 (50 did not)
SLACK = 40  # datagrams (20 ms at MBPS) one stream may lose and the other not, and 1% of the
SHARE = 0.01  # span's datagrams: restarts take 1-30 s and a loaded box drops bursts throughout
MOVING, CONTROL = ("h1", "h2", 5601), ("h3", "h4", 5603)


def _moves_beside_a_control(ring: Lab, vid: int) -> tuple[int, int, str]:
    """Numbered UDP h1 -> h2 and, at the same rate and time, h3 -> h4 (the control) while
    restarts move h1 to the shadow path and back: (lost by h1's stream from just before the
    first move until after the second, what it may lose, log).

    h3 stays on its own shadow path (s3 -> s2 -> s1 -> s4) throughout, so the control
    crosses as many bridges as h1's stream does on the shadow path, and as many datapath
    queues that a stall can overflow."""
    ring.reload(policy("primary", h3="shadow"))
    try:
        before = packets_via("s4", vid)
        moving, control = numbered_streams(ring, [MOVING, CONTROL], MBPS, [
            (1.5, "shadow", lambda: ring.restart(policy("shadow", h3="shadow"))),
            (2.0, "primary", lambda: ring.restart(policy("primary", h3="shadow")))])
        via_shadow = packets_via("s4", vid) - before
    finally:
        ring.reload(policy("primary"))
    to_shadow, back = moving.changes
    log = (f"moving: {moving.line()}\ncontrol: {control.line()}\n"
           f"via s4 on the shadow VLAN: {via_shadow}")
    print(log)
    # Traffic really took the shadow path between the moves (a move that did not happen,
    # say a flow sent before the group it names, loses nothing and must fail too). The
    # control, on its shadow path all along, enters s4 from s1 as well: counted with it.
    moved_for = moving.seq_at(back.asked) - moving.seq_at(to_shadow.applied)
    assert via_shadow >= 0.5 * moved_for + control.udp.received, (
        f"h1's stream did not take the shadow path: {via_shadow} packets via s4")
    assert moving.udp.duplicates == 0, log
    span = (to_shadow.asked - BEFORE, back.applied + AFTER)
    lost, allowed = moving.lost_during(*span), 2 * control.lost_during(*span) + SLACK
    allowed += int(SHARE * (moving.seq_at(span[1]) - moving.seq_at(span[0])))
    print(f"SUMMARY from the first move to the last: lost {lost}, control "
          f"{control.lost_during(*span)}, allowed {allowed}")
    return lost, allowed, log


def test_moves_under_udp_load_lose_nothing_a_control_does_not(ring) -> None:
    """h1 -> h2 numbered UDP while restarts move h1 to the shadow path and back, beside a
    control stream h3 -> h4 at the same rate through the same restarts, never moved.

    A restart stalls OVS's userspace datapath (one thread forwards every bridge's
    AF_PACKET ports and serves the new connection), and a loaded 2-core box drops
    bursts with no move at all (measured at load 11: restarts took 8-16 s; 50 Mbit/s
    lost 2,514 of 52,068 with no move). A stall drops both streams alike if they cross
    as many bridges (beside a one-hop control, h1's on the shadow path lost 606 to its
    177), so the moved one may lose, from just before the first move until after the
    move back, twice what the control lost in that span plus SLACK and a SHARE of the
    span (measured 316 against the control's 26 over 2 restarts at load 11). A broken move loses
    a path's worth (the whole shadow period, thousands of datagrams); one more run if
    the first is over.
    """
    vid = shadow_vlan()
    lost, allowed, log = _moves_beside_a_control(ring, vid)
    if lost > allowed:
        print(f"lost {lost} around the moves, allowed {allowed}: once more")
        lost, allowed, log = _moves_beside_a_control(ring, vid)
    assert lost <= allowed, f"{lost} lost around the moves, allowed {allowed}\n{log}"


def test_a_tcp_stream_survives_both_moves(ring) -> None:
    # Run apart from the UDP stream: on 2 cores, 100 Mbit/s of UDP plus any TCP
    # overload the single-threaded userspace datapath (UDP loses ~2% with no move).
    from sdn_shadow.lab.traffic import iperf3_tcp

    tcp = _moves_during(ring, lambda out: out.update(bps=iperf3_tcp(
        ring.host("h1"), ring.host("h2"), seconds=8, port=5602)))
    assert tcp["bps"] > 10e6  # ran to the end: iperf3 fails on a reset connection
