"""Service steering in Mininet: a steered client's new TCP connections reach the twin.

On the ring, h2 is a service host and its twin h2s (same IP and MAC, port 2
of s2) runs the same service. Both answer with their own name
(`sdn_shadow.lab.whoami`), so each connection says who serves it. Steering
is changed by live reload, as an operator would; OVS connection tracking on
the userspace datapath keeps established connections where they started.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator

import pytest

from sdn_shadow.lab.session import Lab, running_lab
from sdn_shadow.lab.switchover import switchover_config
from sdn_shadow.lab.traffic import child_env

pytestmark = pytest.mark.integration
PORT = 8080


def steering_config(*steered: str) -> dict:
    """The ring with h2 as a service host; `steered` clients' new connections go to h2s."""
    data = switchover_config()
    shadow = data["networks"]["tenant-a"]["shadow"]
    shadow["services"] = {"h2": {"capacity": 50}}
    if steered:
        shadow["clients"] = {host: {"service": "twin"} for host in steered}
    return data


class Client:
    """A whoami client in a Mininet host: open, ask and close connections to h2's address."""

    def __init__(self, lab: Lab, host: str) -> None:
        self.proc = lab.host(host).popen(
            [sys.executable, "-m", "sdn_shadow.lab.whoami", "client", "--dst", "10.0.0.2",
             "--port", str(PORT)], env=child_env(), stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def __call__(self, verb: str, cid: str) -> str:
        """Who answered `verb cid` (open or ask)."""
        assert self.proc.stdin and self.proc.stdout
        self.proc.stdin.write(f"{verb} {cid}\n")
        self.proc.stdin.flush()
        reply = json.loads(self.proc.stdout.readline())
        assert "error" not in reply, reply
        return reply["by"]

    def close(self) -> None:
        """Quit and wait."""
        assert self.proc.stdin
        self.proc.stdin.write("quit\n")
        self.proc.stdin.flush()
        self.proc.communicate(timeout=10)


@pytest.fixture(scope="module")
def lab(tmp_path_factory) -> Iterator[Lab]:
    """The ring with whoami servers on h2 and h2s."""
    from topologies.ring import RingTopo

    with running_lab(RingTopo(), steering_config(), tmp_path_factory.mktemp("steer")) as lab:
        servers = [lab.host(name).popen(
            [sys.executable, "-m", "sdn_shadow.lab.whoami", "serve", "--name", name,
             "--port", str(PORT)], env=child_env(), stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for name in ("h2", "h2s")]
        try:
            for server in servers:
                assert server.stdout and "listening" in server.stdout.readline()
            yield lab
        finally:
            for server in servers:
                server.terminate()
                server.communicate(timeout=10)


def test_new_connections_go_to_the_twin_while_established_ones_stay(lab) -> None:
    h1, h3 = Client(lab, "h1"), Client(lab, "h3")
    try:
        assert h1("open", "a") == "h2"
        assert h1("ask", "a") == "h2"

        state = lab.reload(steering_config("h1"))
        assert state["routing"]["twin_service"] == ["tenant-a/h1"]
        assert h1("ask", "a") == "h2", "an established connection stays with the host"
        assert h1("open", "b") == "h2s", "a new one goes to the twin"
        assert h1("ask", "b") == "h2s"
        assert h3("open", "c") == "h2", "a client not steered still reaches the host"

        state = lab.reload(steering_config())
        assert state["routing"]["twin_service"] == []
        assert h1("ask", "b") == "h2s", "the twin keeps the connection it started"
        assert h1("ask", "a") == "h2"
        assert h1("open", "d") == "h2"
        assert h3("ask", "c") == "h2"
    finally:
        h1.close()
        h3.close()
    steer = [e for e in lab.controller.state()["events"] if e["kind"] == "config"]
    assert [e["result"] for e in steer[-2:]] == ["applied", "applied"]
    assert any("ct(" in line for line in lab.dump_flows("s2"))


def test_ping_is_answered_for_steered_and_other_clients_alike(lab) -> None:
    lab.reload(steering_config("h3"))
    try:
        for host in ("h1", "h3"):
            out = lab.host(host).cmd("ping -c 2 -W 1 -i 0.2 10.0.0.2")
            assert " 0% packet loss" in out, (host, out)
    finally:
        lab.reload(steering_config())
