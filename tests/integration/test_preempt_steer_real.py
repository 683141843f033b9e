"""Preemptive steering for real: new connections go to the twin before the service host fills.

The ring with tenant-a on s1 and s2 only; h2 is a service host of 20 Mbit/s
(`shadow.services`) with its twin h2s (40 Mbit/s) on the same switch. h1 sends a paced
UDP ramp to h2's address from a new source port every half second (many
short connections, as clients of a service make), 4 Mbit/s while the
forecaster gathers history, then +1 Mbit/s per second. The controller must
steer h1's new connections to the twin at least two forecast horizons
before the ramp offers the host its capacity; from then on the twin's port
carries the ramp and the host's falls to nothing, and when the ramp stops
h1 is steered back after the hold.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from sdn_shadow.lab.preemption import TO_H2, is_steer, port_bytes, run_ramp, steering_config
from sdn_shadow.lab.ramp import RampSchedule
from sdn_shadow.lab.session import Lab, running_lab

pytestmark = pytest.mark.integration

CAPACITY = 20.0
HOLD = 6.0
SCHEDULE = RampSchedule(start_mbps=4.0, slope=1.0, peak_mbps=26.0, flat=34.0)
SECONDS = 54.0  # the host's capacity is offered at 50 s


@pytest.fixture(scope="module")
def service_ring(tmp_path_factory) -> Iterator[tuple[Lab, dict]]:
    from topologies.ring import RingTopo

    data = steering_config(CAPACITY, 2 * CAPACITY, hold=HOLD)
    with running_lab(RingTopo(), data, tmp_path_factory.mktemp("steer-ramp")) as lab:
        yield lab, data


def test_the_ramping_client_is_steered_to_the_twin_before_the_host_fills(service_ring) -> None:
    lab, data = service_ring
    twin_before = port_bytes("s2", 2, "tx")
    outcome = run_ramp(lab, SCHEDULE, CAPACITY, SECONDS, progress=print, watch=TO_H2,
                       relief=is_steer, new_connection_every=0.5)
    twin_bytes = port_bytes("s2", 2, "tx") - twin_before
    summary = (f"steered at {outcome.moved_at}, capacity offered at {outcome.saturates_at:.1f}, "
               f"lead {outcome.lead_s}, h2 peak {outcome.peak_mbps():.1f} Mbit/s, twin got "
               f"{twin_bytes * 8 / 1e6:.1f} Mbit, events {outcome.events}")
    print(summary)
    assert outcome.moved_at is not None, summary
    [steer] = [e for e in outcome.events if is_steer(e)]
    assert "service:tenant-a:h2" in steer["reason"], steer
    assert not [e for e in outcome.events if e["kind"] == "move"], "no path moved"
    assert outcome.lead_s >= 2 * data["forecast"]["horizon"], summary
    before = outcome.before_relief(SCHEDULE)
    after = outcome.after_relief()
    assert before and all(m > 0.7 * offered for m, offered in before), before
    assert after and max(after) < 1.0, f"h2 still served the ramp after steering: {after}"
    assert outcome.seconds_at_capacity() == 0, summary
    sent_after = sum(SCHEDULE.mbps_at(t) for t in range(int(outcome.moved_at - outcome.started)
                                                        + 1, int(SECONDS)))
    assert twin_bytes * 8 / 1e6 > 0.8 * sent_after, summary

    deadline = time.time() + HOLD + 30
    while time.time() < deadline:
        state = lab.controller.state()
        if not state["routing"]["twin_service"]:
            break
        time.sleep(0.5)
    assert not state["routing"]["twin_service"], "h1 is not steered back after the hold"
    assert [e["service"] for e in state["events"] if e["kind"] == "steer"][-1] == "primary"
