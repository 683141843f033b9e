"""Silent failures on the real ring: BFD on the fabric links catches what carrier does not."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator

import pytest

from sdn_shadow.lab.net import wait_bfd_up
from sdn_shadow.lab.session import Lab, running_lab
from sdn_shadow.lab.traffic import start_ping
from tests.integration.test_failover_real import (
    HOLD,
    MAX_OUTAGE,
    WAIT_TO_RESTORE,
    failed_links,
    moves,
    ring_config,
    wait_for,
)

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def bfd_ring(tmp_path_factory) -> Iterator[Lab]:
    from topologies.ring import RingTopo

    # 30 ms timers (detection ~90 ms, within the 200 ms asserted): at 10 ms a busy
    # 2-core box delays BFD packets past detection now and then, and a link that was
    # never broken flaps. The 10 ms figure is scripts/bench's outage_silent_ms.
    config = ring_config(bfd=True, bfd_interval_ms=30, bfd_grace=2.0)
    with running_lab(RingTopo(), config, tmp_path_factory.mktemp("bfd")) as lab:
        wait_bfd_up([f"s{i}-eth{p}" for i in range(1, 5) for p in (10, 11)])
        time.sleep(2.0)  # the start-up grace is over
        yield lab


def test_bfd_starts_without_failing_anything_over(bfd_ring) -> None:
    state = bfd_ring.controller.state()
    assert failed_links(state) == [] and not [
        e for e in state["events"] if e["kind"] in ("failover", "failback")]
    status = subprocess.run(["ovs-vsctl", "get", "interface", "s1-eth10", "bfd_status:state"],
                            capture_output=True, text=True, check=True).stdout.strip()
    assert status.strip('"') == "up"


def test_silent_failure_is_caught_by_bfd(bfd_ring) -> None:
    start = time.time()
    run = start_ping(bfd_ring.host("h1"), "10.0.0.2", count=3000, interval=0.001)
    time.sleep(1.0)
    # Carrier stays up, everything s1 sends on the link is dropped.
    subprocess.run(["tc", "qdisc", "replace", "dev", "s1-eth10", "root", "pfifo", "limit", "0"],
                   check=True)
    try:
        outage = run.result()
        assert outage.max_gap <= MAX_OUTAGE, outage
        wait_for(bfd_ring, lambda s: failed_links(s) == ["s1-s2"], 5, "the failover")
    finally:
        subprocess.run(["tc", "qdisc", "del", "dev", "s1-eth10", "root"], check=False)
    wait_for(bfd_ring, lambda s: failed_links(s) == [], HOLD + WAIT_TO_RESTORE + 5,
             "the failback")
    assert moves(bfd_ring, start) == ["failover", "failback"]
