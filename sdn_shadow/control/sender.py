"""Messages out: the connected datapaths, their xids, stats requests and bundled commits.

The app's only writer to the switches. It sends to a switch only once it is
connected and synced (a switch still reconciling gets the new plan when it
reconciles); every multipart request it sends is recorded in `Requests` so
the reply can be told apart (reconcile, demand, mirror, ...).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any

from sdn_shadow.control.polls import Requests
from sdn_shadow.control.sync import Xids
from sdn_shadow.openflow import bundle, wire
from sdn_shadow.openflow.chunks import pack_chunks
from sdn_shadow.openflow.commit import Commit, Commits
from sdn_shadow.openflow.messages import Message

Updates = Mapping[int, Sequence[Message]]


class Sender:
    """Writes to the datapaths (OS-Ken `Datapath`s or fakes with `id`, `send`, `send_msg`).

    `synced(dpid)` says whether a switch holds its plan; `after()` runs after
    every send of updates (the app writes its state file there). `pause()`
    lets the datapaths' writers run between the runs of a long push: OS-Ken's
    `send` only queues, and its writer thread must win the interpreter from
    the packing thread (or, on the eventlet hub, be switched to), so without a
    pause the first runs reach the switch late, not while the rest is packed.
    """

    def __init__(self, lock: AbstractContextManager[Any], synced: Callable[[int], bool],
                 after: Callable[[], None] = lambda: None,
                 pause: Callable[[], Any] = lambda: None) -> None:
        self.lock, self.synced, self.after, self.pause = lock, synced, after, pause
        self.datapaths: dict[int, Any] = {}
        self.requests = Requests()
        self.xids = Xids()
        self.commits = Commits()

    def next_xids(self, count: int) -> int:
        """The first of `count` fresh consecutive xids."""
        with self.lock:
            first, self.xids = self.xids.take(count)
        return first

    def request(self, dp: Any, kind: str, msg: Any, now: float) -> None:
        """Send a stats request (an OS-Ken message) and remember what its reply is for."""
        dp.send_msg(msg)
        with self.lock:
            self.requests = self.requests.add(dp.id, msg.xid, kind, now)

    def poll(self, dp: Any, kind: str, now: float) -> None:
        """Send the stats requests of one poll kind to `dp`."""
        from sdn_shadow.openflow.pipeline import (
            DEMAND_COOKIE,
            DEMAND_COOKIE_MASK,
            Subsystem,
            Table,
        )

        parser, ofp, request = dp.ofproto_parser, dp.ofproto, self.request
        if kind == "ports":
            request(dp, kind, parser.OFPPortStatsRequest(dp, 0, ofp.OFPP_ANY), now)
        elif kind == "demand":
            request(dp, kind, parser.OFPFlowStatsRequest(
                dp, 0, ofp.OFPTT_ALL, ofp.OFPP_ANY, ofp.OFPG_ANY, DEMAND_COOKIE,
                DEMAND_COOKIE_MASK, parser.OFPMatch()), now)
        elif kind == "meters":
            request(dp, kind, parser.OFPMeterStatsRequest(dp, 0, ofp.OFPM_ALL), now)
        elif kind == "mirror":
            dp.send_msg(parser.OFPGroupStatsRequest(dp, 0, ofp.OFPG_ALL))
            for table in (Table.MIRROR_OUT, Table.MIRROR_IN):
                request(dp, kind, parser.OFPFlowStatsRequest(
                    dp, 0, table, ofp.OFPP_ANY, ofp.OFPG_ANY, Subsystem.MIRROR << 56,
                    0xFF << 56, parser.OFPMatch()), now)

    def answer(self, dpid: int, xid: int, more: bool) -> str | None:
        """What a stats reply answers (None: nothing we asked); forgets it after its last
        part."""
        with self.lock:
            kind, self.requests = self.requests.answer(dpid, xid, more)
        return kind

    def connected(self, dpid: int, dp: Any) -> None:
        """`dp` is the switch `dpid` now; requests to its earlier connection are void."""
        with self.lock:
            self.datapaths[dpid] = dp
            self.requests = self.requests.forget(dpid)

    def disconnected(self, dp: Any) -> bool:
        """`dp` went away; False if it was not the switch's current connection."""
        dpid = dp.id
        with self.lock:
            if dpid is None or self.datapaths.get(dpid) is not dp:
                return False
            del self.datapaths[dpid]
            self.commits.disconnected(dpid)
        return True

    def targets(self, updates: Updates) -> list[tuple[Any, Sequence[Message]]]:
        """The connected and synced switches' datapaths with their part of `updates`."""
        with self.lock:
            return [(self.datapaths[dpid], msgs) for dpid, msgs in updates.items()
                    if dpid in self.datapaths and self.synced(dpid)]

    def send_messages(self, dp: Any, msgs: Sequence[Message]) -> None:
        """Pack `msgs` with fresh xids and write them to `dp` in one go."""
        with self.lock:
            dp.send(wire.pack_many(msgs, first_xid=self.next_xids(len(msgs))))

    def send_push(self, dp: Any, msgs: Sequence[Message], first_xid: int) -> None:
        """Write a long push (a reconciliation) in runs, pausing after each (call it
        without the lock): the switch installs the first runs while the rest are packed."""
        for chunk in pack_chunks(msgs, first_xid=first_xid):
            dp.send(chunk)
            self.pause()

    def send_updates(self, updates: Updates) -> None:
        """Send the core's messages to each switch that is connected and synced."""
        with self.lock:  # nothing else may come between one change's messages
            for dp, msgs in self.targets(updates):
                self.send_messages(dp, msgs)
        if updates:
            self.after()

    def send_commit(self, updates: Updates) -> Commit:
        """Send a change as one bundle per switch; the Commit says who applied it.

        The caller holds the lock (so nothing the hub sends can come between
        the change's messages) and waits on the Commit after releasing it.
        """
        commit = Commit()
        with self.lock:
            for dp, msgs in self.targets(updates):
                parts = bundle.split(list(msgs))
                bundle_id = self.commits.bundle_id()
                first = self.next_xids(bundle.xids_needed(parts.bundled))
                frames, commit_xid = bundle.pack_bundle(parts.bundled, bundle_id, first)
                self.commits.expect(commit, dp.id, bundle_id, first, commit_xid)
                dp.send(wire.pack_many(parts.before, self.next_xids(len(parts.before)))
                        + frames
                        + wire.pack_many(parts.after, self.next_xids(len(parts.after))))
        if updates:
            self.after()
        return commit
