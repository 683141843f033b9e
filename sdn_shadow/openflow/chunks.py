"""Packing a long push in runs, so the switch installs the first while the rest is packed."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from .messages import Message
from .wire import pack_many

#: Most messages `pack_chunks` packs into one write: about 130 KB of flow-adds.
CHUNK = 1024
#: Messages in the first write: packed in well under a millisecond, so the switch starts at once.
FIRST = 64


def pack_chunks(msgs: Sequence[Message], first_xid: int = 1, size: int = CHUNK,
                first: int = FIRST) -> Iterator[bytes]:
    """`pack_many` of `msgs` in runs, xids consecutive across the runs.

    The first run holds `first` messages and each next one twice as many, up
    to `size`. Sending each run as soon as it is packed lets the switch install
    the first flows while the next are still being packed (the two run on
    different CPUs), instead of waiting for the whole push to be packed first;
    a short first run gets the switch going soon, long later runs keep the
    number of writes small.
    """
    start, step = 0, max(1, min(first, size))
    while start < len(msgs):
        yield pack_many(msgs[start:start + step], first_xid + start)
        start += step
        step = min(step * 2, size)
