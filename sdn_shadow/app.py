"""The OS-Ken app: OpenFlow events in, ShadowCore decisions out, bytes to the switch.

Thin on purpose: it reads the switch's tables, asks the core what to send,
packs the answer with `openflow.wire` and writes it to the socket in one go.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
import time
from pathlib import Path

from os_ken.base import app_manager
from os_ken.controller import ofp_event
from os_ken.controller.handler import (
    CONFIG_DISPATCHER,
    DEAD_DISPATCHER,
    MAIN_DISPATCHER,
    set_ev_cls,
)
from os_ken.lib import hub
from os_ken.ofproto import ofproto_v1_3

from sdn_shadow.config.model import Config
from sdn_shadow.core import GroupCounters, InstalledFlow, ShadowCore, UnknownSwitch
from sdn_shadow.openflow import wire
from sdn_shadow.openflow.messages import canonical_match
from sdn_shadow.openflow.pipeline import Subsystem, Table

LOG = logging.getLogger("sdn_shadow")


class Settings:
    """What the CLI hands to the app before OS-Ken instantiates it."""

    config: Config | None = None
    config_path: str = ""
    state_file: str | None = None


class _Pending:
    """Multipart replies being collected for one switch's reconciliation."""

    def __init__(self) -> None:
        self.flows: list[InstalledFlow] = []
        self.groups: list[int] = []
        self.flows_done = False
        self.groups_done = False
        self.flows_xid: int | None = None


class ShadowApp(app_manager.OSKenApp):
    """OS-Ken application driving every configured switch to its desired state."""

    OFP_VERSIONS = [ofproto_v1_3.OFP_VERSION]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if Settings.config is None:
            raise RuntimeError("sdn_shadow.app.Settings.config must be set before starting")
        self.core = ShadowCore(Settings.config)
        self.lock = threading.RLock()
        self.datapaths: dict[int, object] = {}
        self.pending: dict[int, _Pending] = {}
        self.barriers: dict[int, tuple[int, float]] = {}
        self.stats_outstanding: dict[int, float] = {}
        self.xid = 0x10000000
        self.interval = Settings.config.controller.stats_interval
        self.threads.append(hub.spawn(self._stats_loop))
        self._write_state()

    # --- connection life cycle ------------------------------------------------

    @set_ev_cls(ofp_event.EventOFPSwitchFeatures, CONFIG_DISPATCHER)
    def _switch_features(self, ev) -> None:
        dp = ev.msg.datapath
        dpid = dp.id
        with self.lock:
            try:
                name = self.core.plan(dpid).name
            except UnknownSwitch:
                LOG.warning("switch dpid %#x at %s is not in the config; ignoring it",
                            dpid, dp.address)
                return
            LOG.info("switch %s (dpid %#x) connected from %s:%s", name, dpid, *dp.address)
            self.core.switch_connected(time.time(), dpid)
            self.datapaths[dpid] = dp
            self.pending[dpid] = _Pending()
            self.stats_outstanding.pop(dpid, None)
        parser, ofp = dp.ofproto_parser, dp.ofproto
        flows = parser.OFPFlowStatsRequest(dp, 0, ofp.OFPTT_ALL, ofp.OFPP_ANY, ofp.OFPG_ANY,
                                           0, 0, parser.OFPMatch())
        dp.send_msg(flows)
        dp.send_msg(parser.OFPGroupDescStatsRequest(dp, 0))
        with self.lock:
            if dpid in self.pending:
                self.pending[dpid].flows_xid = flows.xid
        self._write_state()

    @set_ev_cls(ofp_event.EventOFPStateChange, [MAIN_DISPATCHER, DEAD_DISPATCHER])
    def _state_change(self, ev) -> None:
        dp = ev.datapath
        if ev.state != DEAD_DISPATCHER or dp.id is None:
            return
        with self.lock:
            if self.datapaths.get(dp.id) is not dp:
                return
            del self.datapaths[dp.id]
            self.pending.pop(dp.id, None)
            self.core.switch_disconnected(time.time(), dp.id)
            LOG.info("switch %s (dpid %#x) disconnected; it keeps its flows",
                     self.core.switches[dp.id].name, dp.id)
        self._write_state()

    # --- reconciliation -----------------------------------------------------------

    @set_ev_cls(ofp_event.EventOFPFlowStatsReply, MAIN_DISPATCHER)
    def _flow_stats(self, ev) -> None:
        msg = ev.msg
        with self.lock:
            pending = self.pending.get(msg.datapath.id)
            if pending is None or msg.xid != pending.flows_xid:
                self._mirror_flow_counters(msg)
                return
            pending.flows += [
                InstalledFlow(s.table_id, s.priority, canonical_match(s.match.items()),
                              s.cookie, s.packet_count, s.byte_count)
                for s in msg.body
            ]
            pending.flows_done = not msg.flags & msg.datapath.ofproto.OFPMPF_REPLY_MORE
        self._maybe_reconcile(msg.datapath)

    @set_ev_cls(ofp_event.EventOFPGroupDescStatsReply, MAIN_DISPATCHER)
    def _group_desc(self, ev) -> None:
        msg = ev.msg
        with self.lock:
            pending = self.pending.get(msg.datapath.id)
            if pending is None:
                return
            pending.groups += [g.group_id for g in msg.body]
            pending.groups_done = not msg.flags & msg.datapath.ofproto.OFPMPF_REPLY_MORE
        self._maybe_reconcile(msg.datapath)

    def _maybe_reconcile(self, dp) -> None:
        with self.lock:
            pending = self.pending.get(dp.id)
            if not (pending and pending.flows_done and pending.groups_done):
                return
            del self.pending[dp.id]
            start = time.time()
            msgs = self.core.reconcile(start, dp.id, pending.flows, pending.groups)
            first = self._next_xids(len(msgs))
            self.barriers[dp.id] = ((first + len(msgs) - 1) & 0xFFFFFFFF, start)
            sync = self.core.switches[dp.id].last_sync
        dp.send(wire.pack_many(msgs, first_xid=first))
        LOG.info("switch %s reports %d flows, %d groups: %d to add or replace, %d to delete",
                 self.core.switches[dp.id].name, len(pending.flows), len(pending.groups),
                 sync["added"], sync["deleted"])

    def _next_xids(self, count: int) -> int:
        first = self.xid
        self.xid = (self.xid + count) & 0xFFFFFFFF or 1
        return first

    @set_ev_cls(ofp_event.EventOFPBarrierReply, MAIN_DISPATCHER)
    def _barrier(self, ev) -> None:
        dpid = ev.msg.datapath.id
        with self.lock:
            waiting = self.barriers.get(dpid)
            if waiting is None or waiting[0] != ev.msg.xid:
                return
            del self.barriers[dpid]
            now = time.time()
            self.core.switch_synced(now, dpid)
            state = self.core.switches[dpid]
            LOG.info("switch %s synced: %d flows, %d groups in %.1f ms",
                     state.name, state.flows, state.groups, (now - waiting[1]) * 1000)
        self._write_state()

    @set_ev_cls(ofp_event.EventOFPErrorMsg, [CONFIG_DISPATCHER, MAIN_DISPATCHER])
    def _error(self, ev) -> None:
        msg = ev.msg
        LOG.error("switch dpid %#x reported error type=%d code=%d for xid %#x: %s",
                  msg.datapath.id or 0, msg.type, msg.code, msg.xid, bytes(msg.data[:64]).hex())

    @set_ev_cls(ofp_event.EventOFPPortStatus, MAIN_DISPATCHER)
    def _port_status(self, ev) -> None:
        msg = ev.msg
        reasons = {0: "added", 1: "deleted", 2: "modified"}
        LOG.info("switch dpid %#x port %s %s (state %#x)", msg.datapath.id, msg.desc.port_no,
                 reasons.get(msg.reason, msg.reason), msg.desc.state)

    # --- counters -----------------------------------------------------------------

    def _stats_loop(self) -> None:
        while True:
            hub.sleep(self.interval)
            now = time.time()
            with self.lock:
                ready = [dp for dpid, dp in self.datapaths.items()
                         if self.core.switches[dpid].synced
                         and now - self.stats_outstanding.get(dpid, 0) > 5 * self.interval]
                for dp in ready:
                    self.stats_outstanding[dp.id] = now
            for dp in ready:
                parser, ofp = dp.ofproto_parser, dp.ofproto
                dp.send_msg(parser.OFPGroupStatsRequest(dp, 0, ofp.OFPG_ALL))
                for table in (Table.MIRROR_OUT, Table.MIRROR_IN):
                    dp.send_msg(parser.OFPFlowStatsRequest(
                        dp, 0, table, ofp.OFPP_ANY, ofp.OFPG_ANY, Subsystem.MIRROR << 56,
                        0xFF << 56, parser.OFPMatch()))
            self._write_state()

    def _mirror_flow_counters(self, msg) -> None:
        """A flow stats reply for the mirror tables (called with the lock held)."""
        flows = [InstalledFlow(s.table_id, s.priority, canonical_match(s.match.items()),
                               s.cookie, s.packet_count, s.byte_count) for s in msg.body]
        with contextlib.suppress(UnknownSwitch):
            self.core.mirror_flow_stats(time.time(), msg.datapath.id, flows)

    @set_ev_cls(ofp_event.EventOFPGroupStatsReply, MAIN_DISPATCHER)
    def _group_stats(self, ev) -> None:
        msg = ev.msg
        counters = [
            GroupCounters(g.group_id, tuple((b.packet_count, b.byte_count)
                                            for b in g.bucket_stats))
            for g in msg.body
        ]
        with self.lock:
            self.core.group_stats(time.time(), msg.datapath.id, counters)
            if not msg.flags & msg.datapath.ofproto.OFPMPF_REPLY_MORE:
                self.stats_outstanding.pop(msg.datapath.id, None)

    # --- state file ---------------------------------------------------------------

    def _write_state(self) -> None:
        if not Settings.state_file:
            return
        with self.lock:
            state = {"updated": time.time(), "pid": os.getpid(), "config": Settings.config_path,
                     **self.core.status()}
            path = Path(Settings.state_file)
            tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
            tmp.write_text(json.dumps(state, indent=1, sort_keys=True))
            os.replace(tmp, path)
