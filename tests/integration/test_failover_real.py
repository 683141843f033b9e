"""Link failover and failback on the real ring: fast-failover groups, BFD, wait-to-restore.

Outages are measured as the longest gap between replies of a ping every
millisecond, and asserted loosely (<= 200 ms) to catch breakage; the tight
figures are `scripts/bench`'s outage_link_down_ms and outage_silent_ms.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from sdn_shadow.lab.session import Lab, running_lab
from sdn_shadow.lab.traffic import start_ping

pytestmark = pytest.mark.integration

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
WAIT_TO_RESTORE, HOLD = 2.0, 4.0
MAX_OUTAGE = 0.2


def ring_config(**failover) -> dict:
    data = yaml.safe_load((EXAMPLES / "ring.yaml").read_text())
    data["failover"] = {"wait_to_restore": WAIT_TO_RESTORE, "hold": HOLD, **failover}
    return data


def moves(lab: Lab, since: float) -> list[str]:
    """Failover/failback events of the s1-s2 link after `since`."""
    events = lab.controller.state()["events"]
    return [e["kind"] for e in events
            if e.get("link") == "s1-s2" and e["t"] >= since and e["kind"] in (
                "failover", "failback")]


def wait_for(lab: Lab, predicate, timeout: float, what: str) -> dict:
    deadline = time.time() + timeout
    while True:
        state = lab.controller.state()
        if predicate(state):
            return state
        assert time.time() < deadline, f"timed out waiting for {what}: {state['routing']}"
        time.sleep(0.1)


def failed_links(state: dict) -> list[str]:
    return state["routing"]["failed_links"]


@pytest.fixture(scope="module")
def ring(tmp_path_factory) -> Iterator[Lab]:
    from topologies.ring import RingTopo

    with running_lab(RingTopo(), ring_config(), tmp_path_factory.mktemp("ff")) as lab:
        yield lab


def test_link_down_fails_over_in_the_data_plane_then_fails_back(ring) -> None:
    start = time.time()
    run = start_ping(ring.host("h1"), "10.0.0.2", count=3000, interval=0.001)
    time.sleep(1.0)
    ring.net.configLinkStatus("s1", "s2", "down")
    outage = run.result()
    assert outage.max_gap <= MAX_OUTAGE, outage
    assert outage.duplicates == 0
    wait_for(ring, lambda s: failed_links(s) == ["s1-s2"], 5, "the failover")

    run = start_ping(ring.host("h1"), "10.0.0.2", count=8000, interval=0.001)
    time.sleep(0.5)
    ring.net.configLinkStatus("s1", "s2", "up")
    wait_for(ring, lambda s: failed_links(s) == [], HOLD + WAIT_TO_RESTORE + 5, "the failback")
    repaired = run.result()
    assert repaired.max_gap <= MAX_OUTAGE, repaired  # failback is make-before-break
    assert repaired.duplicates == 0
    assert moves(ring, start) == ["failover", "failback"]


def test_a_link_flapping_five_times_in_ten_seconds_moves_traffic_twice(ring) -> None:
    start = time.time()
    run = start_ping(ring.host("h1"), "10.0.0.2", count=1500, interval=0.01)
    for _ in range(5):
        ring.net.configLinkStatus("s1", "s2", "down")
        time.sleep(1.0)
        ring.net.configLinkStatus("s1", "s2", "up")
        time.sleep(1.0)
    wait_for(ring, lambda s: failed_links(s) == [], HOLD + WAIT_TO_RESTORE + 5, "the failback")
    result = run.result()
    assert moves(ring, start) == ["failover", "failback"]
    assert result.loss < 0.05, result
