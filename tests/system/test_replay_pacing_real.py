"""The replay pacer on the real monotonic clock and real sleeps: one short run."""

from __future__ import annotations

import time

from sdn_shadow.analytics.pacing import Pacer, send_schedule


def test_real_time_pacing_sends_everything_in_order_and_never_early() -> None:
    """That oversleeping does not add up (no drift) is shown on the fake clock, in
    tests/unit/test_replay_pacing.py; how close to its offsets the pacer sends on a given
    machine is a benchmark's question, not an assertion's (a loaded machine oversleeps)."""
    offsets = send_schedule([i * 0.01 for i in range(31)])  # 0.3 s at 100 pps
    sent: list[tuple[int, float]] = []
    start = time.monotonic()
    stats = Pacer(offsets).run(lambda i: sent.append((i, time.monotonic() - start)))
    assert stats.sent == 31 and [i for i, _ in sent] == list(range(31))
    assert all(at >= offsets[i] - 1e-4 for i, at in sent), "a packet went before its offset"
    assert stats.max_late >= 0 and stats.duration >= 0.3 - 1e-4
    assert sent[-1][1] < 0.3 + 30, "a hang guard only"
