"""A primary host that stops answering is taken over by its twin, and gets its traffic back.

Health probes (ARP from the controller every 0.2 s, 3 misses) watch h2 on the
ring. A `pfifo limit 0` qdisc on h2's own interface silences it (carrier up,
nothing sent: no port status to go by). New connections to 10.0.0.2 must then
be answered by h2s within the probes' detection time; once h2 answers again
and wait-to-restore and hold have passed, by h2 again.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from sdn_shadow.lab import whoami
from sdn_shadow.lab.session import Lab, running_lab
from sdn_shadow.lab.switchover import switchover_config
from sdn_shadow.lab.traffic import child_env

pytestmark = pytest.mark.integration

PORT = 7070
INTERVAL, MISSES = 0.2, 3

@pytest.fixture(scope="module")
def ring(tmp_path_factory) -> Iterator[Lab]:
    from topologies.ring import RingTopo

    data = switchover_config()
    data["failover"] = {"probe_interval": INTERVAL, "probe_misses": MISSES,
                        "wait_to_restore": 1.0, "hold": 2.0}
    with running_lab(RingTopo(), data, tmp_path_factory.mktemp("takeover")) as lab:
        servers = [lab.host(name).popen(
            [sys.executable, "-m", "sdn_shadow.lab.whoami", "serve", "--name", name, "--port",
             str(PORT)], env=child_env(), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL) for name in ("h2", "h2s")]
        try:
            yield lab
        finally:
            for proc in servers:
                proc.terminate()
                proc.wait(timeout=5)
            lab.host("h2").cmd("tc qdisc del dev h2-eth0 root 2>/dev/null")


def who_answers(lab: Lab, client: str = "h1") -> str:
    """A new TCP connection from `client` to 10.0.0.2: the name of the host that accepted it."""
    answer = whoami.who_answers(lab.host(client), "10.0.0.2", PORT, timeout=2)
    assert not answer.startswith("error"), answer
    return answer


def wait_for(lab: Lab, kind: str, timeout: float) -> dict:
    deadline = time.time() + timeout
    while time.time() < deadline:
        found = [e for e in lab.controller.state().get("events", []) if e["kind"] == kind]
        if found:
            return found[-1]
        time.sleep(0.02)
    raise AssertionError(f"no {kind} event within {timeout} s: "
                         f"{lab.controller.state().get('routing')}")


def test_a_silent_host_is_taken_over_by_its_twin_and_restored(ring) -> None:
    time.sleep(1.0)
    assert who_answers(ring) == "h2"
    assert ring.controller.state()["routing"]["taken_over"] == []

    cut = time.time()
    ring.host("h2").cmd("tc qdisc replace dev h2-eth0 root pfifo limit 0")
    takeover = wait_for(ring, "takeover", timeout=10)
    detection = takeover["t"] - cut
    print(f"taken over {detection:.2f} s after h2 went silent: {takeover['reason']}")
    assert detection <= INTERVAL * (MISSES + 2) + 0.5, takeover
    assert who_answers(ring) == "h2s"

    ring.host("h2").cmd("tc qdisc del dev h2-eth0 root")
    restore = wait_for(ring, "restore", timeout=15)
    assert restore["t"] - takeover["t"] >= 2.0, "not before the hold"
    assert who_answers(ring) == "h2"
    assert ring.controller.state()["routing"]["taken_over"] == []


def test_with_role_swap_the_twin_stays_primary_and_the_recovered_host_stands_by(ring) -> None:
    data = switchover_config()
    data["failover"] = {"probe_interval": INTERVAL, "probe_misses": MISSES,
                        "wait_to_restore": 1.0, "hold": 2.0, "role_swap": True}
    ring.reload(data)
    known = len(ring.controller.state()["events"])
    time.sleep(1.0)
    assert who_answers(ring) == "h2"

    ring.host("h2").cmd("tc qdisc replace dev h2-eth0 root pfifo limit 0")
    wait_for(ring, "takeover", timeout=10)
    assert who_answers(ring) == "h2s"
    ring.host("h2").cmd("tc qdisc del dev h2-eth0 root")
    swap = wait_for(ring, "role_swap", timeout=15)
    print(f"role swap: {swap['reason']}")
    routing = ring.controller.state()["routing"]
    assert routing["roles_swapped"] == ["tenant-a/h2"] and routing["taken_over"] == []
    time.sleep(1.0)  # the recovered machine answers probes: it still serves nothing
    assert who_answers(ring) == "h2s", "the twin's machine keeps serving after the swap"

    # The machine serving now fails: the recovered one (the twin now) takes over.
    ring.host("h2s").cmd("tc qdisc replace dev h2s-eth0 root pfifo limit 0")
    try:
        deadline = time.time() + 10
        while ring.controller.state()["routing"]["taken_over"] != ["tenant-a/h2"]:
            assert time.time() < deadline, ring.controller.state()["routing"]
            time.sleep(0.05)
        assert who_answers(ring) == "h2"
    finally:
        ring.host("h2s").cmd("tc qdisc del dev h2s-eth0 root")
    deadline = time.time() + 15
    while ring.controller.state()["routing"]["roles_swapped"]:
        assert time.time() < deadline, ring.controller.state()["routing"]
        time.sleep(0.05)
    kinds = [e["kind"] for e in ring.controller.state()["events"][known:]]
    assert kinds == ["takeover", "role_swap", "takeover", "role_swap"], kinds
    assert who_answers(ring) == "h2", "roles are back where they started"


def test_activating_the_shadow_by_config_redirects_new_connections_and_back(ring) -> None:
    data = switchover_config()
    data["networks"]["tenant-a"]["shadow"]["active"] = True
    state = ring.reload(data)
    assert state["routing"]["shadow_active"] == ["tenant-a"]
    # h1 is served by h1s too: the client runs on h1s's machine; h1's stands by.
    assert who_answers(ring, "h1s") == "h2s", "the shadow serves"
    answer = whoami.who_answers(ring.host("h1"), "10.0.0.2", PORT, timeout=2)
    assert answer.startswith("error"), "the primary stands by: its hosts reach nothing"
    data["networks"]["tenant-a"]["shadow"]["active"] = False
    ring.reload(data)
    ring.host("h1").cmd("ip neigh flush dev h1-eth0")  # its failed ARP would hold for a while
    assert who_answers(ring) == "h2"
    kinds = [e["kind"] for e in ring.controller.state()["events"]]
    assert kinds[-4:] == ["shadow_serving", "config", "primary_serving", "config"], kinds
