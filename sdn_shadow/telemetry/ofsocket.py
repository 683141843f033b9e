"""A small blocking OpenFlow 1.3 client for an OVS bridge's management socket.

For tooling, benchmarks and tests that want a switch's raw reply bytes
(`/var/run/openvswitch/<bridge>.mgmt`, the socket `ovs-ofctl` uses). The
controller itself talks to switches through OS-Ken, not through this.
"""

from __future__ import annotations

import itertools
import socket
import struct
from types import TracebackType

from sdn_shadow.telemetry import multipart as mp
from sdn_shadow.telemetry.multipart import HEADER, OFP_VERSION

OVS_RUNDIR = "/var/run/openvswitch"
_ERROR = struct.Struct("!HH")  # type, code (after the header)


class OpenFlowError(RuntimeError):
    """The switch answered with OFPT_ERROR, or the conversation went wrong."""


def mgmt_socket(bridge: str, rundir: str = OVS_RUNDIR) -> str:
    """Path of `bridge`'s management socket."""
    return f"{rundir}/{bridge}.mgmt"


class OFSocket:
    """A connected, version-negotiated (1.3) OpenFlow session over a unix socket."""

    def __init__(self, path: str, timeout: float = 10.0) -> None:
        """Connect to `path` and exchange hellos (OpenFlowError if the switch won't speak 1.3)."""
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._sock.settimeout(timeout)
        self._buf = bytearray()
        self._xids = itertools.count(1)
        try:
            self._sock.connect(path)
            self.send(HEADER.pack(OFP_VERSION, mp.OFPT_HELLO, HEADER.size, 0))
            hello = self.recv()
            if hello[1] != mp.OFPT_HELLO:
                raise OpenFlowError(f"expected a hello, got message type {hello[1]}")
            if hello[0] < OFP_VERSION:
                raise OpenFlowError(f"switch speaks OpenFlow version {hello[0]:#x} at most")
        except BaseException:
            self._sock.close()
            raise

    def __enter__(self) -> OFSocket:
        """The session itself."""
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 tb: TracebackType | None) -> None:
        """Close the socket."""
        self.close()

    def close(self) -> None:
        """Close the socket."""
        self._sock.close()

    def next_xid(self) -> int:
        """A fresh transaction id."""
        return next(self._xids) & 0xFFFFFFFF

    def send(self, message: bytes) -> None:
        """Send one or more packed messages."""
        self._sock.sendall(message)

    def _fill(self, size: int) -> None:
        """Read until the buffer holds at least `size` bytes."""
        while len(self._buf) < size:
            chunk = self._sock.recv(max(65536, size - len(self._buf)))
            if not chunk:
                raise OpenFlowError("switch closed the connection")
            self._buf += chunk

    def recv(self) -> bytes:
        """The next message from the switch, answering echo requests on the way."""
        while True:
            self._fill(HEADER.size)
            version, msg_type, length, xid = HEADER.unpack_from(self._buf, 0)
            if length < HEADER.size:
                raise OpenFlowError(f"message with impossible length {length}")
            self._fill(length)
            message = bytes(self._buf[:length])
            del self._buf[:length]
            if msg_type == mp.OFPT_ECHO_REQUEST:
                self.send(HEADER.pack(version, mp.OFPT_ECHO_REPLY, length, xid)
                          + message[HEADER.size:])
                continue
            return message

    def multipart(self, request: bytes) -> bytes:
        """Send a multipart request; return its reply messages concatenated, as received.

        The request's xid (bytes 4-8) picks the replies; other messages are
        dropped. An OFPT_ERROR for that xid raises OpenFlowError.
        """
        xid = HEADER.unpack_from(request, 0)[3]
        self.send(request)
        replies = []
        while True:
            message = self.recv()
            _, msg_type, _, reply_xid = HEADER.unpack_from(message, 0)
            if reply_xid != xid:
                continue
            if msg_type == mp.OFPT_ERROR:
                kind, code = _ERROR.unpack_from(message, HEADER.size)
                raise OpenFlowError(f"switch rejected request {xid}: error type {kind}, "
                                    f"code {code}")
            if msg_type != mp.OFPT_MULTIPART_REPLY:
                raise OpenFlowError(f"expected a multipart reply to {xid}, got type {msg_type}")
            replies.append(message)
            if mp.is_last(message):
                return b"".join(replies)

    def flow_stats(self, table_id: int = mp.OFPTT_ALL) -> bytes:
        """Raw reply to a flow stats request for every flow of `table_id`."""
        return self.multipart(mp.flow_stats_request(self.next_xid(), table_id))

    def port_stats(self, port_no: int = mp.OFPP_ANY) -> bytes:
        """Raw reply to a port stats request (default: all ports)."""
        return self.multipart(mp.port_stats_request(self.next_xid(), port_no))

    def meter_stats(self, meter_id: int = mp.OFPM_ALL) -> bytes:
        """Raw reply to a meter stats request (default: all meters)."""
        return self.multipart(mp.meter_stats_request(self.next_xid(), meter_id))
