"""Preemptive routing for real: a ramp that would saturate s1 -> s2 gets h1 moved in time.

The ring with tenant-a on s1 and s2 only; s1 -> s2 is shaped to 40 Mbit/s and
configured as such. h1 sends a paced UDP ramp to h2 (4 Mbit/s while the
forecaster gathers history, then +1 Mbit/s per second to 48). The controller
must move h1 onto its shadow path before the ramp reaches the link's capacity,
with at least two forecast horizons of warning, and the link must never run
at capacity; when the ramp stops, h1 comes back after the hold.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sdn_shadow.lab.preemption import ramp_config, run_ramp, shaped_link, wait_moved_back
from sdn_shadow.lab.ramp import RampSchedule
from sdn_shadow.lab.session import Lab, running_lab

pytestmark = pytest.mark.integration

CAPACITY = 40.0
HOLD = 8.0
SCHEDULE = RampSchedule(start_mbps=4.0, slope=1.0, peak_mbps=48.0, flat=34.0)
SECONDS = 76.0  # capacity is offered at 70 s


@pytest.fixture(scope="module")
def ramp_ring(tmp_path_factory) -> Iterator[tuple[Lab, dict]]:
    from topologies.ring import RingTopo

    data = ramp_config(CAPACITY, hold=HOLD)
    with running_lab(RingTopo(), data, tmp_path_factory.mktemp("ramp")) as lab, \
            shaped_link(CAPACITY):
        yield lab, data


def test_the_ramping_client_moves_before_the_link_saturates(ramp_ring) -> None:
    lab, data = ramp_ring
    outcome = run_ramp(lab, SCHEDULE, CAPACITY, SECONDS, progress=print)
    horizon = data["forecast"]["horizon"]
    summary = (f"moved at {outcome.moved_at}, saturates at {outcome.saturates_at:.1f}, "
               f"lead {outcome.lead_s}, link peak {outcome.peak_mbps():.1f} Mbit/s, "
               f"events {outcome.events}")
    print(summary)
    assert outcome.moved_at is not None, summary
    [move] = [e for e in outcome.events if e["kind"] == "move" and e["path"] == "shadow"]
    assert "link:s1:s2" in move["reason"], move
    assert outcome.lead_s >= 2 * horizon, summary
    # The link really carried the ramp until the move, then (nearly) nothing.
    before = outcome.before_relief(SCHEDULE)
    after = outcome.after_relief()
    assert before and all(m > 0.7 * offered for m, offered in before), before
    assert after and max(after) < 2.0, f"traffic left on s1 -> s2 after the move: {after}"
    assert outcome.seconds_at_capacity() == 0, summary
    assert outcome.sender["send_errors"] == 0

    back = wait_moved_back(lab, outcome.moved_at, timeout=HOLD + 30)
    assert back - outcome.moved_at >= HOLD
