"""OS-Ken's own parser as the reference our OpenFlow encoders and decoders are measured against."""

from __future__ import annotations

import struct

from os_ken.ofproto import ofproto_parser
from os_ken.ofproto import ofproto_v1_3 as ofp
from os_ken.ofproto import ofproto_v1_3_parser as parser

_HEADER = struct.Struct("!BBHI")


class _Datapath:
    """Just enough of an OS-Ken datapath for its parsers and serializers."""

    ofproto = ofp
    ofproto_parser = parser
    id = 1


#: The datapath OS-Ken message constructors and parsers are given.
DATAPATH = _Datapath()


def osken_parse_one(frame: bytes):
    """The one OpenFlow message `frame` holds, as OS-Ken's parser decodes it."""
    version, msg_type, length, xid = _HEADER.unpack_from(frame)
    msg = ofproto_parser.msg(DATAPATH, version, msg_type, length, xid, frame)
    if msg is None:
        raise ValueError(f"OS-Ken could not parse message type {msg_type}")
    return msg


def osken_parse(raw: bytes) -> list:
    """Each OpenFlow message in `raw` as OS-Ken's parser decodes it (as OS-Ken's datapath does)."""
    msgs, offset = [], 0
    while offset < len(raw):
        length = _HEADER.unpack_from(raw, offset)[2]
        try:
            msgs.append(osken_parse_one(raw[offset:offset + length]))
        except ValueError as err:
            raise ValueError(f"{err} at offset {offset}") from None
        offset += length
    return msgs
