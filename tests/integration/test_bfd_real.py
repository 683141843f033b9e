"""Silent failures on the real ring: BFD on the fabric links catches what carrier does not."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator

import pytest

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

    config = ring_config(bfd=True, bfd_interval_ms=10, bfd_grace=2.0)
    with running_lab(RingTopo(), config, tmp_path_factory.mktemp("bfd")) as lab:
        time.sleep(3.0)  # BFD sessions come up; the start-up flap is inside the grace
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
