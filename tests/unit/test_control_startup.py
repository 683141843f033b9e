"""The start sequence's checks and the API gate that answers while the fabric is planned."""

from __future__ import annotations

import asyncio
import json
import socket

import pytest

from sdn_shadow.control.reload import describe
from sdn_shadow.control.startup import ApiGate, openflow_listen_problem, port_problem


def call(app, path: str) -> tuple[int, dict, dict]:
    """Send one GET to an ASGI app; (status, headers, JSON body)."""
    sent = []

    async def receive() -> dict:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict) -> None:
        sent.append(message)

    asyncio.run(app({"type": "http", "method": "GET", "path": path, "headers": []},
                    receive, send))
    start, body = sent
    return start["status"], dict(start["headers"]), json.loads(body["body"])


def test_the_gate_says_starting_until_the_api_is_attached() -> None:
    gate = ApiGate()
    status, _, body = call(gate, "/api/v1/health")
    assert status == 200 and body["status"] == "starting" and body["phase"] == "planning"
    assert body["synced"] == 0
    status, headers, body = call(gate, "/api/v1/networks")
    assert status == 503 and headers[b"retry-after"] == b"2"
    assert headers[b"connection"] == b"close"
    assert body["errors"][0]["field"] == "controller"
    seen = []

    async def real(scope, receive, send) -> None:
        seen.append(scope["path"])
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    gate.attach(real)
    assert call(gate, "/api/v1/networks")[0] == 200 and seen == ["/api/v1/networks"]


@pytest.mark.parametrize("port", [0, -1, 65536, 99999])
def test_ports_out_of_range_are_refused(port) -> None:
    assert "1..65535" in port_problem(port)
    assert "1..65535" in openflow_listen_problem("127.0.0.1", port)


def test_a_port_in_use_is_refused_and_a_free_one_accepted() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(1)
        port = sock.getsockname()[1]
        problem = openflow_listen_problem("127.0.0.1", port)
        assert problem is not None and "in use" in problem and str(port) in problem
    assert openflow_listen_problem("127.0.0.1", port) is None


def test_an_address_not_on_this_machine_is_refused() -> None:
    problem = openflow_listen_problem("192.0.2.123", 6653)  # TEST-NET-1
    assert problem is not None and "192.0.2.123:6653" in problem


def test_an_exception_reads_as_one_line() -> None:
    assert describe(OverflowError("int too\nlarge")) == "OverflowError: int too large"
    assert describe(RecursionError()) == "RecursionError"
    assert describe(ValueError("x" * 1000)).endswith("...")


def test_a_metrics_address_is_checked_like_the_openflow_port() -> None:
    from sdn_shadow.control.startup import address_problem

    assert "not HOST:PORT" in address_problem("localhost:http", "Prometheus metrics")
    assert "1..65535" in address_problem("127.0.0.1:70000", "Prometheus metrics")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(1)
        port = sock.getsockname()[1]
        problem = address_problem(f"127.0.0.1:{port}", "Prometheus metrics")
        assert problem == (f"cannot listen for Prometheus metrics on 127.0.0.1:{port}: the "
                           "port is in use (another controller?)")
