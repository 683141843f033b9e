"""Make OS-Ken hand stats replies over undecoded: our decoder is ~10x cheaper than its own.

OS-Ken decodes every multipart reply body into Python objects as it reads it
from the socket (~300 ms for 10,000 flows). For the three reply types we poll
(flow, port and meter stats) `install()` swaps the per-entry body class for one
that takes the whole body in one step without looking at it; handlers then
decode `msg.buf` with `sdn_shadow.telemetry.decode`. This changes OS-Ken's
classes for the whole process, which is why only the controller calls it.
"""

from __future__ import annotations

from os_ken.ofproto import ofproto_v1_3_parser as parser

RAW_REPLIES = (parser.OFPFlowStatsReply, parser.OFPPortStatsReply, parser.OFPMeterStatsReply)


class RawBody:
    """The rest of a reply, unread; `msg.buf` holds the bytes."""

    def __init__(self, length: int) -> None:
        self.length = length

    @classmethod
    def parser(cls, buf: bytes, offset: int) -> RawBody:
        """Consume everything after `offset`."""
        return cls(len(buf) - offset)


def install() -> None:
    """Route flow, port and meter stats replies past OS-Ken's body decoder (idempotent)."""
    for reply in RAW_REPLIES:
        reply.cls_stats_body_cls = RawBody
        reply.cls_body_single_struct = False
