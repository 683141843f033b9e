"""TLS on both channels of the real controller process, with a real Open vSwitch bridge.

A lab PKI (`make_lab_pki`) signs the controller/API certificate and a switch
certificate. The controller runs with `controller.tls` and `api.tls`; a bare
userspace OVS bridge of ours gets the switch certificate (`ovs-vsctl set-ssl`,
restored afterwards) and connects with `ssl:`. A switch that speaks plain
`tcp:` OpenFlow, a TLS client without a certificate (or with another CA's) and
plain HTTP on the API port are all refused.
"""

from __future__ import annotations

import os
import shlex
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import yaml

from bench.ovsbridge import run
from sdn_shadow.api.auth import TokenBook
from sdn_shadow.client import ShadowClient
from sdn_shadow.lab.controller import ControllerProcess
from sdn_shadow.lab.net import free_tcp_port
from sdn_shadow.tls import LabPki, make_lab_pki
from tests.docs_commands import lines_for

pytestmark = pytest.mark.integration

DPID = 0x5E1100000000 + os.getpid() % 100000
BRIDGE = f"tls{os.getpid() % 100000}"


@dataclass
class TlsController:
    """The controller process serving OpenFlow and the API over TLS."""

    process: ControllerProcess
    of_port: int
    api_port: int
    api: ShadowClient
    log: Path


def tls_config(pki: LabPki, api_port: int, tokens: Path) -> dict:
    """One switch (our bridge's dpid) with one host; TLS on both channels."""
    return {
        "controller": {"tls": {"cert": str(pki.server_cert), "key": str(pki.server_key),
                               "ca": str(pki.ca_cert)}},
        "api": {"listen": f"127.0.0.1:{api_port}", "tokens": str(tokens),
                "tls": {"cert": str(pki.server_cert), "key": str(pki.server_key)}},
        "fabric": {"switches": {"s1": {"dpid": DPID}}},
        "networks": {"net-a": {"cidr": "10.9.0.0/24", "hosts": {
            "h1": {"switch": "s1", "port": 1, "mac": "02:00:00:00:09:01", "ip": "10.9.0.1"}}}},
    }


def wait_for(what: str, check: Callable[[], object], timeout: float, log: Path) -> object:
    """check()'s first truthy value within timeout s, else fail showing the controller log."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = check()
        except (httpx.TransportError, OSError):
            value = None
        if value:
            return value
        if time.monotonic() >= deadline:
            tail = "".join(log.read_text(errors="replace").splitlines(True)[-30:])
            pytest.fail(f"{what}: not within {timeout} s\n--- controller log:\n{tail}")
        time.sleep(0.2)


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> LabPki:
    return make_lab_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def controller(tmp_path_factory, pki: LabPki) -> Iterator[TlsController]:
    """`sdn-shadow run` with controller.tls and api.tls; stopped by pid afterwards."""
    tmp = tmp_path_factory.mktemp("tls")
    tokens = tmp / "tokens.yaml"
    book = TokenBook()
    book.add("viewer-user", "viewer")
    book.save(tokens)
    of_port, api_port = free_tcp_port(), free_tcp_port()
    config = tmp / "config.yaml"
    config.write_text(yaml.safe_dump(tls_config(pki, api_port, tokens), sort_keys=False))
    log = tmp / "controller.log"
    process = ControllerProcess(config, of_port, tmp / "state.json", log)
    verify = ssl.create_default_context(cafile=str(pki.ca_cert))
    api = ShadowClient(http=httpx.Client(base_url=f"https://127.0.0.1:{api_port}",
                                         verify=verify, timeout=5))
    process.start()
    try:
        process.wait_listening()
        wait_for("the API answers (HTTPS or, wrongly, HTTP)",
                 lambda: _answers(api) or _answers_plain(api_port), 20, log)
        if _answers_plain(api_port):
            pytest.fail("the API serves plain HTTP: is api.tls passed to ApiServer?")
        yield TlsController(process, of_port, api_port, api, log)
    finally:
        api.close()
        process.stop()


def _answers(api: ShadowClient) -> bool:
    try:
        return bool(api.health())
    except httpx.TransportError:
        return False


def _answers_plain(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=2).is_success
    except httpx.TransportError:
        return False


@pytest.fixture(scope="module")
def ovs_ssl(pki: LabPki) -> Iterator[None]:
    """Open vSwitch's (global) SSL settings pointed at our switch certificate and CA;
    the previous settings restored after (or removed if there were none)."""
    saved = run("ovs-vsctl", "get-ssl")
    previous = dict(line.split(": ", 1) for line in saved.splitlines() if ": " in line)
    run("ovs-vsctl", "set-ssl", str(pki.switch_key), str(pki.switch_cert), str(pki.ca_cert))
    try:
        yield
    finally:
        if not previous:
            run("ovs-vsctl", "del-ssl")
        else:
            bootstrap = ["--bootstrap"] if previous.get("Bootstrap") == "true" else []
            run("ovs-vsctl", *bootstrap, "set-ssl", previous["Private key"],
                previous["Certificate"], previous["CA Certificate"])
        assert run("ovs-vsctl", "get-ssl") == saved


@pytest.fixture
def bridge() -> Iterator[str]:
    """A bare userspace bridge of ours (no controller yet); always deleted."""
    run("ovs-vsctl", "--if-exists", "del-br", BRIDGE, "--", "add-br", BRIDGE, "--", "set",
        "bridge", BRIDGE, "datapath_type=netdev", f"other-config:datapath-id={DPID:016x}",
        "protocols=OpenFlow13", "fail_mode=secure")
    try:
        yield BRIDGE
    finally:
        run("ovs-vsctl", "--if-exists", "del-br", BRIDGE)


def ovs_connected(bridge: str) -> bool:
    """Whether OVS says the bridge's controller connection is up."""
    return run("ovs-vsctl", "get", "controller", bridge, "is_connected").strip() == "true"


def test_a_switch_with_a_ca_signed_certificate_connects_over_tls(controller, ovs_ssl,
                                                                 bridge) -> None:
    run("ovs-vsctl", "set-controller", bridge, f"ssl:127.0.0.1:{controller.of_port}")
    health = wait_for("switch connected and synced over TLS",
                      lambda: (h := controller.api.health())["synced"] == 1 and h, 20,
                      controller.log)
    assert (health["switches"], health["connected"], health["synced"]) == (1, 1, 1)
    wait_for("OVS reports is_connected", lambda: ovs_connected(bridge), 20, controller.log)
    status = run("ovs-vsctl", "get", "controller", bridge, "status")
    assert "state=ACTIVE" in status, status
    flows = run("ovs-ofctl", "-O", "OpenFlow13", "dump-flows", bridge)
    assert "priority=0" in flows, "the controller installed nothing"
    assert f"ssl:127.0.0.1:{controller.of_port}" in controller.log.read_text()


def test_plain_http_on_the_api_port_gets_no_answer(controller) -> None:
    """uvicorn closes the connection at the failed TLS handshake: no HTTP status at all."""
    with pytest.raises(httpx.RemoteProtocolError, match="disconnected without sending"):
        httpx.get(f"http://127.0.0.1:{controller.api_port}/api/v1/health", timeout=5)
    with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        httpx.get(f"https://127.0.0.1:{controller.api_port}/api/v1/health", timeout=5)


def _openflow_over_tls(of_port: int, ctx: ssl.SSLContext) -> bytes:
    """Connect with TLS and read the controller's first 8 bytes (its OpenFlow HELLO)."""
    with socket.create_connection(("127.0.0.1", of_port), timeout=5) as raw, \
            ctx.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
        return tls.recv(8)


def test_the_openflow_listener_requires_a_certificate_from_the_ca(controller, pki,
                                                                 tmp_path) -> None:
    ctx = ssl.create_default_context(cafile=str(pki.ca_cert))
    with pytest.raises(ssl.SSLError, match="CERTIFICATE_REQUIRED"):
        _openflow_over_tls(controller.of_port, ctx)
    other = make_lab_pki(tmp_path / "other")
    ctx.load_cert_chain(other.switch_cert, other.switch_key)
    with pytest.raises(ssl.SSLError, match="UNKNOWN_CA"):
        _openflow_over_tls(controller.of_port, ctx)
    ctx.load_cert_chain(pki.switch_cert, pki.switch_key)
    hello = _openflow_over_tls(controller.of_port, ctx)
    assert hello[1] == 0 and len(hello) == 8, f"not an OpenFlow HELLO: {hello!r}"


def test_a_plain_tcp_switch_does_not_connect(controller, bridge) -> None:
    """The TLS listener resets plain OpenFlow: OVS never connects, the switch stays down.

    (OS-Ken's native hub swallows the handshake error: nothing in the controller log.)"""
    wait_for("an earlier test's TLS session gone", lambda: controller.api.health()["connected"]
             == 0, 10, controller.log)
    run("ovs-vsctl", "set-controller", bridge, f"tcp:127.0.0.1:{controller.of_port}")
    deadline = time.monotonic() + 15
    status = ""
    while 'last_error="Connection reset by peer"' not in status:
        assert time.monotonic() < deadline, f"no reset within 15 s: {status}"
        assert not ovs_connected(bridge), "OVS connected over plain TCP"
        assert controller.api.health()["connected"] == 0
        time.sleep(0.5)
        status = run("ovs-vsctl", "get", "controller", bridge, "status")
    assert "state=ACTIVE" not in status, status
    assert not ovs_connected(bridge)
    assert controller.api.health()["connected"] == 0


def test_the_docs_tls_lines_work(controller, pki, ovs_ssl, bridge) -> None:
    """docs/tls.md's command lines with this lab's files: the switch's key and certificate
    and the CA for `set-ssl`, our bridge and the controller's port for `set-controller`, the
    API's port and the CA for `sdn-shadow api --cacert`; the switch then connects over TLS."""
    lab = {"/etc/openvswitch/sw-key.pem": str(pki.switch_key),
           "/etc/openvswitch/sw-cert.pem": str(pki.switch_cert),
           "/etc/sdn-shadow/ctl-ca.pem": str(pki.ca_cert),
           "set-controller s1 ": f"set-controller {bridge} ",
           "192.0.2.10:6653": f"127.0.0.1:{controller.of_port}",
           "127.0.0.1:8443": f"127.0.0.1:{controller.api_port}"}
    lines = lines_for("test_the_docs_tls_lines_work")
    assert [line.split()[:2] for line in lines] == [
        ["ovs-vsctl", "set-ssl"], ["ovs-vsctl", "set-controller"], ["sdn-shadow", "api"]], lines
    for line in lines:
        for old, new in lab.items():
            line = line.replace(old, new)
        args = shlex.split(line)
        if args[0] == "sdn-shadow":
            args[0] = str(Path(sys.executable).parent / "sdn-shadow")
        proc = subprocess.run(args, capture_output=True, text=True, timeout=30)
        assert proc.returncode == 0, f"{line}\n{proc.stdout}{proc.stderr}"
        if args[1] == "api":
            assert proc.stdout.startswith("{"), proc.stdout
    wait_for("switch connected and synced over TLS",
             lambda: controller.api.health()["synced"] == 1, 20, controller.log)
