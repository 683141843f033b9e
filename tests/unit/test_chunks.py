"""Packed runs of a long push: short first, doubling, exactly `pack_many`, sent run by run."""

from __future__ import annotations

from sdn_shadow.openflow import wire
from sdn_shadow.openflow.chunks import pack_chunks
from sdn_shadow.openflow.messages import ApplyActions, Barrier, Flow, FlowAdd, Output, match


def _msgs(count: int) -> list:
    flows = [Flow(3, 100, 1, match(metadata=i), (ApplyActions((Output(1 + i % 4),)),))
             for i in range(count)]
    return [FlowAdd(f) for f in flows] + [Barrier()]


def _counts(chunks: list[bytes]) -> list[int]:
    counts = []
    for chunk in chunks:
        offset, n = 0, 0
        while offset < len(chunk):
            offset += wire.unpack_header(chunk[offset:])[2]
            n += 1
        counts.append(n)
    return counts


def test_runs_start_short_and_double_up_to_the_size():
    msgs = _msgs(1000)
    chunks = list(pack_chunks(msgs, first_xid=5, size=256, first=16))
    assert _counts(chunks) == [16, 32, 64, 128, 256, 256, 249]
    assert b"".join(chunks) == wire.pack_many(msgs, first_xid=5)


def test_xids_run_on_across_runs_and_wrap():
    chunks = list(pack_chunks(_msgs(9), first_xid=0xFFFFFFFE, first=2))
    assert _counts(chunks) == [2, 4, 4]
    assert [wire.unpack_header(c)[3] for c in chunks] == [0xFFFFFFFE, 0, 4]


def test_a_first_run_longer_than_the_size_is_the_size():
    assert _counts(list(pack_chunks(_msgs(30), size=8, first=100))) == [8, 8, 8, 7]
    assert list(pack_chunks([])) == []


def test_a_sender_pushes_run_by_run_and_lets_the_writer_run_after_each():
    import threading

    from sdn_shadow.control.sender import Sender

    events: list[object] = []

    class Datapath:
        id = 1

        def send(self, buf: bytes) -> None:
            events.append(buf)

    sender = Sender(threading.RLock(), lambda dpid: True, pause=lambda: events.append("pause"))
    msgs = _msgs(200)
    sender.send_push(Datapath(), msgs, first_xid=9)
    sent = [e for e in events if isinstance(e, bytes)]
    assert len(sent) == 3  # 64, 128, then the rest: runs of `pack_chunks`
    assert events == [e for buf in sent for e in (buf, "pause")]
    assert b"".join(sent) == wire.pack_many(msgs, first_xid=9)
