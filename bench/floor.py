"""The floor of a flow push: pre-packed bytes written to the switch over a plain socket.

`floor_push` plays a minimal OpenFlow 1.3 controller with nothing but a TCP
socket: it accepts the bridge's connection, says hello, clears the tables and
then writes the same flow-adds our controller sends, packed before the clock
starts, with a barrier behind them, and times until the barrier's reply. No
controller framework, no packing, no event dispatch: what remains is the
switch's own work and the kernel's socket copy, the least any controller can
take to install those flows.
"""

from __future__ import annotations

import socket
import struct
import time

from sdn_shadow.openflow import wire
from sdn_shadow.openflow.messages import Barrier, FlowAdd, FlowDelete, Message

HEADER = struct.Struct("!BBHI")
VERSION = 4
HELLO, ERROR, ECHO_REQUEST, ECHO_REPLY, BARRIER_REPLY = 0, 1, 2, 3, 21


class OpenFlowSocket:
    """One switch connection: whole messages in, echo requests answered on the way."""

    def __init__(self, conn: socket.socket) -> None:
        self.conn = conn
        self.buffer = b""

    def message(self, deadline: float) -> tuple[int, int, bytes]:
        """The next message other than an echo request: (type, xid, whole message)."""
        while True:
            while len(self.buffer) < HEADER.size or \
                    len(self.buffer) < HEADER.unpack_from(self.buffer)[2]:
                self.conn.settimeout(max(0.001, deadline - time.monotonic()))
                chunk = self.conn.recv(1 << 16)
                if not chunk:
                    raise ConnectionError("the switch closed the connection")
                self.buffer += chunk
            _, kind, length, xid = HEADER.unpack_from(self.buffer)
            msg, self.buffer = self.buffer[:length], self.buffer[length:]
            if kind == ECHO_REQUEST:
                self.conn.sendall(HEADER.pack(VERSION, ECHO_REPLY, length, xid) + msg[8:])
                continue
            if kind == ERROR:
                err_type, code = struct.unpack_from("!HH", msg, 8)
                raise RuntimeError(f"switch error type={err_type} code={code}")
            return kind, xid, msg

    def until_barrier(self, xid: int, deadline: float) -> None:
        """Read until the barrier reply numbered `xid`."""
        while True:
            kind, got, _ = self.message(deadline)
            if kind == BARRIER_REPLY and got == xid:
                return


def _messages(flows: list) -> bytes:
    msgs: list[Message] = [FlowAdd(f) for f in flows]
    msgs.append(Barrier())
    return wire.pack_many(msgs, first_xid=100)


def floor_push(listener: socket.socket, flows: list, timeout: float = 60.0) -> float:
    """Accept one switch on `listener`, clear it, push `flows` pre-packed; s to the barrier."""
    deadline = time.monotonic() + timeout
    listener.settimeout(timeout)
    conn, _ = listener.accept()
    with conn:
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        of = OpenFlowSocket(conn)
        conn.sendall(HEADER.pack(VERSION, HELLO, HEADER.size, 1))
        conn.sendall(wire.pack_many([FlowDelete(), Barrier()], first_xid=2))
        of.until_barrier(3, deadline)
        packed = _messages(flows)
        last_xid = 100 + len(flows)
        start = time.perf_counter()
        conn.sendall(packed)
        of.until_barrier(last_xid, deadline)
        return time.perf_counter() - start
