"""The OS-Ken app: OpenFlow events in, ShadowCore decisions out, bytes to the switch.

Thin on purpose: it reads the switch's tables, asks the core what to send,
packs the answer with `openflow.wire` and writes it to the socket in one go.
It also polls statistics (never more than one request of a kind outstanding
per switch), decodes the replies with `telemetry.decode`, appends the rates
the core derives to the series store, and runs the forecast loop.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import threading
import time
from dataclasses import dataclass
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
from os_ken.ofproto.ofproto_v1_3 import OFPPC_PORT_DOWN, OFPPS_LINK_DOWN, OFPPS_LIVE

from sdn_shadow import osken_raw, ovsdb
from sdn_shadow.analytics.live import decode_frames
from sdn_shadow.api.restore import layered, replay
from sdn_shadow.api.store import ApiStore
from sdn_shadow.config import ConfigError, read_document, validate_config
from sdn_shadow.config.model import Config
from sdn_shadow.core import GroupCounters, InstalledFlow, ReloadRefused, ShadowCore, UnknownSwitch
from sdn_shadow.openflow import bundle, wire
from sdn_shadow.openflow.commit import Commit, Commits
from sdn_shadow.openflow.messages import Barrier, Meter, MeterBand
from sdn_shadow.openflow.pipeline import DEMAND_COOKIE, DEMAND_COOKIE_MASK, Subsystem, Table
from sdn_shadow.policy.watch import Destination
from sdn_shadow.sniffer import PortSniffer
from sdn_shadow.telemetry.decode import (
    FlowStats,
    decode_flow_stats,
    decode_meter_stats,
    decode_port_stats,
)
from sdn_shadow.telemetry.multipart import DecodeError
from sdn_shadow.telemetry.profile_store import ProfileStore
from sdn_shadow.telemetry.store import SeriesStore

LOG = logging.getLogger("sdn_shadow")
TICK = 0.1  # seconds between poll-loop checks
PROFILE_SAVE = 60.0  # seconds between saves of the client profiles


class Settings:
    """What the CLI hands to the app before OS-Ken instantiates it."""

    config: Config | None = None
    config_path: str = ""
    state_file: str | None = None
    metrics: str | None = None  # overrides config.telemetry.metrics when set
    api: str | None = None  # overrides config.api.listen when set
    tokens: str | None = None  # overrides config.api.tokens when set
    document: dict | None = None  # the config file as read, when the CLI has read it


_ERROR_NAMES = {(1, 1): "bad type", (5, 1): "table full", (5, 2): "bad table id",
                (5, 6): "bad flow-mod command"}


def _error_name(kind: int, code: int) -> str:
    """What an OpenFlow error means, where we know it (type 5 code 1 is a full table)."""
    name = _ERROR_NAMES.get((kind, code))
    return f" ({name})" if name else ""


class _Pending:
    """Multipart replies being collected for one switch's reconciliation."""

    def __init__(self) -> None:
        self.flows: list[InstalledFlow] = []
        self.groups: list[int] = []
        self.meters: list[Meter] = []
        self.flows_done = False
        self.groups_done = False
        self.meters_done = False


@dataclass
class _Poll:
    """One kind of statistics request polled from every switch."""

    name: str
    interval: float


def port_live(desc) -> bool:
    """Whether a port (OFPPort) can carry traffic: up, not disabled, and LIVE (BFD included)."""
    return bool(desc.state & OFPPS_LIVE) and not desc.state & OFPPS_LINK_DOWN and not (
        desc.config & OFPPC_PORT_DOWN)


def installed_flows(stats: FlowStats) -> list[InstalledFlow]:
    """Decoded flow stats as the core's InstalledFlow records (keys need the match parsed)."""
    return [InstalledFlow(t, p, m, int(c), int(n), int(b))
            for (t, p, m), c, n, b in zip(stats.flow_keys(), stats.cookie, stats.packet_count,
                                          stats.byte_count, strict=True)]


class ShadowApp(app_manager.OSKenApp):
    """OS-Ken application driving every configured switch to its desired state."""

    OFP_VERSIONS = [ofproto_v1_3.OFP_VERSION]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        config = Settings.config
        if config is None:
            raise RuntimeError("sdn_shadow.app.Settings.config must be set before starting")
        osken_raw.install()
        self.api_store, self.document, config = self._kept_changes(config)
        self.core = ShadowCore(config)
        if self.api_store is not None:
            for line in replay(self.core, self.api_store, time.time()):
                LOG.info("restored from %s: %s", self.api_store.path, line)
        self.lock = threading.RLock()
        self.state_file_lock = threading.Lock()  # the state file's writes, in order
        self.state_on_disk = 0.0
        self.commits = Commits()
        self.api_service = None
        self.datapaths: dict[int, object] = {}
        self.pending: dict[int, _Pending] = {}
        self.barriers: dict[int, tuple[int, float]] = {}
        self.requests: dict[tuple[int, int], tuple[str, float]] = {}  # (dpid, xid) -> kind
        self.last_sent: dict[tuple[int, str], float] = {}
        self.xid = 0x10000000
        self.state_written = 0.0
        tel = config.telemetry
        self.polls = [_Poll("ports", tel.port_interval), _Poll("demand", tel.flow_interval),
                      _Poll("mirror", config.controller.stats_interval),
                      _Poll("meters", tel.meter_interval)]
        self.store = SeriesStore(tel.history, tel.window, tel.retention)
        self.profile_store = ProfileStore(tel.history) if tel.history else None
        self.profiles_saved = time.time()
        if self.profile_store is not None:
            self.core.profiles = self.profile_store.load(**self.core.profiles.settings())
            LOG.info("history in %s: %d series, %d client profiles reloaded", tel.history,
                     len(self.store.series_keys()), len(self.core.profiles))
        self.metrics_server = None
        listen = Settings.metrics or tel.metrics
        if listen:
            from sdn_shadow.api.metrics import serve

            self.metrics_server = serve(listen, self._metrics_snapshot)
            LOG.info("Prometheus metrics on http://%s/metrics", listen)
        self.api_server = self._start_api(config)
        self.directory_mirrors = None  # the shadows' LDAP mirrors (shadow.ldap), if any
        if any(n.shadow is not None and n.shadow.ldap is not None for n in config.networks):
            from sdn_shadow.directory.service import DirectoryMirrors

            self.directory_mirrors = DirectoryMirrors(config, self._directory_report).start()
        self.port_names: dict[int, dict[int, str]] = {}  # from port descriptions
        self.sniffers: dict[str, tuple[Destination, PortSniffer]] = {}  # by interface
        self._load_baselines()
        self.reload_requested = False
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGHUP, self._on_sighup)
        self.threads.append(hub.spawn(self._poll_loop))
        self.threads.append(hub.spawn(self._forecast_loop))
        self._write_state()

    def _kept_changes(self, config: Config) -> tuple[ApiStore | None, dict | None, Config]:
        """The API's store, the configuration document and the Config with kept changes."""
        document = Settings.document
        if document is None and Settings.config_path:
            document = read_document(Settings.config_path)
        path = config.api.store
        if path is None or document is None:
            return None, document, config
        store = ApiStore(path)
        merged, layered_config, problems = layered(document, store, Settings.config_path)
        for problem in problems:
            LOG.error("API changes kept in %s no longer fit %s, starting without them: %s",
                      path, Settings.config_path, problem)
        if layered_config is None:
            return store, merged, config
        LOG.info("%d network changes made over the API restored from %s",
                 len(store.network_changes()), path)
        return store, merged, layered_config

    def _start_api(self, config):
        """The REST API server when configured (or asked for on the command line), else None."""
        listen = Settings.api or config.api.listen
        if not listen:
            return None
        from sdn_shadow.api.auth import TokenBook
        from sdn_shadow.api.rest import create_app
        from sdn_shadow.api.server import ApiServer
        from sdn_shadow.api.service import ControllerService

        tokens_file = Settings.tokens or config.api.tokens
        if not tokens_file:
            raise RuntimeError("the REST API needs a token file (api.tokens or --tokens)")
        tokens = TokenBook.load(tokens_file)
        ldap = None
        if config.api.ldap is not None:
            from sdn_shadow.api.ldap_roles import LdapRoles

            ldap = LdapRoles(config.api.ldap)
        self.api_service = ControllerService(self.core, self._send_commit, self.lock,
                                             document=self.document, store=self.api_store)
        host, _, port = listen.rpartition(":")
        server = ApiServer(create_app(self.api_service, tokens, ldap), host, int(port),
                           config.api.tls).start()
        scheme = "https" if config.api.tls else "http"
        LOG.info("REST API on %s://%s/api/v1 (%d tokens from %s%s; OpenAPI at /openapi.json)",
                 scheme, listen, len(tokens.holders), tokens_file,
                 f", LDAP users of {config.api.ldap.url}" if ldap else "")
        return server

    def _directory_report(self, network: str, report) -> None:
        """A round of `network`'s LDAP mirror: the core decides whether it is an event."""
        with self.lock:
            self.core.ldap_round(time.time(), network, report)
        for line in report.lines():
            LOG.log(logging.INFO if report.ok else logging.WARNING, "ldap mirror of %s: %s",
                    network, line)

    # --- configuration reload -----------------------------------------------------

    def _on_sighup(self, _signum, _frame) -> None:
        self.reload_requested = True  # acted on in the poll loop, not in the handler

    def _reload(self) -> None:
        """Re-read the configuration file and take it live; a bad one changes nothing."""
        self.reload_requested = False
        now = time.time()
        try:
            document = read_document(Settings.config_path)
            if self.api_store is not None:
                document = self.api_store.overlay(document)
            config = validate_config(document, Settings.config_path)
            with self.lock:
                updates = self.core.reload(now, config)
                self.document = document
                if self.api_service is not None:
                    self.api_service.document = document
        except (ConfigError, ReloadRefused) as err:
            lines = err.lines() if isinstance(err, ConfigError) else [str(err)]
            for line in lines:
                LOG.error("reload refused, the running configuration stays: %s", line)
            with self.lock:
                self.core.reload_rejected(now, lines)
            self._write_state()
            return
        LOG.info("configuration reloaded from %s: %s", Settings.config_path,
                 self.core.events[-1]["reason"])
        self._load_baselines()
        self._update_sniffers()
        self._send_updates(updates)
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
            self.core.demand.switch_reconnected(dpid)
            self.datapaths[dpid] = dp
            self.pending[dpid] = _Pending()
            for key in [k for k in self.requests if k[0] == dpid]:
                del self.requests[key]
        parser, ofp = dp.ofproto_parser, dp.ofproto
        self._request(dp, "reconcile", parser.OFPFlowStatsRequest(
            dp, 0, ofp.OFPTT_ALL, ofp.OFPP_ANY, ofp.OFPG_ANY, 0, 0, parser.OFPMatch()))
        dp.send_msg(parser.OFPGroupDescStatsRequest(dp, 0))
        dp.send_msg(parser.OFPMeterConfigStatsRequest(dp, 0, ofp.OFPM_ALL))
        dp.send_msg(parser.OFPPortDescStatsRequest(dp, 0))
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
            self.commits.disconnected(dp.id)
            self.core.switch_disconnected(time.time(), dp.id)
            LOG.info("switch %s (dpid %#x) disconnected; it keeps its flows",
                     self.core.switches[dp.id].name, dp.id)
        self._write_state()

    def _request(self, dp, kind: str, msg) -> None:
        """Send a stats request and remember what its reply is for."""
        dp.send_msg(msg)
        with self.lock:
            self.requests[(dp.id, msg.xid)] = (kind, time.time())

    def _reply_kind(self, msg) -> str | None:
        """What a stats reply answers; forgets the request after its last part."""
        key = (msg.datapath.id, msg.xid)
        entry = self.requests.get(key)
        if entry is not None and not msg.flags & msg.datapath.ofproto.OFPMPF_REPLY_MORE:
            del self.requests[key]
        return None if entry is None else entry[0]

    # --- reconciliation -----------------------------------------------------------

    @set_ev_cls(ofp_event.EventOFPFlowStatsReply, MAIN_DISPATCHER)
    def _flow_stats(self, ev) -> None:
        msg = ev.msg
        dpid = msg.datapath.id
        now = time.time()
        try:
            stats = decode_flow_stats(bytes(msg.buf))
        except DecodeError as err:
            LOG.error("switch dpid %#x: undecodable flow stats reply: %s", dpid, err)
            return
        with self.lock:
            kind = self._reply_kind(msg)
            if kind == "reconcile":
                pending = self.pending.get(dpid)
                if pending is None:
                    return
                pending.flows += installed_flows(stats)
                pending.flows_done = stats.complete
            elif kind == "demand":
                self.store.append(now, self.core.flow_demand(now, dpid, stats))
                return
            elif kind == "mirror":
                self.core.mirror_flow_stats(now, dpid, installed_flows(stats))
                return
            else:
                return
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

    @set_ev_cls(ofp_event.EventOFPMeterConfigStatsReply, MAIN_DISPATCHER)
    def _meter_config(self, ev) -> None:
        msg = ev.msg
        ofp = msg.datapath.ofproto
        with self.lock:
            pending = self.pending.get(msg.datapath.id)
            if pending is None:
                return
            for m in msg.body:
                bands = tuple(MeterBand(b.rate, b.burst_size) for b in m.bands if b.type == 1)
                pending.meters.append(Meter(
                    m.meter_id, bands, "pktps" if m.flags & ofp.OFPMF_PKTPS else "kbps",
                    bool(m.flags & ofp.OFPMF_BURST), bool(m.flags & ofp.OFPMF_STATS)))
            pending.meters_done = not msg.flags & ofp.OFPMPF_REPLY_MORE
        self._maybe_reconcile(msg.datapath)

    def _maybe_reconcile(self, dp) -> None:
        with self.lock:
            pending = self.pending.get(dp.id)
            if not (pending and pending.flows_done and pending.groups_done
                    and pending.meters_done):
                return
            del self.pending[dp.id]
            start = time.time()
            msgs = self.core.reconcile(start, dp.id, pending.flows, pending.groups,
                                       pending.meters)
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
        reason = f"error type={msg.type} code={msg.code}{_error_name(msg.type, msg.code)}"
        if self.commits.failed(msg.datapath.id, msg.xid, reason):
            LOG.warning("switch dpid %#x refused a change (xid %#x): %s", msg.datapath.id,
                        msg.xid, reason)
            return
        LOG.error("switch dpid %#x reported error type=%d code=%d for xid %#x: %s",
                  msg.datapath.id or 0, msg.type, msg.code, msg.xid, bytes(msg.data[:64]).hex())

    # --- ports, failover and failback -------------------------------------------

    @set_ev_cls(ofp_event.EventOFPPortStatus, MAIN_DISPATCHER)
    def _port_status(self, ev) -> None:
        msg = ev.msg
        reasons = {0: "added", 1: "deleted", 2: "modified"}
        live = port_live(msg.desc) and msg.reason != 1
        LOG.info("switch dpid %#x port %s %s (state %#x%s)", msg.datapath.id, msg.desc.port_no,
                 reasons.get(msg.reason, msg.reason), msg.desc.state, "" if live else ", down")
        with self.lock:
            updates = self.core.port_status(time.time(), msg.datapath.id, msg.desc.port_no, live)
        self._send_updates(updates)

    @set_ev_cls(ofp_event.EventOFPPortDescStatsReply, MAIN_DISPATCHER)
    def _port_desc(self, ev) -> None:
        msg = ev.msg
        dpid = msg.datapath.id
        now = time.time()
        ports = [p for p in msg.body if p.port_no < 0xFFFFFF00]  # not LOCAL and other reserved
        names = {p.port_no: p.name.decode(errors="replace") for p in ports}
        with self.lock:
            self.port_names[dpid] = names
            updates = self.core.ports_seen(now, dpid, {p.port_no: port_live(p) for p in ports})
            interfaces = self.core.bfd_to_enable(now, dpid, names)
        self._send_updates(updates)
        self._update_sniffers()
        interval = self.core.config.failover.bfd_interval_ms
        for name in interfaces:
            try:
                ovsdb.enable_bfd(name, interval)
                LOG.info("BFD on %s every %d ms", name, interval)
            except ovsdb.OvsdbError as err:
                LOG.error("could not enable BFD on %s: %s", name, err)

    # --- the watch on the shadows' copies ---------------------------------------------

    def _load_baselines(self) -> None:
        """Read the baseline captures the watch has not read as configured (at start, and
        after a reload that changed them)."""
        from sdn_shadow.analytics.analyze import capture_intervals
        from sdn_shadow.analytics.capture_file import CaptureError

        with self.lock:
            todo = self.core.watch.baselines_to_read()
        for network, (files, seconds) in todo.items():
            intervals = []
            for path in files:
                try:
                    intervals += capture_intervals(path, seconds).intervals
                except CaptureError as err:
                    LOG.error("detection baseline of %s: %s (left out)", network, err)
            with self.lock:
                self.core.watch.set_baseline(network, (files, seconds), intervals)
            LOG.info("detection baseline of %s: %d intervals from %d files", network,
                     len(intervals), len(files))

    def _update_sniffers(self) -> None:
        """Read the ports of the watched shadow hosts (and stop reading the others)."""
        with self.lock:
            wanted = {self.port_names[dpid][port]: dest
                      for (dpid, port), dest in self.core.watch.ports().items()
                      if port in self.port_names.get(dpid, {})}
        for name, (dest, sniffer) in list(self.sniffers.items()):
            if wanted.get(name) != dest:
                sniffer.stop()
                del self.sniffers[name]
                LOG.info("stopped watching %s (%s/%s)", name, *dest)
        for name, dest in wanted.items():
            if name in self.sniffers:
                continue
            sniffer = PortSniffer(name, lambda frames, lost, dest=dest:
                                  self._mirrored(dest, frames, lost))
            try:
                self.sniffers[name] = (dest, sniffer.start())
            except OSError as err:
                LOG.error("cannot watch %s/%s on interface %s: %s", *dest, name, err)
                continue
            LOG.info("watching %s/%s: the copies %s sends it", *dest, name)

    def _mirrored(self, destination: Destination, frames: list, lost: int) -> None:
        decoded = decode_frames(frames, lost)  # the per-packet work, outside the lock
        with self.lock:
            lagging = self.core.mirrored(time.time(), destination, decoded)
        if lagging is not None:
            LOG.warning("%s %s: %s", lagging["kind"], lagging["network"], lagging["reason"])

    def _send_commit(self, updates: dict[int, list]) -> Commit:
        """Send a change as one bundle per switch; the Commit says who applied it.

        The caller holds the lock (so nothing the hub sends can come between
        the change's messages) and waits on the Commit after releasing it.
        """
        commit = Commit()
        with self.lock:
            for dpid, msgs in updates.items():
                dp = self.datapaths.get(dpid)
                if dp is None or not self.core.switches[dpid].synced:
                    continue  # reconciled to the new plan when it connects
                parts = bundle.split(msgs)
                bundle_id = self.commits.bundle_id()
                first = self._next_xids(bundle.xids_needed(parts.bundled))
                frames, commit_xid = bundle.pack_bundle(parts.bundled, bundle_id, first)
                self.commits.expect(commit, dpid, bundle_id, first, commit_xid)
                dp.send(wire.pack_many(parts.before, self._next_xids(len(parts.before)))
                        + frames
                        + wire.pack_many(parts.after, self._next_xids(len(parts.after))))
        if updates:
            self._write_state()
        return commit

    @set_ev_cls(ofp_event.EventONFBundleCtrlMsg, MAIN_DISPATCHER)
    def _bundle_reply(self, ev) -> None:
        msg = ev.msg
        if msg.type == bundle.COMMIT_REPLY:
            self.commits.committed(msg.datapath.id, msg.xid)

    def _send_updates(self, updates: dict[int, list]) -> None:
        """Send the core's messages to each switch that is connected and synced."""
        with self.lock:
            targets = [(self.datapaths[dpid], msgs) for dpid, msgs in updates.items()
                       if dpid in self.datapaths and self.core.switches[dpid].synced]
            for dp, msgs in targets:
                dp.send(wire.pack_many(msgs, first_xid=self._next_xids(len(msgs))))
        if updates:
            self._write_state()

    # --- statistics ---------------------------------------------------------------

    def _poll_loop(self) -> None:
        """Send each kind of stats request to each synced switch at its interval."""
        while True:
            hub.sleep(TICK)
            now = time.time()
            due: list[tuple[object, str]] = []
            with self.lock:
                outstanding = {(dpid, kind): sent for (dpid, _), (kind, sent)
                               in self.requests.items()}
                for dpid, dp in self.datapaths.items():
                    if not self.core.switches[dpid].synced:
                        continue
                    for poll in self.polls:
                        sent = outstanding.get((dpid, poll.name))
                        if sent is not None and now - sent < 5 * poll.interval:
                            continue  # the switch has not answered yet: don't pile up
                        if now - self.last_sent.get((dpid, poll.name), 0.0) >= poll.interval:
                            self.last_sent[(dpid, poll.name)] = now
                            due.append((dp, poll.name))
            for dp, kind in due:
                self._send_poll(dp, kind)
            with self.lock:
                probes = [(self.datapaths[dpid], port, frame)
                          for dpid, port, frame in self.core.probes_due(now)
                          if dpid in self.datapaths]
            for dp, port, frame in probes:
                self._send_probe(dp, port, frame)
            if self.reload_requested:
                self._reload()
            with self.lock:
                seen = len(self.core.events)
                updates = self.core.tick(now)
                fresh = self.core.events[seen:]
            for event in fresh:
                if event["kind"] in ("alert", "alert_closed", "response"):
                    LOG.log(logging.WARNING if event["kind"] == "alert" else logging.INFO,
                            "%s %s: %s", event["kind"].replace("_", " "), event["network"],
                            event["reason"])
            self._send_updates(updates)
            if now - self.state_written >= 1.0:
                self._write_state()

    def _send_probe(self, dp, port: int, frame: bytes) -> None:
        parser, ofp = dp.ofproto_parser, dp.ofproto
        dp.send_msg(parser.OFPPacketOut(dp, ofp.OFP_NO_BUFFER, ofp.OFPP_CONTROLLER,
                                        [parser.OFPActionOutput(port)], frame))

    @set_ev_cls(ofp_event.EventOFPPacketIn, MAIN_DISPATCHER)
    def _packet_in(self, ev) -> None:
        """Only probe answers are sent here; the core ignores anything else."""
        msg = ev.msg
        try:
            in_port = int(msg.match["in_port"])
            frame = bytes(msg.data)
        except (KeyError, TypeError, ValueError):
            return
        with self.lock:
            updates = self.core.probe_answered(time.time(), msg.datapath.id, in_port, frame)
        self._send_updates(updates)

    def _send_poll(self, dp, kind: str) -> None:
        parser, ofp = dp.ofproto_parser, dp.ofproto
        if kind == "ports":
            self._request(dp, kind, parser.OFPPortStatsRequest(dp, 0, ofp.OFPP_ANY))
        elif kind == "demand":
            self._request(dp, kind, parser.OFPFlowStatsRequest(
                dp, 0, ofp.OFPTT_ALL, ofp.OFPP_ANY, ofp.OFPG_ANY, DEMAND_COOKIE,
                DEMAND_COOKIE_MASK, parser.OFPMatch()))
        elif kind == "meters":
            self._request(dp, kind, parser.OFPMeterStatsRequest(dp, 0, ofp.OFPM_ALL))
        elif kind == "mirror":
            dp.send_msg(parser.OFPGroupStatsRequest(dp, 0, ofp.OFPG_ALL))
            for table in (Table.MIRROR_OUT, Table.MIRROR_IN):
                self._request(dp, kind, parser.OFPFlowStatsRequest(
                    dp, 0, table, ofp.OFPP_ANY, ofp.OFPG_ANY, Subsystem.MIRROR << 56,
                    0xFF << 56, parser.OFPMatch()))

    @set_ev_cls(ofp_event.EventOFPPortStatsReply, MAIN_DISPATCHER)
    def _port_stats(self, ev) -> None:
        msg = ev.msg
        now = time.time()
        try:
            stats = decode_port_stats(bytes(msg.buf))
        except DecodeError as err:
            LOG.error("switch dpid %#x: undecodable port stats reply: %s", msg.datapath.id, err)
            return
        with self.lock:
            if self._reply_kind(msg) == "ports":
                self.store.append(now, self.core.demand.port_stats(now, msg.datapath.id, stats))

    @set_ev_cls(ofp_event.EventOFPMeterStatsReply, MAIN_DISPATCHER)
    def _meter_stats(self, ev) -> None:
        msg = ev.msg
        try:
            stats = decode_meter_stats(bytes(msg.buf))
        except DecodeError as err:
            LOG.error("switch dpid %#x: undecodable meter stats reply: %s", msg.datapath.id, err)
            return
        with self.lock:
            if self._reply_kind(msg) == "meters":
                self.core.meter_stats(time.time(), msg.datapath.id, stats)

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

    # --- forecasting --------------------------------------------------------------

    def _forecast_loop(self) -> None:
        """Every forecast interval: forecast the demand series, size the allocations."""
        interval = self.core.config.forecast.interval
        while True:  # the first round runs at once: reloaded history forecasts right away
            try:
                self._forecast_once()
            except Exception:  # a bad round must not stop forecasting
                LOG.exception("forecast round failed")
            hub.sleep(interval)

    def _forecast_once(self) -> None:
        started = time.time()
        with self.lock:
            keys, depth = self.core.forecast_inputs(self.store.series_keys())
            job = self.core.forecast_job()
        # The fit is the slow part (about 1 s at 10k series): outside the lock,
        # so the API's threads go on meanwhile.
        history = self.store.matrix(keys, depth)
        fitted = job.run(keys, history)
        with self.lock:
            allocations = self.core.take_forecasts(started, fitted)
            updates = self.core.allocation_messages(started)
            targets = [(self.datapaths[dpid], msgs) for dpid, msgs in updates.items()
                       if dpid in self.datapaths and self.core.switches[dpid].synced]
            for dp, msgs in targets:
                dp.send(wire.pack_many([*msgs, Barrier()], first_xid=self._next_xids(
                    len(msgs) + 1)))
            moves = self.core.preempt(started)
            if self.profile_store is not None and started - self.profiles_saved >= PROFILE_SAVE:
                self.profile_store.save(self.core.profiles)
                self.profiles_saved = started
            for name, alloc in allocations.items():
                if alloc.changed:
                    LOG.info("allocation %s (%s): hold %.0f B/s (forecast %.0f, upper %.0f)%s",
                             name, alloc.strategy, alloc.held, alloc.point, alloc.upper,
                             "" if alloc.install else " [forecast_only]")
        self._send_updates(moves)
        self._write_state()

    # --- state file and metrics ---------------------------------------------------

    def _metrics_snapshot(self) -> dict:
        with self.lock:
            return self.core.metrics()

    def _write_state(self) -> None:
        if not Settings.state_file:
            return
        with self.lock:  # only the snapshot under the lock; the file outside it
            self.state_written = time.time()
            state = {"updated": self.state_written, "pid": os.getpid(),
                     "config": Settings.config_path, **self.core.status()}
            stamp = self.state_written
            text = json.dumps(state, indent=1, sort_keys=True)
        with self.state_file_lock:
            if stamp < self.state_on_disk:  # a newer snapshot got there first
                return
            path = Path(Settings.state_file)
            tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
            tmp.write_text(text)
            os.replace(tmp, path)
            self.state_on_disk = stamp
