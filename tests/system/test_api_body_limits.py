"""Oversized and unauthenticated bodies against a real uvicorn server: 401/413, bounded memory."""

from __future__ import annotations

import os
import select
import socket
from collections.abc import Iterator

import httpx
import pytest

from sdn_shadow.api.auth import TokenBook
from sdn_shadow.api.rest import PREFIX, create_app
from sdn_shadow.api.server import ApiServer
from sdn_shadow.lab.net import free_tcp_port
from tests.component.test_rest_api import Api

BODY = 64 << 20  # offered per request; the server must not keep it
CHUNK = b"[" + b" " * ((1 << 20) - 1)


def rss() -> int:
    """This process's resident set (the server runs in a thread of it), in bytes."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@pytest.fixture
def server() -> Iterator[tuple[int, str]]:
    """The component API on a free port and an admin token."""
    api = Api()
    book = TokenBook()
    token = book.add("big", "admin")
    port = free_tcp_port()
    served = ApiServer(create_app(api.service, book), "127.0.0.1", port).start()
    try:
        yield port, token
    finally:
        served.stop()


def offer(port: int, headers: list[str], chunked: bool = False) -> tuple[int, bytes]:
    """POST up to BODY bytes, stopping when the server answers; (status, answer)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    head = [f"POST {PREFIX}/networks HTTP/1.1", "Host: x", "Content-Type: application/json",
            *headers, ("Transfer-Encoding: chunked" if chunked else f"Content-Length: {BODY}")]
    answer = b""
    try:
        sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
        frame = b"%x\r\n%s\r\n" % (len(CHUNK), CHUNK) if chunked else CHUNK
        for _ in range(BODY // len(CHUNK)):
            if select.select([sock], [], [], 0)[0]:
                break
            sock.sendall(frame)
    except (BrokenPipeError, ConnectionResetError):
        pass
    try:
        while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
            part = sock.recv(65536)
            if not part:
                break
            answer += part
    except ConnectionResetError:
        pass
    finally:
        sock.close()
    status = int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/1.1") else 0
    return status, answer


def test_big_bodies_are_refused_unread(server) -> None:
    port, token = server
    auth = f"Authorization: Bearer {token}"
    assert offer(port, [auth], chunked=False)[0] == 413  # warm up: imports, first request
    before = rss()
    answers = [offer(port, [], chunked=True),  # no token: 401 before any body is read
               offer(port, ["Authorization: Bearer not-a-token"], chunked=True),
               offer(port, []),  # a Content-Length over the limit: 413 before anything
               offer(port, [auth]),  # Content-Length over the limit: 413 at once
               offer(port, [auth], chunked=True),  # counted: 413 after 1 MiB
               offer(port, [auth], chunked=True)]
    grown = rss() - before
    assert [status for status, _ in answers] == [401, 401, 413, 413, 413, 413]
    assert b'"field": "body"' in answers[3][1] or b'"field":"body"' in answers[4][1]
    assert b"connection: close" in answers[0][1].lower()
    assert grown < BODY // 4, f"the server grew by {grown >> 20} MiB taking refused bodies"


def test_a_body_under_the_limit_is_read(server) -> None:
    port, token = server
    answer = httpx.post(f"http://127.0.0.1:{port}{PREFIX}/networks",
                        content=b"{" + b" " * 100_000 + b"}",
                        headers={"Authorization": f"Bearer {token}",
                                 "Content-Type": "application/json"})
    assert answer.status_code == 422 and answer.json()["errors"][0]["field"] == "body.name"
