"""A planned path move under load loses nothing: 100 Mbit/s UDP and TCP, primary -> shadow -> back.

The control run (no moves) shows the lab itself carries the stream without
loss, so a lost or duplicated datagram in the moving run is the move's doing.
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


def test_the_lab_carries_the_stream_without_loss_when_nothing_moves(ring) -> None:
    outcome = run_switchover(ring, switchover_config(), moves=())
    print(f"control: {outcome.udp}")
    assert outcome.lost_or_duplicated == 0, outcome.udp


def test_primary_shadow_primary_under_load_loses_and_duplicates_nothing(ring) -> None:
    outcome = run_switchover(ring, switchover_config())
    print(f"moves {outcome.moves}: udp {outcome.udp}, tcp {outcome.tcp_bits_per_second}")
    assert [path for _, path in outcome.moves] == ["shadow", "primary"]
    assert outcome.udp["packets"] > 0.9 * 100e6 / 8 / 1200 * 10, outcome.udp  # ~100 Mbit/s
    assert outcome.udp["received"] == outcome.udp["packets"], outcome.udp
    assert outcome.udp["receiver_lost"] == 0, outcome.udp
    assert outcome.udp["out_of_order"] == 0, outcome.udp
    assert outcome.tcp_error is None and outcome.tcp_bits_per_second > 10e6
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
