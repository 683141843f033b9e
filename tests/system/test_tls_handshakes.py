"""TLS for real: OS-Ken reading its listen options in a fresh interpreter, the lab PKI in
handshakes (threads over a socket pair), the API server over HTTPS on loopback."""

from __future__ import annotations

import contextlib
import json
import socket
import ssl
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from sdn_shadow.api.server import ApiServer
from sdn_shadow.config.model import TlsFiles
from sdn_shadow.lab.net import free_tcp_port
from sdn_shadow.tls import LabPki, make_lab_pki, openflow_listen_args
from tests.unit.test_tls import TLS


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> LabPki:
    return make_lab_pki(tmp_path_factory.mktemp("pki"))


def test_os_ken_reads_the_options_as_meant() -> None:
    """In a fresh interpreter (OS-Ken's CONF is global): the names exist, the port is the
    SSL one, and OpenFlowController picks it up without a TCP listener."""
    script = (
        "import json, sys\n"
        "from os_ken import cfg\n"
        "from os_ken.base import app_manager  # first: controller.py imports it back\n"
        "from os_ken.controller import controller\n"
        "cfg.CONF(args=json.loads(sys.argv[1]), project='os_ken', default_config_files=[])\n"
        "c = cfg.CONF\n"
        "ofc = controller.OpenFlowController()\n"
        "print(json.dumps([c.ofp_tcp_listen_port, c.ofp_ssl_listen_port, c.ofp_listen_host,\n"
        "                  c.ctl_privkey, c.ctl_cert, c.ca_certs, ofc.ofp_ssl_listen_port,\n"
        "                  ofc.ofp_tcp_listen_port]))\n")
    args = openflow_listen_args("127.0.0.1", 16653, TLS)
    proc = subprocess.run([sys.executable, "-c", script, json.dumps(args)], capture_output=True,
                          text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.splitlines()[-1]) == [
        None, 16653, "127.0.0.1", TLS.key, TLS.cert, TLS.ca, 16653, None]


def _handshake(pki: LabPki, client_cert: Path | None, client_key: Path | None
               ) -> tuple[bytes | None, Exception | None, Exception | None]:
    """OS-Ken's server context (CERT_REQUIRED, our CA) against a client that checks the
    server for 127.0.0.1 and sends 5 bytes: (echo received, server error, client error)."""
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(pki.server_cert, pki.server_key)
    server_ctx.verify_mode = ssl.CERT_REQUIRED
    server_ctx.load_verify_locations(pki.ca_cert)
    client_ctx = ssl.create_default_context(cafile=str(pki.ca_cert))
    if client_cert is not None:
        client_ctx.load_cert_chain(client_cert, client_key)
    errors: dict[str, Exception] = {}
    a, b = socket.socketpair()
    a.settimeout(5)
    b.settimeout(5)

    def serve() -> None:
        try:
            with server_ctx.wrap_socket(a, server_side=True) as tls:
                tls.sendall(tls.recv(5))
        except OSError as err:
            errors["server"] = err
            a.close()

    thread = threading.Thread(target=serve)
    thread.start()
    echo = None
    try:
        with client_ctx.wrap_socket(b, server_hostname="127.0.0.1") as tls:
            tls.sendall(b"hello")
            echo = tls.recv(5) or None
    except OSError as err:
        errors["client"] = err
    finally:
        b.close()
        thread.join(5)
    return echo, errors.get("server"), errors.get("client")


def test_a_switch_certificate_passes_a_cert_required_server(pki: LabPki) -> None:
    assert _handshake(pki, pki.switch_cert, pki.switch_key) == (b"hello", None, None)


def test_no_client_certificate_or_another_cas_is_refused(pki: LabPki, tmp_path) -> None:
    echo, server, client = _handshake(pki, None, None)
    assert echo is None and "PEER_DID_NOT_RETURN_A_CERTIFICATE" in str(server), (server, client)
    other = make_lab_pki(tmp_path / "other")
    echo, server, client = _handshake(pki, other.switch_cert, other.switch_key)
    assert echo is None and "CERTIFICATE_VERIFY_FAILED" in str(server), (server, client)


def test_a_client_checking_the_server_refuses_another_cas_server(pki: LabPki, tmp_path) -> None:
    other = make_lab_pki(tmp_path / "other")
    ctx = ssl.create_default_context(cafile=str(other.ca_cert))
    a, b = socket.socketpair()
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(pki.server_cert, pki.server_key)
    thread = threading.Thread(target=lambda: _quietly(server_ctx, a))
    thread.start()
    with pytest.raises(ssl.SSLCertVerificationError), b:
        ctx.wrap_socket(b, server_hostname="127.0.0.1")
    thread.join(5)


def _quietly(ctx: ssl.SSLContext, sock: socket.socket) -> None:
    """Serve one handshake, whatever comes of it."""
    with sock, contextlib.suppress(OSError):
        ctx.wrap_socket(sock, server_side=True).close()


def test_api_server_serves_https_only(pki: LabPki) -> None:
    app = FastAPI()

    @app.get("/ping")
    def ping() -> dict:
        return {"pong": True}

    port = free_tcp_port()
    server = ApiServer(app, "127.0.0.1", port, pki.api_tls()).start()
    try:
        assert server.scheme == "https"
        verify = ssl.create_default_context(cafile=str(pki.ca_cert))
        assert httpx.get(f"https://127.0.0.1:{port}/ping", verify=verify).json() == {
            "pong": True}
        with pytest.raises(httpx.RemoteProtocolError, match="disconnected without sending"):
            httpx.get(f"http://127.0.0.1:{port}/ping", timeout=5)
    finally:
        server.stop()


def test_api_server_refuses_a_key_that_is_not_the_certificates(pki: LabPki) -> None:
    with pytest.raises(ssl.SSLError):
        ApiServer(FastAPI(), "127.0.0.1", free_tcp_port(),
                  TlsFiles(cert=str(pki.server_cert), key=str(pki.switch_key)))
