"""LDAP roles against real sockets on 127.0.0.1: nothing listening, a server that never
answers, one that does not speak LDAP."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest

from sdn_shadow.api.ldap_roles import LdapRoles, LdapUnavailable
from sdn_shadow.lab.ports import free_tcp_port
from tests.unit.test_ldap_roles import settings


@contextmanager
def serving(answer: bytes | Callable[[bytes], bytes] | None) -> Iterator[int]:
    """A TCP server on 127.0.0.1 that answers every request with `answer`, or with what
    `answer` makes of the request (None: never)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.settimeout(0.1)
    stop = threading.Event()
    held: list[socket.socket] = []

    def run() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            held.append(conn)
            if answer is not None:
                conn.settimeout(2)
                try:
                    request = conn.recv(4096)
                    conn.sendall(answer(request) if callable(answer) else answer)
                    conn.shutdown(socket.SHUT_WR)  # like an HTTP server: answer and close
                except OSError:
                    pass

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield int(listener.getsockname()[1])
    finally:
        stop.set()
        thread.join(5)
        for conn in held:
            conn.close()
        listener.close()


def unavailable(url: str, timeout: float = 1.0) -> tuple[LdapUnavailable, float]:
    """The LdapUnavailable a lookup against `url` raises, and the seconds it took."""
    roles = LdapRoles(settings(url=url, timeout=timeout))
    start = time.monotonic()
    with pytest.raises(LdapUnavailable) as caught:
        roles.holder("alice", "alice-pw")
    return caught.value, time.monotonic() - start


def test_nothing_listening_is_unavailable_naming_the_url() -> None:
    url = f"ldap://127.0.0.1:{free_tcp_port()}"  # nobody listens; never a self-connect
    error, took = unavailable(url, timeout=30)
    assert url in str(error) and "refused" in str(error).lower()
    assert took < 20, "it waited for the 30 s timeout: a refusal is known at once"


def test_a_server_that_never_answers_times_out_as_unavailable() -> None:
    with serving(None) as port:
        error, took = unavailable(f"ldap://127.0.0.1:{port}", timeout=1)
    assert f"ldap://127.0.0.1:{port}" in str(error) and "timed out" in str(error)
    assert took > 0.9, "it gave up before its 1 s timeout"
    assert took < 30, "a hang guard only"


def test_a_server_that_does_not_speak_ldap_is_unavailable() -> None:
    http = (b"HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n"
            b"date: Sun, 22 Nov 2026 01:28:56 GMT\r\n\r\n")  # what a proxy here answered
    with serving(http) as port:  # ldap3 itself fails with KeyError on these bytes
        error, _ = unavailable(f"ldap://127.0.0.1:{port}")
    assert f"ldap://127.0.0.1:{port}" in str(error) and "not an LDAP reply" in str(error)
