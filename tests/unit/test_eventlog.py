"""The core's event list keeps the newest events only, and cursors stay absolute."""

from __future__ import annotations

import pytest

from sdn_shadow.core.eventlog import MAX_EVENTS, EventLog
from sdn_shadow.core.readout import events_page


def _log(n: int, limit: int = 5) -> EventLog:
    log = EventLog(limit)
    log += [{"t": float(i), "kind": "config"} for i in range(n)]
    return log


def test_only_the_newest_are_kept_and_len_counts_all() -> None:
    log = _log(12)
    assert len(log) == 12 and log.first == 7
    assert [e["t"] for e in log] == [7.0, 8.0, 9.0, 10.0, 11.0]
    assert log[-1]["t"] == 11.0 and log[7]["t"] == 7.0
    assert [e["t"] for e in log[10:]] == [10.0, 11.0]
    assert [e["t"] for e in log[0:9]] == [7.0, 8.0]  # the dropped ones are gone
    assert [e["t"] for e in reversed(log)][0] == 11.0
    with pytest.raises(IndexError):
        log[3]


def test_a_cursor_older_than_the_kept_events_resumes_at_the_oldest_kept() -> None:
    log = _log(12)
    page = events_page(log, 2, 3)
    assert [e["id"] for e in page["events"]] == [7, 8, 9] and page["next"] == 10
    assert events_page(log, 12, 3) == {"events": [], "next": 12}
    assert [e["t"] for e in log[12:]] == []  # what the poll loop reads as "fresh"


def test_the_core_keeps_a_bounded_log() -> None:
    from sdn_shadow.config import parse_config
    from sdn_shadow.core import ShadowCore
    from tests.component.test_rest_api import ring_document

    core = ShadowCore(parse_config(ring_document()))
    assert isinstance(core.events, EventLog) and core.events.limit == MAX_EVENTS
    for i in range(MAX_EVENTS + 10):
        core.reload_rejected(float(i), ["bad"])
    assert len(core.events) == MAX_EVENTS + 10 and len(list(core.events)) == MAX_EVENTS
