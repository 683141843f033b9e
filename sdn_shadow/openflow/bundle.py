"""OpenFlow 1.3 bundles (ONF extension 230): a switch applies all of a change or none of it.

A bundle is OPEN, one ADD per message, COMMIT, all sent at once; the switch
answers the commit with a reply or with an error and then holds none of the
bundle's changes. Open vSwitch bundles flow and group mods but not meter
mods (nor barriers), so `split` puts meter adds and changes before the
bundle (a flow may only name a meter that exists) and meter deletions and
barriers after it.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass

from .messages import Barrier, Message, MeterAdd, MeterDelete, MeterModify
from .wire import OFP_VERSION, pack

OFPT_EXPERIMENTER = 4
ONF_EXPERIMENTER_ID = 0x4F4E4600
ONF_ET_BUNDLE_CONTROL = 2300
ONF_ET_BUNDLE_ADD_MESSAGE = 2301
OPEN_REQUEST, OPEN_REPLY, CLOSE_REQUEST, CLOSE_REPLY = 0, 1, 2, 3
COMMIT_REQUEST, COMMIT_REPLY, DISCARD_REQUEST, DISCARD_REPLY = 4, 5, 6, 7
ATOMIC, ORDERED = 1, 2

_EXPERIMENTER = struct.Struct("!BBHIII")  # header + experimenter id + exp_type
_CONTROL = struct.Struct("!IHH")  # bundle_id, type, flags
_ADD = struct.Struct("!IHH")  # bundle_id, pad, flags


@dataclass(frozen=True, slots=True)
class Split:
    """A change's messages in the order they go out: meters in, the bundle, meters out."""

    before: list[Message]
    bundled: list[Message]
    after: list[Message]


def split(msgs: Sequence[Message]) -> Split:
    """Separate the meter mods a bundle cannot carry, keeping each group's order."""
    before: list[Message] = [m for m in msgs if isinstance(m, MeterAdd | MeterModify)]
    after: list[Message] = [m for m in msgs if isinstance(m, MeterDelete | Barrier)]
    bundled: list[Message] = [m for m in msgs
                              if not isinstance(m, MeterAdd | MeterModify | MeterDelete | Barrier)]
    return Split(before, bundled, after)


def _control(bundle_id: int, kind: int, xid: int, flags: int) -> bytes:
    length = _EXPERIMENTER.size + _CONTROL.size
    return (_EXPERIMENTER.pack(OFP_VERSION, OFPT_EXPERIMENTER, length, xid,
                               ONF_EXPERIMENTER_ID, ONF_ET_BUNDLE_CONTROL)
            + _CONTROL.pack(bundle_id, kind, flags))


def _add(bundle_id: int, inner: bytes, xid: int, flags: int) -> bytes:
    length = _EXPERIMENTER.size + _ADD.size + len(inner)
    if length > 0xFFFF:
        raise ValueError(f"a {len(inner)}-byte message does not fit in a bundle ADD "
                         f"({length} > 65535 bytes)")
    return (_EXPERIMENTER.pack(OFP_VERSION, OFPT_EXPERIMENTER, length, xid,
                               ONF_EXPERIMENTER_ID, ONF_ET_BUNDLE_ADD_MESSAGE)
            + _ADD.pack(bundle_id, 0, flags) + inner)


def pack_bundle(msgs: Sequence[Message], bundle_id: int, first_xid: int,
                flags: int = ATOMIC | ORDERED) -> tuple[bytes, int]:
    """OPEN, one ADD per message, COMMIT, with xids from `first_xid`; and the commit's xid.

    Each ADD carries its message with the ADD's own xid, as the extension
    requires, so an error the switch reports names the message that failed.
    """
    xid = first_xid & 0xFFFFFFFF
    out = [_control(bundle_id, OPEN_REQUEST, xid, flags)]
    for msg in msgs:
        xid = (xid + 1) & 0xFFFFFFFF
        out.append(_add(bundle_id, pack(msg, xid), xid, flags))
    xid = (xid + 1) & 0xFFFFFFFF
    out.append(_control(bundle_id, COMMIT_REQUEST, xid, flags))
    return b"".join(out), xid


def xids_needed(msgs: Sequence[Message]) -> int:
    """How many xids `pack_bundle` uses for `msgs` (open, one per message, commit)."""
    return len(msgs) + 2
