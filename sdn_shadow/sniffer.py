"""Read the frames a switch port transmits (what its host receives), in batches, on a thread.

The controller's window on the mirrored copies: an AF_PACKET socket on the
port's interface in the controller's own namespace (a Mininet or tap port
of an Open vSwitch on the same machine). A classic BPF program keeps only
frames the interface *sends* (`pkttype == PACKET_OUTGOING`), so what the
shadow host itself transmits costs nothing, and copies only `snap` bytes
of each (the headers detection reads); the length on the wire comes back
in the kernel's auxiliary data (see `frame_of`).
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
PACKET_AUXDATA = 8
TP_STATUS_VLAN_VALID = 0x10
AUXDATA = struct.Struct("=IIIHHHH")  # tp_status, tp_len, tp_snaplen, tp_mac, tp_net, vlan tci, tpid
AUX_SPACE = socket.CMSG_SPACE(AUXDATA.size)
SKF_AD_PKTTYPE = 0xFFFFF000 + 4  # SKF_AD_OFF + SKF_AD_PKTTYPE: ld [pkttype]
BATCH = 512  # frames handed over at most per call
BATCH_SECONDS = 0.05  # and at least this often while frames arrive


def outgoing_only(snap: int) -> list[tuple[int, int, int, int]]:
    """A BPF program accepting `snap` bytes of frames the interface sends, nothing else."""
    return [(0x20, 0, 0, SKF_AD_PKTTYPE),  # ld [pkttype]  (ld word, absolute)
            (0x15, 0, 1, PACKET_OUTGOING),  # jeq #4, accept, drop
            (0x06, 0, 0, snap),             # accept: ret #snap
            (0x06, 0, 0, 0)]                # drop: ret #0


def frame_of(data: bytes, ancillary: list[tuple[int, int, bytes]]) -> Frame:
    """A received frame with its length on the wire and its VLAN tag back in place.

    The filter cuts a frame to `snap` bytes before it is queued, so the
    length the socket reports is the cut one; the kernel's auxiliary data
    keeps the original (`tp_len`), and the VLAN tag it took out of the frame
    (`tp_vlan_tci`, when TP_STATUS_VLAN_VALID), as libpcap also puts back.
    """
    length = len(data)
    for level, kind, aux in ancillary:
        if level != SOL_PACKET or kind != PACKET_AUXDATA or len(aux) < AUXDATA.size:
            continue
        status, length, _, _, _, tci, tpid = AUXDATA.unpack_from(aux)
        if status & TP_STATUS_VLAN_VALID and len(data) >= 12:
            data = data[:12] + struct.pack("!HH", tpid or 0x8100, tci) + data[12:]
            length += 4
    return time.time(), data, length


def attach_filter(sock: socket.socket, program: list[tuple[int, int, int, int]]) -> None:
    """Attach a classic BPF program (code, jt, jf, k instructions) to a packet socket."""
    code = b"".join(struct.pack("HBBI", *insn) for insn in program)
    buf = ctypes.create_string_buffer(code)
    fprog = struct.pack("HL", len(program), ctypes.addressof(buf))
    sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, fprog)


class PortSniffer:
    """Frames sent out of one interface, handed to `deliver` in batches until `stop`.

    Each batch comes with the number of frames the kernel dropped since the
    last one (the socket's buffer, `buffer` bytes, ran full because the
    reader fell behind), so that a watch can say what it did not see.
    """

    def __init__(self, interface: str, deliver: Callable[[list[Frame], int], None],
                 snap: int = 256, buffer: int = 4 << 20) -> None:
        self.interface = interface
        self.deliver = deliver  # (frames, how many the kernel dropped since the last call)
        self.snap = snap
        self.buffer = buffer
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
            sock.setsockopt(SOL_PACKET, PACKET_AUXDATA, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, self.buffer)
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
                    copied, ancillary, _, _ = sock.recvmsg_into([view], AUX_SPACE)
                except BlockingIOError:
                    if time.monotonic() >= until or not select.select([sock], [], [],
                                                                      0.005)[0]:
                        break
                    continue
                except OSError as err:  # the interface went away
                    LOG.warning("%s: stopped reading: %s", self.interface, err)
                    self._stop.set()
                    break
                batch.append(frame_of(bytes(view[:copied]), ancillary))
            lost = self._read_drops()
            if batch or lost:
                self.frames += len(batch)
                try:
                    self.deliver(batch, lost)
                except Exception:  # a bad batch must not end the watch
                    LOG.exception("%s: frames could not be taken", self.interface)

    def _read_drops(self) -> int:
        """Frames the kernel dropped since the last read (the counter resets on each read)."""
        try:
            _, drops = struct.unpack("II", self.sock.getsockopt(SOL_PACKET, PACKET_STATISTICS, 8))
        except OSError:
            return 0
        self.drops += drops
        return drops
