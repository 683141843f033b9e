"""The OS-Ken app, an executor: OpenFlow events in, ShadowCore calls, messages out.

It decides nothing itself. When to poll is `control.polls`; when a switch's
tables are read and it can be reconciled, `control.sync`; the order of a
forecast round, `control.rounds`; what a reload does, `control.reload`. The
app turns OS-Ken's events into those calls and sends what comes back through
`control.sender` (flow, port and meter stats arrive undecoded, see
`osken_raw`, and `telemetry.decode` reads them).

A start is quick: the REST API answers "starting" at once (`control.startup`)
and the fabric is planned in `prepare`, off OS-Ken's start; switches that
connect meanwhile wait for the plan.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from typing import Any

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

from sdn_shadow import osken_raw, ovsdb
from sdn_shadow.control.startup import RunSettings, start_gate
from sdn_shadow.control.translate import (
    error_name,
    installed_flows,
    meters_of,
    more_parts,
    port_live,
)

LOG = logging.getLogger("sdn_shadow")

RUN: RunSettings | None = None  # set by `sdn-shadow run` before OS-Ken makes the app

class ShadowApp(app_manager.OSKenApp):
    """OS-Ken application driving every configured switch to its desired state."""

    OFP_VERSIONS = [ofproto_v1_3.OFP_VERSION]

    def __init__(self, *args: Any, settings: RunSettings | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        from sdn_shadow.control.runner import Runner

        settings = settings or RUN
        if settings is None:
            raise RuntimeError("sdn_shadow.app.RUN must be set before starting")
        self.gate_server = None if settings.gate is not None else start_gate(settings)
        self.run = Runner(settings, pause=lambda: hub.sleep(0))  # see Sender
        self.ready = self.run.ready
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGHUP, self.run.on_sighup)  # acted on once planned

    def start(self) -> None:
        """OS-Ken's start: plan the fabric in the background, then poll and forecast."""
        super().start()
        osken_raw.install()  # process-wide: only a running controller wants it
        self.threads.append(hub.spawn(self._prepare_then_loop))
        hub.spawn(self._check_listener)

    def _check_listener(self, wait: float = 2.0) -> None:
        """Exit if OS-Ken's OpenFlow listener died (the port was taken after the CLI's
        check): a controller no switch can reach must not look alive."""
        hub.sleep(wait)
        handler = app_manager.lookup_service_brick("ofp_event")
        thread = getattr(handler, "main_thread", None)
        if thread is not None and not thread.is_alive():
            LOG.critical("the OpenFlow listener stopped (port in use?); exiting")
            os._exit(1)

    def _prepare_then_loop(self) -> None:
        try:
            self.run.prepare()
        except Exception as err:  # the process must not linger without a plan or its servers
            LOG.critical("the controller could not start (planning the fabric, the API or "
                         "the metrics): %s; exiting", err, exc_info=True)
            os._exit(3)
        self.threads.append(hub.spawn(self.run.forecast_loop, hub.sleep))
        self.run.poll_loop(hub.sleep)

    def _core(self) -> Any:
        """The core, once planned (handlers wait for it: a switch may connect first)."""
        self.ready.wait()
        return self.run.core

    # --- connection life cycle ------------------------------------------------

    @set_ev_cls(ofp_event.EventOFPSwitchFeatures, CONFIG_DISPATCHER)
    def _switch_features(self, ev: Any) -> None:
        dp = ev.msg.datapath
        if not self.run.switch_connected(self._core(), dp, time.time()):
            return
        parser, ofp = dp.ofproto_parser, dp.ofproto
        self.run.sender.request(dp, "reconcile", parser.OFPFlowStatsRequest(
            dp, 0, ofp.OFPTT_ALL, ofp.OFPP_ANY, ofp.OFPG_ANY, 0, 0, parser.OFPMatch()),
            time.time())
        dp.send_msg(parser.OFPGroupDescStatsRequest(dp, 0))
        dp.send_msg(parser.OFPMeterConfigStatsRequest(dp, 0, ofp.OFPM_ALL))
        dp.send_msg(parser.OFPPortDescStatsRequest(dp, 0))
        self.run.state.write()

    @set_ev_cls(ofp_event.EventOFPStateChange, [MAIN_DISPATCHER, DEAD_DISPATCHER])
    def _state_change(self, ev: Any) -> None:
        if ev.state == DEAD_DISPATCHER and ev.datapath.id is not None:
            self._core()
            self.run.switch_gone(ev.datapath, time.time())

    # --- reconciliation -----------------------------------------------------------

    @set_ev_cls(ofp_event.EventOFPFlowStatsReply, MAIN_DISPATCHER)
    def _flow_stats(self, ev: Any) -> None:
        from sdn_shadow.telemetry.decode import decode_flow_stats
        from sdn_shadow.telemetry.multipart import DecodeError

        msg, now, core = ev.msg, time.time(), self._core()
        dpid = msg.datapath.id
        try:
            stats = decode_flow_stats(bytes(msg.buf))
        except DecodeError as err:
            LOG.error("switch dpid %#x: undecodable flow stats reply: %s", dpid, err)
            return
        kind = self.run.sender.answer(dpid, msg.xid, more_parts(msg))
        if kind == "reconcile":
            self.run.collected(dpid, lambda c: c.with_flows(installed_flows(stats),
                                                            stats.complete))
        elif kind == "demand":
            with self.run.lock:
                rates = core.flow_demand(now, dpid, stats)
            self.run.series.append(now, rates)  # SQLite: outside the controller's lock
        elif kind == "mirror":
            with self.run.lock:
                core.mirror_flow_stats(now, dpid, installed_flows(stats))

    @set_ev_cls(ofp_event.EventOFPGroupDescStatsReply, MAIN_DISPATCHER)
    def _group_desc(self, ev: Any) -> None:
        msg = ev.msg
        self._core()
        self.run.collected(msg.datapath.id, lambda c: c.with_groups(
            [g.group_id for g in msg.body], not more_parts(msg)))

    @set_ev_cls(ofp_event.EventOFPMeterConfigStatsReply, MAIN_DISPATCHER)
    def _meter_config(self, ev: Any) -> None:
        msg = ev.msg
        self._core()
        self.run.collected(msg.datapath.id, lambda c: c.with_meters(
            meters_of(msg.body, msg.datapath.ofproto), not more_parts(msg)))

    @set_ev_cls(ofp_event.EventOFPBarrierReply, MAIN_DISPATCHER)
    def _barrier(self, ev: Any) -> None:
        self._core()
        self.run.barrier(ev.msg.datapath.id, ev.msg.xid, time.time())

    @set_ev_cls(ofp_event.EventOFPErrorMsg, [CONFIG_DISPATCHER, MAIN_DISPATCHER])
    def _error(self, ev: Any) -> None:
        msg = ev.msg
        reason = f"error type={msg.type} code={msg.code}{error_name(msg.type, msg.code)}"
        if self.run.sender.commits.failed(msg.datapath.id, msg.xid, reason):
            LOG.warning("switch dpid %#x refused a change (xid %#x): %s", msg.datapath.id,
                        msg.xid, reason)
            return
        LOG.error("switch dpid %#x reported error type=%d code=%d for xid %#x: %s",
                  msg.datapath.id or 0, msg.type, msg.code, msg.xid, bytes(msg.data[:64]).hex())

    @set_ev_cls(ofp_event.EventONFBundleCtrlMsg, MAIN_DISPATCHER)
    def _bundle_reply(self, ev: Any) -> None:
        from sdn_shadow.openflow import bundle

        if ev.msg.type == bundle.COMMIT_REPLY:
            self.run.sender.commits.committed(ev.msg.datapath.id, ev.msg.xid)

    # --- ports, failover and failback -------------------------------------------

    @set_ev_cls(ofp_event.EventOFPPortStatus, MAIN_DISPATCHER)
    def _port_status(self, ev: Any) -> None:
        msg, core = ev.msg, self._core()
        reasons = {0: "added", 1: "deleted", 2: "modified"}
        live = port_live(msg.desc) and msg.reason != 1
        LOG.info("switch dpid %#x port %s %s (state %#x%s)", msg.datapath.id, msg.desc.port_no,
                 reasons.get(msg.reason, msg.reason), msg.desc.state, "" if live else ", down")
        with self.run.lock:
            updates = core.port_status(time.time(), msg.datapath.id, msg.desc.port_no, live)
        self.run.sender.send_updates(updates)

    @set_ev_cls(ofp_event.EventOFPPortDescStatsReply, MAIN_DISPATCHER)
    def _port_desc(self, ev: Any) -> None:
        msg, now, core = ev.msg, time.time(), self._core()
        dpid = msg.datapath.id
        ports = [p for p in msg.body if p.port_no < 0xFFFFFF00]  # not LOCAL and other reserved
        names = {p.port_no: p.name.decode(errors="replace") for p in ports}
        with self.run.lock:
            self.run.watch.port_names[dpid] = names
            updates = core.ports_seen(now, dpid, {p.port_no: port_live(p) for p in ports})
            interfaces = core.bfd_to_enable(now, dpid, names)
        self.run.sender.send_updates(updates)
        self.run.watch.update_sniffers()
        interval = core.config.failover.bfd_interval_ms
        for name in interfaces:
            try:
                ovsdb.enable_bfd(name, interval)
                LOG.info("BFD on %s every %d ms", name, interval)
            except ovsdb.OvsdbError as err:
                LOG.error("could not enable BFD on %s: %s", name, err)

    @set_ev_cls(ofp_event.EventOFPPacketIn, MAIN_DISPATCHER)
    def _packet_in(self, ev: Any) -> None:
        """Only probe answers are sent here; the core ignores anything else."""
        msg, core = ev.msg, self._core()
        try:
            in_port = int(msg.match["in_port"])
            frame = bytes(msg.data)
        except (KeyError, TypeError, ValueError):
            return
        with self.run.lock:
            updates = core.probe_answered(time.time(), msg.datapath.id, in_port, frame)
        self.run.sender.send_updates(updates)

    # --- statistics ---------------------------------------------------------------

    @set_ev_cls(ofp_event.EventOFPPortStatsReply, MAIN_DISPATCHER)
    def _port_stats(self, ev: Any) -> None:
        from sdn_shadow.telemetry.decode import decode_port_stats
        from sdn_shadow.telemetry.multipart import DecodeError

        msg, now, core = ev.msg, time.time(), self._core()
        try:
            stats = decode_port_stats(bytes(msg.buf))
        except DecodeError as err:
            LOG.error("switch dpid %#x: undecodable port stats reply: %s", msg.datapath.id, err)
            return
        if self.run.sender.answer(msg.datapath.id, msg.xid, more_parts(msg)) == "ports":
            with self.run.lock:
                rates = core.demand.port_stats(now, msg.datapath.id, stats)
            self.run.series.append(now, rates)  # SQLite: outside the controller's lock

    @set_ev_cls(ofp_event.EventOFPMeterStatsReply, MAIN_DISPATCHER)
    def _meter_stats(self, ev: Any) -> None:
        from sdn_shadow.telemetry.decode import decode_meter_stats
        from sdn_shadow.telemetry.multipart import DecodeError

        msg, core = ev.msg, self._core()
        try:
            stats = decode_meter_stats(bytes(msg.buf))
        except DecodeError as err:
            LOG.error("switch dpid %#x: undecodable meter stats reply: %s", msg.datapath.id, err)
            return
        if self.run.sender.answer(msg.datapath.id, msg.xid, more_parts(msg)) == "meters":
            with self.run.lock:
                core.meter_stats(time.time(), msg.datapath.id, stats)

    @set_ev_cls(ofp_event.EventOFPGroupStatsReply, MAIN_DISPATCHER)
    def _group_stats(self, ev: Any) -> None:
        from sdn_shadow.core import GroupCounters

        msg, core = ev.msg, self._core()
        counters = [GroupCounters(g.group_id, tuple((b.packet_count, b.byte_count)
                                                    for b in g.bucket_stats))
                    for g in msg.body]
        with self.run.lock:
            core.group_stats(time.time(), msg.datapath.id, counters)
