"""A planned path move under load loses nothing: 100 Mbit/s UDP and TCP, primary -> shadow -> back.

Also: a bad configuration sent with SIGHUP is refused and changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import yaml

from sdn_shadow.lab.session import Lab, running_lab
from sdn_shadow.lab.switchover import run_switchover, switchover_config, with_path

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def ring(tmp_path_factory) -> Iterator[Lab]:
    from topologies.ring import RingTopo

    with running_lab(RingTopo(), switchover_config(), tmp_path_factory.mktemp("switch")) as lab:
        yield lab


def test_primary_shadow_primary_under_load_loses_and_duplicates_nothing(ring) -> None:
    """No datagram lost or delivered twice at either move; TCP the other way carries on.

    Checked per datagram by the numbered stream: none delivered twice, none
    lost from just before a move was asked until half a second after it
    applied, none late on the move onto the longer (shadow) path. The move
    back onto the one-hop primary path may deliver a few in-flight datagrams
    late (measured 0-8; see `sdn_shadow.lab.switchover`), and only those sent
    right at that move. Losses away from the moves happen on this loaded
    2-core box with no move at all (controls: 0-397 of 104,000); they are
    printed, with the time each gap opened, not failed on.

    Losses inside a move window get one more attempt: OVS's userspace datapath
    forwards in its one main thread, which also applies the flow changes and
    competes for the two cores with the controller's reload, so a drop burst
    can land in a window by chance (seen once in 15 bench runs: 15 datagrams;
    the control streams of that bench lost up to 40 with no move). A move
    that is not make-before-break loses at every move, so it fails both.
    """
    outcome = run_switchover(ring, switchover_config())
    print(outcome.line())
    if outcome.lost_at_moves():
        print(f"lost {outcome.lost_at_moves()} at the moves: once more ({outcome.udp.summary()})")
        assert outcome.udp.duplicates == 0, outcome.udp.summary()
        assert outcome.late_at(outcome.moves[0]) == 0, outcome.udp.summary()
        outcome = run_switchover(ring, switchover_config())
        print(outcome.line())
    report = outcome.udp
    assert [m.path for m in outcome.moves] == ["shadow", "primary"]
    assert report.sent > 0.95 * 100e6 / 8 / 1200 * 10, report.summary()  # ~100 Mbit/s
    assert outcome.tcp_error is None and outcome.tcp_bits_per_second > 10e6
    assert report.duplicates == 0, report.summary()
    assert outcome.lost_at_moves() == 0, report.summary()
    to_shadow, to_primary = outcome.moves
    assert outcome.late_at(to_shadow) == 0, report.summary()
    assert report.late_count == outcome.late_at(to_primary), report.summary()
    events = [e for e in ring.controller.state()["events"] if e["kind"] == "config"]
    assert [e["result"] for e in events[-2:]] == ["applied", "applied"]


def test_a_bad_reload_is_refused_and_the_running_state_stays(ring) -> None:
    data = with_path(switchover_config(), "shadow")
    ring.reload(data)
    flows = ring.dump_flows("s1")
    bad = yaml.safe_load(yaml.safe_dump(data))
    bad["networks"]["tenant-a"]["hosts"]["h1"]["port"] = "one"
    with pytest.raises(RuntimeError, match="networks.tenant-a.hosts.h1.port"):
        ring.reload(bad)
    state = ring.controller.state()
    assert state["routing"]["moved_clients"] == ["tenant-a/h1"]
    assert ring.dump_flows("s1") == flows
    assert ring.controller.running
    ring.reload(switchover_config())
