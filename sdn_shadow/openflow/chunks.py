"""Packing a long push in runs, so the switch installs the first while the rest is packed."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from .messages import Message
from .wire import pack_many

#: Messages `pack_chunks` packs into one write: about 130 KB of flow-adds.
CHUNK = 1024


def pack_chunks(msgs: Sequence[Message], first_xid: int = 1, size: int = CHUNK
                ) -> Iterator[bytes]:
    """`pack_many` of `msgs` in runs of `size` messages, xids consecutive across the runs.

    Sending each run as soon as it is packed lets the switch install the first
    flows while the next are still being packed (the two run on different
    CPUs), instead of waiting for the whole push to be packed first.
    """
    for start in range(0, len(msgs), size):
        yield pack_many(msgs[start:start + size], first_xid + start)
