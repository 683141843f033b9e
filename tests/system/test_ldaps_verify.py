"""ldaps:// in LDAP mirroring against a real TLS listener: untrusted or misnamed certificates
get no bind (no password); the configured CA is trusted."""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from sdn_shadow.directory.ldap_io import DirectoryError, connect
from sdn_shadow.tls import LabPki, make_lab_pki

pytestmark = pytest.mark.filterwarnings("ignore:ssl.match_hostname:DeprecationWarning")
PASSWORD = "s3cret-bind-password"


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> LabPki:
    return make_lab_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def listener(pki: LabPki) -> Iterator[tuple[int, list[bytes]]]:
    """A TLS server with the lab's certificate for 127.0.0.1: records what each client sent."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(pki.server_cert, pki.server_key)
    sock = socket.create_server(("127.0.0.1", 0))
    sock.settimeout(10)
    received: list[bytes] = []

    def serve() -> None:
        with contextlib.suppress(OSError):
            conn, _ = sock.accept()
            with conn:
                conn.settimeout(5)
                data = b""
                with contextlib.suppress(OSError), ctx.wrap_socket(conn, server_side=True) as tls:
                    while PASSWORD.encode() not in data:
                        part = tls.recv(4096)
                        if not part:
                            break
                        data += part
                received.append(data)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield sock.getsockname()[1], received
    finally:
        sock.close()
        thread.join(timeout=10)


def _connect(url: str, ca_file: str = "") -> str:
    with pytest.raises(DirectoryError) as info:
        connect(url, "cn=admin,dc=example,dc=org", PASSWORD, timeout=3, ca_file=ca_file)
    return str(info.value)


def test_an_untrusted_certificate_gets_no_password(listener) -> None:
    port, received = listener
    reason = _connect(f"ldaps://127.0.0.1:{port}")
    assert "cannot reach" in reason and "certificate" in reason.lower()
    assert not any(PASSWORD.encode() in data for data in received)


def test_a_certificate_for_another_name_gets_no_password(listener, pki: LabPki) -> None:
    port, received = listener
    reason = _connect(f"ldaps://localhost:{port}", str(pki.ca_cert))
    assert "match" in reason
    assert not any(PASSWORD.encode() in data for data in received)


def test_the_configured_ca_is_trusted(listener, pki: LabPki) -> None:
    port, received = listener
    _connect(f"ldaps://127.0.0.1:{port}", str(pki.ca_cert))  # the fake server answers nothing
    assert any(PASSWORD.encode() in data for data in received)


def test_an_unreadable_ca_file_is_a_directory_error(tmp_path: Path) -> None:
    assert "cannot reach" in _connect("ldaps://127.0.0.1:1", str(tmp_path / "missing.pem"))
