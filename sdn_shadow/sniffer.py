"""Read the frames a switch port transmits (what its host receives), in batches, on a thread.

The controller's window on the mirrored copies: an AF_PACKET socket on the
port's interface in the controller's own namespace (a Mininet or tap port
of an Open vSwitch on the same machine). A classic BPF program keeps only
frames the interface *sends* (`pkttype == PACKET_OUTGOING`), so what the
shadow host itself transmits costs nothing, and copies only `snap` bytes
of each (the headers detection reads); the length on the wire still comes
back through MSG_TRUNC.
"""

from __future__ import annotations

import ctypes
import logging
import select
import socket
import struct
import threading
import time
from collections.abc import Callable

from sdn_shadow.analytics.live import Frame

LOG = logging.getLogger("sdn_shadow.sniffer")
ETH_P_ALL = 0x0003
SO_ATTACH_FILTER = 26
SOL_PACKET = 263
PACKET_STATISTICS = 6
PACKET_OUTGOING = 4
SKF_AD_PKTTYPE = 0xFFFFF000 + 4  # SKF_AD_OFF + SKF_AD_PKTTYPE: ld [pkttype]
BATCH = 512  # frames handed over at most per call
BATCH_SECONDS = 0.05  # and at least this often while frames arrive


def outgoing_only(snap: int) -> list[tuple[int, int, int, int]]:
    """A BPF program accepting `snap` bytes of frames the interface sends, nothing else."""
    return [(0x20, 0, 0, SKF_AD_PKTTYPE),  # ld [pkttype]  (ld word, absolute)
            (0x15, 0, 1, PACKET_OUTGOING),  # jeq #4, accept, drop
            (0x06, 0, 0, snap),             # accept: ret #snap
            (0x06, 0, 0, 0)]                # drop: ret #0


def attach_filter(sock: socket.socket, program: list[tuple[int, int, int, int]]) -> None:
    """Attach a classic BPF program (code, jt, jf, k instructions) to a packet socket."""
    code = b"".join(struct.pack("HBBI", *insn) for insn in program)
    buf = ctypes.create_string_buffer(code)
    fprog = struct.pack("HL", len(program), ctypes.addressof(buf))
    sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, fprog)


class PortSniffer:
    """Frames sent out of one interface, handed to `deliver` in batches until `stop`."""

    def __init__(self, interface: str, deliver: Callable[[list[Frame]], None],
                 snap: int = 256) -> None:
        self.interface = interface
        self.deliver = deliver
        self.snap = snap
        self.frames = 0
        self.drops = 0  # frames the kernel dropped because we were too slow
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.sock: socket.socket | None = None

    def start(self) -> PortSniffer:
        """Open the socket (OSError if the interface is not here) and start reading."""
        sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)  # no frames until bound
        try:
            attach_filter(sock, outgoing_only(self.snap))
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
            sock.bind((self.interface, ETH_P_ALL))
            sock.setblocking(False)
        except OSError:
            sock.close()
            raise
        self.sock = sock
        self._thread = threading.Thread(target=self._run, name=f"sniff-{self.interface}",
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop reading and close the socket."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
        if self.sock is not None:
            self.sock.close()

    def _run(self) -> None:
        assert self.sock is not None
        sock, buf = self.sock, bytearray(self.snap)
        view = memoryview(buf)
        while not self._stop.is_set():
            ready, _, _ = select.select([sock], [], [], 0.2)
            if not ready:
                continue
            batch: list[Frame] = []
            until = time.monotonic() + BATCH_SECONDS
            while len(batch) < BATCH:
                try:
                    length = sock.recv_into(view, self.snap, socket.MSG_TRUNC)
                except BlockingIOError:
                    if time.monotonic() >= until or not select.select([sock], [], [],
                                                                      0.005)[0]:
                        break
                    continue
                except OSError as err:  # the interface went away
                    LOG.warning("%s: stopped reading: %s", self.interface, err)
                    self._stop.set()
                    break
                batch.append((time.time(), bytes(view[:min(length, self.snap)]), length))
            if batch:
                self.frames += len(batch)
                try:
                    self.deliver(batch)
                except Exception:  # a bad batch must not end the watch
                    LOG.exception("%s: frames could not be taken", self.interface)
            self._read_drops()

    def _read_drops(self) -> None:
        try:
            _, drops = struct.unpack("II", self.sock.getsockopt(SOL_PACKET, PACKET_STATISTICS, 8))
        except OSError:
            return
        self.drops += drops  # the kernel resets its counters on each read
