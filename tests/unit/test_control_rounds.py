"""The order of a forecast round and the events the log shows, with a recording core."""

from __future__ import annotations

import logging

from sdn_shadow.control.rounds import (
    PROFILE_SAVE,
    allocation_lines,
    event_lines,
    forecast_round,
)
from sdn_shadow.openflow.messages import Barrier
from sdn_shadow.policy.allocation import Allocation


class RecordingCore:
    """What `forecast_round` calls, recording the order."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def take_forecasts(self, now, fitted):
        self.calls.append("forecast")
        return {"a": Allocation("a", "conservative", 10.0, 10.0, 8.0, 12.0, 1.0, True, True)}

    def allocation_messages(self, now):
        self.calls.append("allocate")
        return {1: ["meter"], 2: []}

    def preempt(self, now):
        self.calls.append("preempt")
        return {1: ["move"]}


def test_forecast_then_allocate_then_preempt() -> None:
    core = RecordingCore()
    result = forecast_round(core, 100.0, object(), profiles_saved=None)
    assert core.calls == ["forecast", "allocate", "preempt"]
    assert result.allocation_updates == {1: ["meter", Barrier()], 2: [Barrier()]}
    assert result.moves == {1: ["move"]}
    assert not result.save_profiles


def test_profiles_are_saved_every_interval() -> None:
    assert not forecast_round(RecordingCore(), 100.0, None, 100.0 - PROFILE_SAVE + 1
                              ).save_profiles
    assert forecast_round(RecordingCore(), 100.0, None, 100.0 - PROFILE_SAVE).save_profiles


def test_changed_allocations_and_alerts_are_logged() -> None:
    same = Allocation("b", "aggressive", 1.0, 1.0, 1.0, 2.0, 1.0, False, False)
    lines = allocation_lines({"a": Allocation("a", "dynamic", 10.0, 10.0, 8.0, 12.0, 1.0,
                                              False, True), "b": same})
    assert lines == ["allocation a (dynamic): hold 10 B/s (forecast 8, upper 12) "
                     "[forecast_only]"]
    events = [{"kind": "alert", "network": "n", "reason": "r"},
              {"kind": "alert_closed", "network": "n", "reason": "over"},
              {"kind": "config", "result": "applied", "reason": "x"}]
    assert event_lines(events) == [(logging.WARNING, "alert n: r"),
                                   (logging.INFO, "alert closed n: over")]

