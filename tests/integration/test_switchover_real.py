"""A planned path move under load loses nothing a control stream beside it does not lose.

Also: a bad configuration sent with SIGHUP is refused and changes nothing.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import yaml

from sdn_shadow.lab.session import Lab, running_lab
from sdn_shadow.lab.switchover import (
    SwitchoverOutcome,
    run_switchover,
    switchover_config,
    with_path,
)
from tests.lab_streams import AFTER, BEFORE, Change, NumberedStream, StreamRun

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def ring(tmp_path_factory) -> Iterator[Lab]:
    from topologies.ring import RingTopo

    with running_lab(RingTopo(), switchover_config(), tmp_path_factory.mktemp("switch")) as lab:
        yield lab


MBPS = 50.0  # per stream: two at 100 Mbit/s and TCP starve the datapath (38% lost at load 7)
SLACK = 500  # datagrams (100 ms at MBPS) lost at the moves beyond twice what the control lost
GAP_SLACK = 100  # datagrams (20 ms): the longest gap at a move beyond twice the control's longest
CONTROL = ("h3", "h4", 5411)


def _switchover_beside_a_control(ring: Lab) -> tuple[SwitchoverOutcome, StreamRun, StreamRun]:
    """`run_switchover` with a numbered control stream h3 -> h4 at the same rate beside it:
    (the outcome, h1's stream and the control, both with the moves as their changes).

    h3 stays on its own shadow path (s3 -> s2 -> s1 -> s4) throughout, so the control
    crosses at least as many bridges (datapath queues a stall can overflow) as h1's
    stream does at either move."""
    data = with_path(switchover_config(), "shadow", host="h3")
    ring.reload(data)
    control = NumberedStream(ring, *CONTROL, MBPS).start()
    try:
        outcome = run_switchover(ring, data, mbps=MBPS)
        sent = control.stop_sending()
        time.sleep(0.5)  # datagrams still in flight
        report = control.stop_sink(sent)
    finally:
        control.kill()
        ring.reload(switchover_config())
    moves = tuple(Change(m.path, m.asked, m.applied) for m in outcome.moves)
    moving, beside = StreamRun(outcome.udp, moves, MBPS), StreamRun(report, moves, MBPS)
    print(f"{outcome.line()}\nmoving: {moving.line()}\ncontrol: {beside.line()}\n"
          f"SUMMARY at the moves: lost {moving.lost_at_changes()}, control "
          f"{beside.lost_at_changes()}; longest gap {moving.longest_gap_at_changes()}, "
          f"control's anywhere {beside.longest_gap()}")
    return outcome, moving, beside


def _over(moving: StreamRun, control: StreamRun) -> str:
    """Why the moved stream lost more at the moves than the control allows ('' if it did not)."""
    lost, allowed = moving.lost_at_changes(), 2 * control.lost_at_changes() + SLACK
    # The moved stream's own loss rate on the primary path away from the moves (before the
    # first window, after the last), twice over the windows: it loses more than the control
    # on a busy box (it shares its ports with the TCP stream), move or no move.
    first, last = moving.changes[0].asked - BEFORE, moving.changes[-1].applied + AFTER
    start, end = moving.udp.started, moving.udp.ended
    quiet = moving.lost_during(start, first) + moving.lost_during(last, end)
    quiet_sent = moving.seq_at(first) + moving.udp.sent - moving.seq_at(last)
    windows = sum(moving.seq_at(c.applied + AFTER) - moving.seq_at(c.asked - BEFORE)
                  for c in moving.changes)
    allowed += int(2 * quiet / max(1, quiet_sent) * windows)
    gap, gap_allowed = moving.longest_gap_at_changes(), 2 * control.longest_gap() + GAP_SLACK
    print(f"SUMMARY allowed {allowed} lost ({quiet} of {quiet_sent} lost away from the moves),"
          f" a gap of {gap_allowed}")
    return (f"lost {lost} at the moves (allowed {allowed}), longest gap there {gap} "
            f"(allowed {gap_allowed})" if lost > allowed or gap > gap_allowed else "")


def test_primary_shadow_primary_under_load_loses_and_duplicates_nothing(ring) -> None:
    """No datagram delivered twice at either move, none lost there that a control stream
    beside it does not lose too; TCP the other way carries on.

    Checked per datagram by the numbered stream: none delivered twice, none
    late on the move onto the longer (shadow) path. The move back onto the
    one-hop primary path may deliver a few in-flight datagrams late (measured
    0-8; see `sdn_shadow.lab.switchover`), and only those sent right at that move.

    Lost is measured against a control: OVS's userspace datapath forwards every
    bridge in its one main thread, which also applies the flow changes and
    competes for the two cores with the controller's reload and whatever else
    runs, so a loaded box drops bursts with no move at all (600-1,200 datagrams
    inside the move windows at load 7.5, old code and new). A numbered stream
    h3 -> h4 at the same rate and time is starved alike (but not quite: moving h1
    onto the longer path adds datapath work, and h1 shares its ports with the TCP
    stream: 363-2,176 lost at the moves against the control's 12-309 at load 6-11).
    So h1's stream may lose, from just before each move was asked until half a
    second after it applied, twice what the control lost in those windows plus
    SLACK plus twice its own loss rate away from the moves; and no gap there may be
    longer than twice the control's longest plus GAP_SLACK. A move that drops traffic makes one
    long gap at every move whatever the load; one more run if the first is over.
    """
    outcome, moving, control = _switchover_beside_a_control(ring)
    if why := _over(moving, control):
        print(f"{why}: once more")
        assert outcome.udp.duplicates == 0, outcome.udp.summary()
        assert outcome.late_at(outcome.moves[0]) == 0, outcome.udp.summary()
        outcome, moving, control = _switchover_beside_a_control(ring)
    report = outcome.udp
    assert [m.path for m in outcome.moves] == ["shadow", "primary"]
    assert report.sent > 0.95 * MBPS * 1e6 / 8 / 1200 * 10, report.summary()
    assert outcome.tcp_error is None and outcome.tcp_bits_per_second > 10e6
    assert report.duplicates == 0, report.summary()
    why = _over(moving, control)
    assert not why, why
    to_shadow, to_primary = outcome.moves
    assert outcome.late_at(to_shadow) == 0, report.summary()
    assert report.late_count == outcome.late_at(to_primary), report.summary()
    events = [e for e in ring.controller.state()["events"] if e["kind"] == "config"]
    assert [e["result"] for e in events[-3:]] == ["applied"] * 3  # the moves, the way back


def test_a_bad_reload_is_refused_and_the_running_state_stays(ring) -> None:
    data = with_path(switchover_config(), "shadow")
    ring.reload(data)
    flows = ring.dump_flows("s1")
    bad = yaml.safe_load(yaml.safe_dump(data))
    bad["networks"]["tenant-a"]["hosts"]["h1"]["port"] = "one"
    with pytest.raises(RuntimeError, match="networks.tenant-a.hosts.h1.port"):
        ring.reload(bad)
    state = ring.controller.state()
    assert state["routing"]["shadow_path"] == ["tenant-a/h1"]
    assert ring.dump_flows("s1") == flows
    assert ring.controller.running
    ring.reload(switchover_config())
