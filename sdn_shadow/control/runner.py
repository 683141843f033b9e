"""The controller's running state and its rounds: what the OS-Ken app's handlers call.

`Runner` holds the core (once `prepare` has planned it), the sender, the
poll schedule and the switches being reconciled, and runs the poll loop and
the forecast loop. Each round of a loop survives any exception (logged, and
the next round comes); a reload never raises (`control.reload`). It knows
nothing of OS-Ken but the datapath's `send`, `send_msg`, `ofproto` and
`ofproto_parser`, so tests drive it with a fake datapath.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from sdn_shadow.control.polls import Schedule, polls_of
from sdn_shadow.control.sender import Sender
from sdn_shadow.control.startup import RunSettings
from sdn_shadow.control.statefile import StateFile
from sdn_shadow.control.sync import Barriers, Collecting, last_xid
from sdn_shadow.control.watchio import WatchIO

LOG = logging.getLogger("sdn_shadow")
TICK = 0.1  # seconds between poll-loop rounds


class Runner:
    """The controller between OS-Ken and the core; handlers and loops call it."""

    def __init__(self, settings: RunSettings, clock: Callable[[], float] = time.time,
                 pause: Callable[[], Any] = lambda: None) -> None:
        self.settings, self.clock = settings, clock
        self.lock = threading.RLock()
        self.ready = threading.Event()  # set once the fabric is planned
        self.core: Any = None
        self.series: Any = None
        self.profiles: Any = None
        self.models: Any = None
        self.api_store: Any = None
        self.api_service: Any = None
        self.document: dict | None = None
        self.sender = Sender(self.lock, self._synced, after=self._sent, pause=pause)
        self.state = StateFile(settings.state_file, self.lock, self._snapshot, clock)
        self.watch = WatchIO(lambda: self.core, self.lock, clock)
        self.collecting: dict[int, Collecting] = {}
        self.barriers = Barriers()
        self.schedule = Schedule(())
        self.reload_requested = False
        self.last_reload: dict[str, Any] | None = None
        self.profiles_saved = clock()
        self.metrics_server: Any = None
        self.directory_mirrors: Any = None

    def _synced(self, dpid: int) -> bool:
        return self.core is not None and self.core.switches[dpid].synced

    def _sent(self) -> None:
        self.state.write()

    def _snapshot(self) -> dict[str, Any]:
        return {"config": self.settings.config_path, **self.core.status()}

    # --- start ------------------------------------------------------------------

    def prepare(self) -> None:
        """Plan the fabric and start what runs on it (API, metrics, LDAP mirrors, watch)."""
        from sdn_shadow.control.world import plan_world, serve_api

        gate = self.settings.gate
        world = plan_world(self.settings, self.clock())
        with self.lock:
            self.core, self.series, self.profiles = world.core, world.series, world.profiles
            self.models = world.models
            self.api_store, self.document = world.api_store, world.document
        if self.models is not None:  # the intervals scale as before the restart
            calibration, problems = self.models.load_calibration(self.core.config.forecast.level)
            for line in problems:
                LOG.warning("%s; the intervals recalibrate afresh", line)
            with self.lock:
                self.core.capacity.calibration = calibration
        config = self.core.config
        tel = config.telemetry
        self.schedule = Schedule(polls_of(tel.port_interval, tel.flow_interval,
                                          config.controller.stats_interval,
                                          tel.meter_interval))
        listen = self.settings.metrics or tel.metrics
        if listen:
            from sdn_shadow.api.metrics import serve

            self.metrics_server = serve(listen, self._metrics, tel.metrics_token)
            LOG.info("Prometheus metrics on http://%s/metrics", listen)
        if gate is not None:
            self.api_service = serve_api(self.settings, world, gate, self.lock,
                                         self.sender.send_commit, lambda: self.last_reload)
        if any(n.shadow is not None and n.shadow.ldap is not None for n in config.networks):
            from sdn_shadow.directory.service import DirectoryMirrors

            self.directory_mirrors = DirectoryMirrors(config, self._directory_report).start()
        self.watch.load_baselines()
        self.ready.set()
        self.state.write()

    def _metrics(self) -> dict:
        with self.lock:
            return dict(self.core.metrics())

    def _directory_report(self, network: str, report: Any) -> None:
        """A round of `network`'s LDAP mirror: the core decides whether it is an event."""
        with self.lock:
            self.core.ldap_round(self.clock(), network, report)
        for line in report.lines():
            LOG.log(logging.INFO if report.ok else logging.WARNING, "ldap mirror of %s: %s",
                    network, line)

    # --- switches -----------------------------------------------------------------

    def switch_connected(self, core: Any, dp: Any, now: float) -> bool:
        """A switch said hello: False if it is not configured (ignored)."""
        from sdn_shadow.core import UnknownSwitch

        dpid = dp.id
        with self.lock:
            try:
                name = core.plan(dpid).name
            except UnknownSwitch:
                LOG.warning("switch dpid %#x at %s is not in the config; ignoring it",
                            dpid, dp.address)
                return False
            LOG.info("switch %s (dpid %#x) connected from %s:%s", name, dpid, *dp.address)
            core.switch_connected(now, dpid)
            self.sender.connected(dpid, dp)
            self.collecting[dpid] = Collecting()
            self.barriers = self.barriers.forget(dpid)
        return True

    def switch_gone(self, dp: Any, now: float) -> None:
        """A connection closed; the switch keeps its flows until it comes back."""
        with self.lock:
            if not self.sender.disconnected(dp):
                return
            self.collecting.pop(dp.id, None)
            self.barriers = self.barriers.forget(dp.id)
            self.core.switch_disconnected(now, dp.id)
            LOG.info("switch %s (dpid %#x) disconnected; it keeps its flows",
                     self.core.switches[dp.id].name, dp.id)
        self.state.write()

    def collected(self, dpid: int, change: Callable[[Collecting], Collecting]) -> None:
        """One part of a switch's tables has been read; once all are in, reconcile it."""

        with self.lock:
            collecting = self.collecting.get(dpid)
            dp = self.sender.datapaths.get(dpid)
            if collecting is None or dp is None:
                return
            collecting = change(collecting)
            if not collecting.complete:
                self.collecting[dpid] = collecting
                return
            del self.collecting[dpid]
            start = self.clock()
            msgs = self.core.reconcile(start, dpid, collecting.flows, collecting.groups,
                                       collecting.meters)
            first = self.sender.next_xids(len(msgs))
            self.barriers = self.barriers.expect(dpid, last_xid(first, len(msgs)), start)
            sync = self.core.switches[dpid].last_sync
            name = self.core.switches[dpid].name
        self.sender.send_push(dp, msgs, first)  # the switch installs as we pack
        LOG.info("switch %s reports %d flows, %d groups: %d to add or replace, %d to delete",
                 name, len(collecting.flows), len(collecting.groups), sync["added"],
                 sync["deleted"])

    def barrier(self, dpid: int, xid: int, now: float) -> None:
        """A barrier reply: the one closing a reconciliation marks the switch synced."""
        with self.lock:
            started, self.barriers = self.barriers.answered(dpid, xid)
            if started is None:
                return
            self.core.switch_synced(now, dpid)
            state = self.core.switches[dpid]
            LOG.info("switch %s synced: %d flows, %d groups in %.1f ms",
                     state.name, state.flows, state.groups, (now - started) * 1000)
        self.state.write()

    # --- the poll loop ---------------------------------------------------------------

    def on_sighup(self, _signum: int, _frame: Any) -> None:
        """SIGHUP asks for a reload; the poll loop does it (not the signal handler)."""
        self.reload_requested = True

    def poll_loop(self, sleep: Callable[[float], Any]) -> None:
        """Poll rounds every TICK seconds, forever; a failing round is logged and the next
        one comes."""
        while True:
            sleep(TICK)
            self.poll_round(self.clock())

    def poll_round(self, now: float) -> None:
        """Stats requests due, health probes, a requested reload, the timers; each part
        survives the others' failures."""
        for part in (self._poll_stats, self._probe, self._reload_if_asked, self._tick):
            try:
                part(now)
            except Exception:
                LOG.exception("poll round: %s failed; the loop goes on", part.__name__)

    def _poll_stats(self, now: float) -> None:
        with self.lock:
            synced = [d for d in self.sender.datapaths if self._synced(d)]
            self.schedule, due = self.schedule.due(now, synced,
                                                   self.sender.requests.outstanding())
            dps = dict(self.sender.datapaths)
        for dpid, kind in due:
            self.sender.poll(dps[dpid], kind, now)

    def _probe(self, now: float) -> None:
        with self.lock:
            probes = [(self.sender.datapaths[dpid], port, frame)
                      for dpid, port, frame in self.core.probes_due(now)
                      if dpid in self.sender.datapaths]
        for dp, port, frame in probes:
            parser, ofp = dp.ofproto_parser, dp.ofproto
            dp.send_msg(parser.OFPPacketOut(dp, ofp.OFP_NO_BUFFER, ofp.OFPP_CONTROLLER,
                                            [parser.OFPActionOutput(port)], frame))

    def _reload_if_asked(self, now: float) -> None:
        if not self.reload_requested:
            return
        changing = self.api_service.changing if self.api_service is not None else None
        # One change at a time: a reload between an API change's decision and its answer
        # (or its undo) would leave the running config matching neither the file nor the
        # API. The hub must not wait for the API (the API waits for the hub's barrier
        # replies), so while a change is under way the reload waits for the next round.
        if changing is not None and not changing.acquire(blocking=False):
            return
        try:
            self.reload(now)
        finally:
            if changing is not None:
                changing.release()

    def _tick(self, now: float) -> None:
        from sdn_shadow.control.rounds import event_lines

        with self.lock:
            seen = len(self.core.events)
            updates = self.core.tick(now)
            fresh = self.core.events[seen:]
        for level, line in event_lines(fresh):
            LOG.log(level, line)
        self.sender.send_updates(updates)
        if self.state.due(now):
            self.state.write()

    # --- reload -----------------------------------------------------------------------

    def reload(self, now: float) -> None:
        """Re-read the configuration file and take it live; a bad one changes nothing and
        is logged, recorded as a `reload_rejected` event and shown by /health."""
        from sdn_shadow.control import reload as reloading

        self.reload_requested = False
        path = self.settings.config_path
        outcome = reloading.reload(self.core, self.lock, path, self.api_store, now,
                                   applied=self._took_document)
        if isinstance(outcome, reloading.Refused):
            for line in outcome.errors:
                LOG.error("reload refused, the running configuration stays: %s", line)
            if outcome.trace:
                LOG.debug("the reload's exception: %s", outcome.trace)
            with self.lock:
                self.core.reload_rejected(now, list(outcome.errors))
                self.last_reload = {"result": "rejected", "at": now,
                                    "errors": list(outcome.errors)}
            self.state.write()
            return
        with self.lock:
            self.last_reload = {"result": "applied", "at": now, "errors": []}
        LOG.info("configuration reloaded from %s: %s", path, outcome.reason)
        self.watch.load_baselines()
        self.watch.update_sniffers()
        self.sender.send_updates(outcome.updates)
        self.state.write()

    def _took_document(self, document: dict) -> None:
        self.document = document
        if self.api_service is not None:
            self.api_service.document = document

    # --- the forecast loop --------------------------------------------------------------

    def forecast_loop(self, sleep: Callable[[float], Any] = time.sleep) -> None:
        """A forecast round every forecast interval, the first at once (reloaded history
        forecasts right away); a failing round is logged and the next one comes."""
        while True:
            try:
                self.forecast_once()
            except Exception:
                LOG.exception("forecast round failed")
            sleep(self.core.config.forecast.interval)

    def forecast_once(self) -> None:
        """Forecast the demand series, size the allocations, then move clients ahead."""
        from sdn_shadow.control.rounds import allocation_lines, forecast_round

        started = self.clock()
        with self.lock:
            keys, depth = self.core.forecast_inputs(self.series.series_keys())
            job = self.core.forecast_job()
        # The fit is the slow part (about 1 s at 10k series): outside the lock,
        # so the API's threads go on meanwhile.
        fitted = job.run(keys, self.series.matrix(keys, max(depth, job.read_depth())), started,
                         self.series.matrix)
        with self.lock:
            kept = self.profiles_saved if self.profiles is not None else None
            result = forecast_round(self.core, started, fitted, kept)
            for dp, msgs in self.sender.targets(result.allocation_updates):
                self.sender.send_messages(dp, msgs)
            if result.save_profiles:
                self.profiles.save(self.core.profiles)
                self.profiles_saved = started
        for line in [*fitted.notes, *allocation_lines(result.allocations)]:
            LOG.info(line)
        self.sender.send_updates(result.moves)
        self.state.write()
        lines = ([] if self.models is None
                 else self.models.keep(fitted.models, started, fitted.calibration))
        for line in lines:  # saved outside the lock
            LOG.warning(line)
