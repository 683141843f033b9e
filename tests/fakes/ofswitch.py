"""A minimal OpenFlow 1.3 switch over TCP: enough of the protocol for the controller to sync it.

It says hello, answers the features request with its dpid, every multipart
request with an empty reply of the same kind (no flows, groups, meters or
ports), barriers and echoes; it keeps every other message the controller
sends (flow, group and meter mods, packet-outs) by type. For tests that run
the real controller process on loopback, without Open vSwitch.
"""

from __future__ import annotations

import socket
import struct
import threading
from collections import Counter

HEADER = struct.Struct("!BBHI")
VERSION = 4
HELLO, ECHO_REQUEST, ECHO_REPLY, FEATURES_REQUEST, FEATURES_REPLY = 0, 2, 3, 5, 6
MULTIPART_REQUEST, MULTIPART_REPLY, BARRIER_REQUEST, BARRIER_REPLY = 18, 19, 20, 21


class FakeSwitch:
    """Connects to host:port as datapath `dpid` in a daemon thread; `close()` ends it."""

    def __init__(self, dpid: int, host: str, port: int) -> None:
        self.dpid = dpid
        self.sock = socket.create_connection((host, port), timeout=30)
        self.received: Counter[int] = Counter()  # message type -> count
        self.multipart: Counter[int] = Counter()  # multipart type -> requests
        self.barriers = 0
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._serve, daemon=True,
                                       name=f"fake-switch-{dpid:#x}")
        self.closed = False
        self.sock.sendall(HEADER.pack(VERSION, HELLO, 8, 1))
        self.thread.start()

    def _read(self, size: int) -> bytes:
        data = b""
        while len(data) < size:
            chunk = self.sock.recv(size - len(data))
            if not chunk:
                raise ConnectionError("controller closed the connection")
            data += chunk
        return data

    def _serve(self) -> None:
        try:
            while not self.closed:
                head = self._read(HEADER.size)
                _, kind, length, xid = HEADER.unpack(head)
                body = self._read(length - HEADER.size)
                self._answer(kind, xid, body)
        except (OSError, ConnectionError):
            return

    def _answer(self, kind: int, xid: int, body: bytes) -> None:
        with self.lock:
            self.received[kind] += 1
        if kind == FEATURES_REQUEST:
            reply = struct.pack("!QIBB2xII", self.dpid, 0, 254, 0, 0x4F, 0)
            self._send(FEATURES_REPLY, xid, reply)
        elif kind == ECHO_REQUEST:
            self._send(ECHO_REPLY, xid, body)
        elif kind == BARRIER_REQUEST:
            with self.lock:
                self.barriers += 1
            self._send(BARRIER_REPLY, xid, b"")
        elif kind == MULTIPART_REQUEST:
            (mp_type,) = struct.unpack_from("!H", body)
            with self.lock:
                self.multipart[mp_type] += 1
            self._send(MULTIPART_REPLY, xid, struct.pack("!HH4x", mp_type, 0))

    def _send(self, kind: int, xid: int, body: bytes) -> None:
        self.sock.sendall(HEADER.pack(VERSION, kind, HEADER.size + len(body), xid) + body)

    def count(self, kind: int) -> int:
        """How many messages of `kind` the controller has sent."""
        with self.lock:
            return self.received[kind]

    def close(self) -> None:
        """Disconnect."""
        self.closed = True
        self.sock.close()
