"""A fake OS-Ken datapath and events, to drive the app's handlers without a switch or a hub.

`FakeDatapath` records what the app sends: OS-Ken message objects through
`send_msg` (stats requests, packet-outs) and packed bytes through `send`
(plans, changes, bundles), which `frames()` splits into OpenFlow messages.
The event builders make the `ev` objects OS-Ken hands to handlers, with
replies in the shape the app reads (flow, port and meter stats undecoded in
`msg.buf`, see `sdn_shadow.osken_raw`).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from os_ken.ofproto import ofproto_v1_3 as ofp
from os_ken.ofproto import ofproto_v1_3_parser as parser

from sdn_shadow.telemetry.multipart import MULTIPART

HEADER = struct.Struct("!BBHI")


@dataclass(frozen=True)
class Frame:
    """One OpenFlow message the app wrote: its type, xid and bytes."""

    type: int
    xid: int
    data: bytes

    @property
    def command(self) -> int | None:
        """A flow mod's command (OFPFC_*), else None."""
        if self.type != ofp.OFPT_FLOW_MOD:
            return None
        return self.data[25]


class FakeDatapath:
    """What the app uses of an OS-Ken `Datapath`; everything sent is kept."""

    def __init__(self, dpid: int) -> None:
        self.id = dpid
        self.address = ("127.0.0.1", 40000 + dpid % 20000)
        self.ofproto, self.ofproto_parser = ofp, parser
        self.msgs: list[Any] = []  # OS-Ken messages, serialized, in order
        self.sent: list[bytes] = []  # packed writes, in order
        self._xid = 0

    def set_xid(self, msg: Any) -> int:
        """Number `msg` as OS-Ken does."""
        self._xid += 1
        msg.set_xid(self._xid)
        return self._xid

    def send_msg(self, msg: Any) -> None:
        """Serialize and keep an OS-Ken message (as `Datapath.send_msg` would send it)."""
        if msg.xid is None:
            self.set_xid(msg)
        msg.serialize()
        self.msgs.append(msg)

    def send(self, buf: bytes) -> None:
        """Keep packed bytes."""
        self.sent.append(bytes(buf))

    def frames(self) -> list[Frame]:
        """Every OpenFlow message in the packed writes, in order."""
        out = []
        for blob in self.sent:
            offset = 0
            while offset < len(blob):
                _, kind, length, xid = HEADER.unpack_from(blob, offset)
                out.append(Frame(kind, xid, blob[offset:offset + length]))
                offset += length
        return out

    def requests(self, cls: type) -> list[Any]:
        """The OS-Ken messages of type `cls` sent so far."""
        return [m for m in self.msgs if isinstance(m, cls)]

    def clear(self) -> None:
        """Forget what was sent."""
        self.msgs.clear()
        self.sent.clear()


def event(dp: FakeDatapath, **fields: Any) -> SimpleNamespace:
    """An OS-Ken event whose `msg` comes from `dp` and has `fields`."""
    fields.setdefault("flags", 0)
    return SimpleNamespace(msg=SimpleNamespace(datapath=dp, **fields))


def multipart_reply(mp_type: int, entries: list[bytes], xid: int, more: bool = False) -> bytes:
    """One multipart reply message with these body entries."""
    body = b"".join(entries)
    return MULTIPART.pack(ofp.OFP_VERSION, ofp.OFPT_MULTIPART_REPLY, 16 + len(body), xid,
                          mp_type, ofp.OFPMPF_REPLY_MORE if more else 0) + body


def flow_entry(match: Any, *, table_id: int = 0, priority: int = 1, cookie: int = 0,
               packets: int = 0, byte_count: int = 0, port: int = 1) -> bytes:
    """One ofp_flow_stats entry: `match` an OFPMatch, output to `port`."""
    m, insts = bytearray(), bytearray()
    match.serialize(m, 0)
    parser.OFPInstructionActions(ofp.OFPIT_APPLY_ACTIONS,
                                 [parser.OFPActionOutput(port)]).serialize(insts, 0)
    head = struct.pack("!HBxIIHHHH4xQQQ", 48 + len(m) + len(insts), table_id, 3, 500,
                       priority, 0, 0, 0, cookie, packets, byte_count)
    return head + bytes(m) + bytes(insts)


def flow_stats(dp: FakeDatapath, xid: int, entries: list[bytes] = (), more: bool = False
               ) -> SimpleNamespace:
    """A flow stats reply event (undecoded, as the app receives it)."""
    return event(dp, xid=xid, buf=multipart_reply(ofp.OFPMP_FLOW, list(entries), xid, more),
                 flags=ofp.OFPMPF_REPLY_MORE if more else 0)


def port_desc(port_no: int, *, live: bool = True, name: str = "") -> Any:
    """An OFPPort as a port status or description carries it."""
    state = ofp.OFPPS_LIVE if live else ofp.OFPPS_LINK_DOWN
    return parser.OFPPort(port_no, "00:00:00:00:00:01", (name or f"p{port_no}").encode(), 0,
                          state, 0, 0, 0, 0, 0, 0)


def state_change(dp: FakeDatapath, state: str) -> SimpleNamespace:
    """An EventOFPStateChange for `dp`."""
    return SimpleNamespace(datapath=dp, state=state)
