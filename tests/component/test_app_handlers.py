"""The OS-Ken app's handlers driven with fake datapaths: connect, reconcile, poll, reload.

The app is built without OS-Ken's manager (no hub threads, no listener) and
planned with `prepare()`; each handler gets the event OS-Ken would give it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from os_ken.controller.handler import DEAD_DISPATCHER
from os_ken.ofproto import ofproto_v1_3 as ofp
from os_ken.ofproto import ofproto_v1_3_parser as parser

from sdn_shadow.app import ShadowApp
from sdn_shadow.config import parse_config
from sdn_shadow.control.startup import RunSettings
from sdn_shadow.core import ShadowCore
from tests.fakes.datapath import (
    FakeDatapath,
    event,
    flow_entry,
    flow_stats,
    port_desc,
    state_change,
)

RING = Path(__file__).resolve().parents[2] / "examples" / "ring.yaml"


@pytest.fixture
def app(tmp_path) -> ShadowApp:
    """The app on the ring example (config file in tmp_path), planned, nothing connected."""
    config_path = tmp_path / "ring.yaml"
    config_path.write_text(RING.read_text())
    settings = RunSettings(parse_config(yaml.safe_load(RING.read_text())), str(config_path),
                           state_file=str(tmp_path / "state.json"))
    shadow_app = ShadowApp(settings=settings)
    shadow_app.run.prepare()
    return shadow_app


def connect(app: ShadowApp, dpid: int, flows: list[bytes] = ()) -> FakeDatapath:
    """Connect a switch holding `flows` (no groups, no meters) and answer its reads."""
    dp = FakeDatapath(dpid)
    app._switch_features(event(dp))
    (request,) = dp.requests(parser.OFPFlowStatsRequest)
    app._group_desc(event(dp, xid=dp.requests(parser.OFPGroupDescStatsRequest)[0].xid,
                          body=[]))
    app._meter_config(event(dp, xid=dp.requests(parser.OFPMeterConfigStatsRequest)[0].xid,
                            body=[]))
    app._flow_stats(flow_stats(dp, request.xid, list(flows)))
    return dp


def synced(app: ShadowApp, dp: FakeDatapath) -> None:
    """Answer the barrier that closes `dp`'s reconciliation."""
    barrier = [f for f in dp.frames() if f.type == ofp.OFPT_BARRIER_REQUEST][-1]
    app._barrier(event(dp, xid=barrier.xid))


def all_synced(app: ShadowApp) -> dict[int, FakeDatapath]:
    dps = {}
    for dpid in app.run.core.plans:
        dps[dpid] = connect(app, dpid)
        synced(app, dps[dpid])
        dps[dpid].clear()
    return dps


def test_a_connecting_switch_reads_its_tables_then_gets_its_plan(app) -> None:
    core = app.run.core
    dpid = next(iter(core.plans))
    dp = FakeDatapath(dpid)
    app._switch_features(event(dp))
    assert len(dp.requests(parser.OFPFlowStatsRequest)) == 1
    assert len(dp.requests(parser.OFPGroupDescStatsRequest)) == 1
    assert len(dp.requests(parser.OFPMeterConfigStatsRequest)) == 1
    assert len(dp.requests(parser.OFPPortDescStatsRequest)) == 1
    assert dp.sent == []  # nothing until the tables are read
    dp.clear()
    dp2 = connect(app, dpid)
    frames = dp2.frames()
    plan = core.plan(dpid)
    assert sum(f.type == ofp.OFPT_FLOW_MOD for f in frames) == len(plan.flows)
    assert sum(f.type == ofp.OFPT_GROUP_MOD for f in frames) == len(plan.groups)
    assert frames[-1].type == ofp.OFPT_BARRIER_REQUEST
    assert not core.switches[dpid].synced
    synced(app, dp2)
    assert core.switches[dpid].synced and core.switches[dpid].connected


def test_a_stray_barrier_does_not_mark_the_switch_synced(app) -> None:
    dpid = next(iter(app.run.core.plans))
    dp = connect(app, dpid)
    barrier = [f for f in dp.frames() if f.type == ofp.OFPT_BARRIER_REQUEST][-1]
    app._barrier(event(dp, xid=barrier.xid + 1))
    assert not app.run.core.switches[dpid].synced


def test_an_unknown_switch_is_ignored(app) -> None:
    dp = FakeDatapath(0xDEAD)
    app._switch_features(event(dp))
    assert dp.msgs == [] and 0xDEAD not in app.run.sender.datapaths


def test_a_flow_stats_reply_in_parts_reconciles_once_complete(app) -> None:
    dpid = next(iter(app.run.core.plans))
    dp = FakeDatapath(dpid)
    app._switch_features(event(dp))
    xid = dp.requests(parser.OFPFlowStatsRequest)[0].xid
    stray = flow_entry(parser.OFPMatch(in_port=77), table_id=0, priority=5, cookie=0x42)
    app._group_desc(event(dp, xid=dp.requests(parser.OFPGroupDescStatsRequest)[0].xid,
                          body=[]))
    app._meter_config(event(dp, xid=dp.requests(parser.OFPMeterConfigStatsRequest)[0].xid,
                            body=[]))
    app._flow_stats(flow_stats(dp, xid, [stray], more=True))
    assert dp.sent == []  # the reply is not complete yet
    app._flow_stats(flow_stats(dp, xid, []))
    frames = dp.frames()
    deletes = [f for f in frames if f.command == ofp.OFPFC_DELETE_STRICT]
    assert len(deletes) == 1  # the flow the plan does not have
    assert app.run.core.switches[dpid].last_sync["deleted"] == 1


def test_a_reply_to_an_earlier_connection_is_not_taken(app) -> None:
    dpid = next(iter(app.run.core.plans))
    old = FakeDatapath(dpid)
    app._switch_features(event(old))
    old_xid = old.requests(parser.OFPFlowStatsRequest)[0].xid
    new = FakeDatapath(dpid)
    new._xid = 100  # a reconnection numbers its requests afresh
    app._switch_features(event(new))
    app._flow_stats(flow_stats(new, old_xid, []))
    assert not app.run.collecting[dpid].flows_done


def test_synced_switches_are_polled_at_their_intervals(app) -> None:
    dps = all_synced(app)
    run = app.run
    now = run.clock()
    run.poll_round(now)
    for dp in dps.values():
        assert len(dp.requests(parser.OFPPortStatsRequest)) == 1
        assert len(dp.requests(parser.OFPMeterStatsRequest)) == 1
        assert len(dp.requests(parser.OFPGroupStatsRequest)) == 1
        assert len(dp.requests(parser.OFPFlowStatsRequest)) == 3  # demand, mirror out and in
        dp.clear()
    run.poll_round(now + 0.01)  # nothing due yet, and nothing answered
    assert all(dp.msgs == [] for dp in dps.values())


def test_a_link_down_sends_the_failover_changes(app) -> None:
    dps = all_synced(app)
    config = app.run.core.config
    twin = ShadowCore(config)
    link = config.links[0]
    switch = next(s for s in config.switches if s.name == link.a.switch)
    expected = twin.port_status(0.0, switch.dpid, link.a.port, False)
    assert expected  # the ring fails over
    msg = event(dps[switch.dpid], reason=ofp.OFPPR_MODIFY,
                desc=port_desc(link.a.port, live=False))
    app._port_status(msg)
    for dpid, msgs in expected.items():
        assert len(dps[dpid].frames()) == len(msgs)
    assert app.run.core.intents.failed_links


def test_a_disconnected_switch_gets_nothing_until_it_reconnects(app) -> None:
    dps = all_synced(app)
    dpid, dp = next(iter(dps.items()))
    app._state_change(state_change(dp, DEAD_DISPATCHER))
    assert not app.run.core.switches[dpid].connected
    app.run.poll_round(app.run.clock())
    assert dp.msgs == []


def test_allocations_go_out_before_the_moves_they_make_room_for(app, monkeypatch) -> None:
    dps = all_synced(app)
    core = app.run.core
    dpid = next(iter(dps))
    order = []
    monkeypatch.setattr(core, "allocation_messages",
                        lambda now: order.append("allocate") or {dpid: []})
    monkeypatch.setattr(core, "preempt", lambda now: order.append("preempt") or {})
    app.run.forecast_once()
    assert order == ["allocate", "preempt"]
    assert [f.type for f in dps[dpid].frames()] == [ofp.OFPT_BARRIER_REQUEST]


# --- reload (SIGHUP) ------------------------------------------------------------------

DEEP = "a: " + "[" * 3000 + "]" * 3000 + "\n"


@pytest.mark.parametrize("bad", [
    "controller: {stats_interval: 1" + "0" * 400 + "}\n",
    "controller: {stats_interval: 1" + "0" * 5000 + "}\n",
    DEEP,
    "networks: {tenant-a: {cidr: nonsense}}\n",
    "fabric: [\n",
    "",
], ids=["400-digits", "5000-digits", "deep", "invalid", "unparsable", "empty"])
def test_a_bad_reload_is_refused_logged_and_the_loop_goes_on(app, tmp_path, caplog, bad
                                                             ) -> None:
    dps = all_synced(app)
    run = app.run
    before = run.core.config
    plans = dict(run.core.plans)
    Path(run.settings.config_path).write_text(bad)
    run.on_sighup(1, None)
    with caplog.at_level(logging.ERROR, logger="sdn_shadow"):
        run.poll_round(run.clock())
    assert "reload refused, the running configuration stays" in caplog.text
    assert run.core.config is before and run.core.plans == plans
    assert run.core.events[-1]["kind"] == "config"
    assert run.core.events[-1]["result"] == "rejected"
    assert run.last_reload["result"] == "rejected" and run.last_reload["errors"]
    assert not run.reload_requested
    for dp in dps.values():  # polling went on in that round
        assert dp.requests(parser.OFPPortStatsRequest)
    # and the next reload of a good file works
    Path(run.settings.config_path).write_text(RING.read_text())
    run.on_sighup(1, None)
    run.poll_round(run.clock() + 10)
    assert run.last_reload["result"] == "applied"


def test_a_failing_part_of_a_poll_round_does_not_stop_the_others(app, caplog,
                                                                 monkeypatch) -> None:
    dps = all_synced(app)
    run = app.run

    def broken(now: float) -> dict:
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(run.core, "probes_due", broken)
    monkeypatch.setattr(run.core, "tick", broken)
    with caplog.at_level(logging.ERROR, logger="sdn_shadow"):
        run.poll_round(run.clock())
    assert "poll round: _probe failed" in caplog.text
    assert "poll round: _tick failed" in caplog.text
    assert all(dp.requests(parser.OFPPortStatsRequest) for dp in dps.values())


def test_health_reports_the_last_refused_reload(app) -> None:
    from sdn_shadow.control.service import AppService

    run = app.run
    service = AppService(run.core, lambda updates: None, run.lock,
                         reload_status=lambda: run.last_reload)
    assert "reload" not in service.health()
    Path(run.settings.config_path).write_text(DEEP)
    run.reload(run.clock())
    health = service.health()
    assert health["status"] == "ok"
    assert health["reload"]["result"] == "rejected"
    assert "nested too deeply" in health["reload"]["errors"][0]  # the loader's own answer


def test_a_switch_that_connects_while_planning_waits_for_the_plan(tmp_path) -> None:
    import threading

    settings = RunSettings(parse_config(yaml.safe_load(RING.read_text())), str(RING))
    early = ShadowApp(settings=settings)
    dpid = next(s.dpid for s in settings.config.switches)
    dp = FakeDatapath(dpid)
    handler = threading.Thread(target=early._switch_features, args=(event(dp),), daemon=True)
    handler.start()
    handler.join(0.2)
    assert handler.is_alive() and dp.msgs == []  # waiting: there is no plan yet
    early.run.prepare()
    handler.join(30)
    assert not handler.is_alive()
    assert len(dp.requests(parser.OFPFlowStatsRequest)) == 1


def test_stats_replies_are_taken_only_for_the_requests_sent(app, monkeypatch) -> None:
    from tests.fakes.datapath import multipart_reply

    dps = all_synced(app)
    run = app.run
    appended = []
    monkeypatch.setattr(run.series, "append", lambda now, rates: appended.append(rates))
    run.poll_round(run.clock())
    dp = next(iter(dps.values()))
    (request,) = dp.requests(parser.OFPPortStatsRequest)
    reply = multipart_reply(ofp.OFPMP_PORT_STATS, [], request.xid + 1000)
    app._port_stats(event(dp, xid=request.xid + 1000, buf=reply))
    assert appended == []  # not a reply to anything we asked
    reply = multipart_reply(ofp.OFPMP_PORT_STATS, [], request.xid)
    app._port_stats(event(dp, xid=request.xid, buf=reply))
    assert len(appended) == 1
    app._port_stats(event(dp, xid=request.xid, buf=reply))
    assert len(appended) == 1  # answered already: the request is forgotten


# --- API changes as bundles ------------------------------------------------------------

def commit_frames(dps: dict[int, FakeDatapath]) -> dict[int, int]:
    """dpid -> the xid of the bundle COMMIT each switch was sent."""
    from sdn_shadow.openflow import bundle

    out = {}
    for dpid, dp in dps.items():
        for f in dp.frames():
            if (f.type == bundle.OFPT_EXPERIMENTER and len(f.data) >= 24
                    and int.from_bytes(f.data[12:16], "big") == bundle.ONF_ET_BUNDLE_CONTROL
                    and int.from_bytes(f.data[20:22], "big") == bundle.COMMIT_REQUEST):
                out[dpid] = f.xid
    return out


def answer_commits(app: ShadowApp, dps: dict[int, FakeDatapath], running: dict,
                   reply: Callable[[FakeDatapath, int], None]) -> list[tuple[int, int]]:
    """Answer every bundle commit the change sends, as it is sent, until the change's thread
    ends (a change may reach one switch's commit before it sends another's): the
    (dpid, xid) answered, in order."""
    import time

    answered: list[tuple[int, int]] = []
    deadline = time.monotonic() + 30
    while running["thread"].is_alive() and time.monotonic() < deadline:
        for dpid, xid in sorted(commit_frames(dps).items()):
            if (dpid, xid) not in answered:
                answered.append((dpid, xid))
                reply(dps[dpid], xid)
        running["thread"].join(0.01)
    assert not running["thread"].is_alive(), "the change still waits for its switches"
    return answered


def change_in_thread(app: ShadowApp) -> dict:
    """Move h1 onto its shadow path through the API service, in a thread (it waits for
    the switches' answers): the thread and what the service returned or raised."""
    import threading

    from sdn_shadow.control.service import AppService

    run = app.run
    service = AppService(run.core, run.sender.send_commit, run.lock,
                         reload_status=lambda: run.last_reload)
    result: dict = {}

    def change() -> None:
        try:
            result["answer"] = service.set_client("tenant-a", "h1", "shadow", None, "test")
        except Exception as err:  # the test looks at it
            result["error"] = err

    thread = threading.Thread(target=change, daemon=True)
    thread.start()
    return {"thread": thread, "result": result}


def test_an_api_change_goes_out_as_bundles_and_waits_for_their_commits(app) -> None:

    from sdn_shadow.openflow import bundle

    dps = all_synced(app)
    running = change_in_thread(app)
    answered = answer_commits(app, dps, running, lambda dp, xid: app._bundle_reply(
        event(dp, type=bundle.COMMIT_REPLY, xid=xid)))
    assert answered
    assert running["result"]["answer"]["path"] == "shadow"
    assert ("tenant-a", "h1") in app.run.core.intents.shadow_path


def test_a_refused_bundle_undoes_the_change_everywhere(app) -> None:

    from sdn_shadow.api.service import Conflict
    from sdn_shadow.openflow import bundle

    dps = all_synced(app)
    running = change_in_thread(app)
    refused: list[int] = []

    def reply(dp: FakeDatapath, xid: int) -> None:
        if not refused:  # the first switch whose commit is seen refuses it
            refused.append(dp.id)
            app._error(event(dp, type=5, code=1, xid=xid, data=b""))
        else:
            app._bundle_reply(event(dp, type=bundle.COMMIT_REPLY, xid=xid))

    answer_commits(app, dps, running, reply)
    assert refused
    assert isinstance(running["result"]["error"], Conflict)
    assert ("tenant-a", "h1") not in app.run.core.intents.shadow_path


def test_a_reload_waits_for_an_api_change_under_way(app) -> None:
    from sdn_shadow.control.service import AppService

    run = app.run
    run.api_service = AppService(run.core, lambda updates: None, run.lock)
    data = yaml.safe_load(RING.read_text())
    data["routing"] = {"hold": 77}
    Path(run.settings.config_path).write_text(yaml.safe_dump(data))
    run.reload_requested = True
    with run.api_service.changing:  # an API change is deciding or waiting for the switches
        run._reload_if_asked(run.clock())
        assert run.reload_requested and run.core.config.routing.hold != 77
    run._reload_if_asked(run.clock())  # the next round, the change done
    assert not run.reload_requested and run.core.config.routing.hold == 77
    assert run.api_service.changing.acquire(blocking=False)  # released after the reload
