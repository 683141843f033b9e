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
    """Up to 3 attempts: a lossy move only counts against us if a control run right after is clean.

    At 100 Mbit/s on a loaded 2-core machine the userspace datapath drops a
    few datagrams now and then with no move at all (the bench's reference
    column shows it); a move that loses datagrams while the same streams
    without a move lose none is the move's fault and fails at once.
    """
    for attempt in range(3):
        outcome = run_switchover(ring, switchover_config())
        print(f"moves {outcome.moves}: udp {outcome.udp}, tcp {outcome.tcp_bits_per_second}")
        assert [path for _, path in outcome.moves] == ["shadow", "primary"]
        assert outcome.udp["packets"] > 0.9 * 100e6 / 8 / 1200 * 10, outcome.udp  # ~100 Mbit/s
        assert outcome.tcp_error is None and outcome.tcp_bits_per_second > 10e6
        if outcome.lost_or_duplicated == 0:
            break
        control = run_switchover(ring, switchover_config(), moves=())
        print(f"attempt {attempt + 1}: {outcome.lost_or_duplicated} lost or duplicated; "
              f"control without a move: {control.lost_or_duplicated}")
        assert control.lost_or_duplicated > 0, (
            f"the move lost or duplicated {outcome.lost_or_duplicated} datagrams "
            f"({outcome.udp}) and the same streams without it lost none")
    assert outcome.udp["receiver_lost"] == 0 and outcome.udp["out_of_order"] == 0, outcome.udp
    assert outcome.tail_missing < 100, outcome.udp  # see SwitchoverOutcome.tail_missing
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
