"""The demo's samplers (what they keep of the state file and of the API, what they skip) and
its report when an act stops it."""

from __future__ import annotations

import json

import httpx
import pytest

from sdn_shadow.lab.sampler import ApiSampler, StateSampler


class FakeController:
    def __init__(self, states: list) -> None:
        self.states = states

    def state(self) -> dict:
        state = self.states.pop(0)
        if isinstance(state, Exception):
            raise state
        return state


class FakeLab:
    def __init__(self, states: list) -> None:
        self.controller = FakeController(states)


STATE = {"demand": {"network:tenant-a:tx": 100.0},
         "forecast": {"horizon_s": 2, "level": 0.8,
                      "series": {"network:tenant-a:tx": [90.0, 100.0, 110.0]}}}


def test_the_state_sampler_keeps_measured_and_forecast_and_skips_a_torn_file() -> None:
    sampler = StateSampler(FakeLab([STATE, ValueError("half written"), {"demand": {}}]),
                           ("network:tenant-a:tx",))
    for _ in range(3):
        sampler.sample()
    [series] = sampler.series()
    assert (series["horizon"], series["level"]) == (2.0, 0.8)
    assert [s[1:] for s in series["samples"]] == [[100.0, 90.0, 100.0, 110.0],
                                                  [None, None, None, None]]


def api(responses: list[int]) -> httpx.MockTransport:
    fabric = {"at": 50.0, "links": [
        {"src": "s1", "dst": "s2", "demand": 5e6, "capacity": 1.25e8,
         "forecast": {"lower": 4e6, "point": 5e6, "upper": 6e6}},
        {"src": "s2", "dst": "s1", "demand": 1e3, "capacity": 1.25e8, "forecast": None}]}

    def handle(request: httpx.Request) -> httpx.Response:
        assert request.headers["authorization"] == "Bearer t0k"
        if request.url.path.endswith("/forecasts"):
            return httpx.Response(200, json={"horizon_s": 3, "level": 0.9})
        return httpx.Response(responses.pop(0), content=json.dumps(fabric).encode())
    return httpx.MockTransport(handle)


def test_the_api_sampler_keeps_every_link_and_picks_the_busiest() -> None:
    with ApiSampler("http://x", "t0k", transport=api([503, 200, 200])) as sampler:
        sampler._stop.set()  # no background samples: take them by hand
        for _ in range(3):
            sampler.sample()
    assert len(sampler.samples["link:s1:s2"]) == 2, "the 503 is skipped"
    [busiest] = sampler.series(busiest=1)
    assert busiest["key"] == "link:s1:s2" and busiest["capacity"] == 1.25e8
    assert busiest["samples"][0] == [50.0, 5e6, 4e6, 5e6, 6e6] and busiest["horizon"] == 3.0
    assert sampler.samples["link:s2:s1"][0][2:] == [None, None, None]


def test_a_demo_that_stops_still_writes_the_report_of_what_ran(tmp_path, monkeypatch,
                                                              capsys) -> None:
    from sdn_shadow import demo

    def broken(workdir, step, extra_args=()):
        raise RuntimeError("mininet could not start")

    monkeypatch.setattr(demo, "run_trouble", broken)
    monkeypatch.setattr(demo, "_watchable", lambda workdir, act: ((), "http://127.0.0.1:9", "t"))
    report = tmp_path / "report.html"
    with pytest.raises(RuntimeError):
        demo.run_demo(tmp_path / "none.yaml", 1.0, tmp_path / "work", ("ring",), report)
    assert f"report of what ran before the demo stopped: {report}" in capsys.readouterr().out
    page = report.read_text()
    assert "Some checks failed: stopped by RuntimeError: mininet could not start" in page
