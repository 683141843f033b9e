"""The flow-push floor's plain OpenFlow socket: echoes answered, barriers found, errors raised."""

from __future__ import annotations

import socket
import struct
import time

import pytest

from bench.floor import BARRIER_REPLY, ECHO_REPLY, ECHO_REQUEST, ERROR, HEADER, OpenFlowSocket


def _msg(kind: int, xid: int, body: bytes = b"") -> bytes:
    return HEADER.pack(4, kind, HEADER.size + len(body), xid) + body


def test_reads_to_the_barrier_answering_echoes_on_the_way():
    ours, switch = socket.socketpair()
    with ours, switch:
        stream = _msg(ECHO_REQUEST, 9, b"ping") + _msg(BARRIER_REPLY, 4) + _msg(BARRIER_REPLY, 5)
        switch.sendall(stream[:5])  # a message split across reads
        switch.sendall(stream[5:])
        OpenFlowSocket(ours).until_barrier(5, time.monotonic() + 5)
        assert switch.recv(64) == _msg(ECHO_REPLY, 9, b"ping")


def test_a_switch_error_is_raised_with_its_type_and_code():
    ours, switch = socket.socketpair()
    with ours, switch:
        switch.sendall(_msg(ERROR, 3, struct.pack("!HH", 5, 6)))
        with pytest.raises(RuntimeError, match="type=5 code=6"):
            OpenFlowSocket(ours).until_barrier(3, time.monotonic() + 5)
