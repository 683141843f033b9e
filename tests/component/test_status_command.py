"""`sdn-shadow status` over the real REST API in-process on the fake ring: picture, JSON, watch."""

from __future__ import annotations

import io
import json

import httpx
import pytest

from sdn_shadow.api.status import build_view, interval, rate, render, span
from sdn_shadow.api.status_command import run
from sdn_shadow.cli import build_parser, main
from sdn_shadow.core import SeriesForecastView
from sdn_shadow.lab.net import free_tcp_port
from sdn_shadow.policy.allocation import Allocation
from tests.component.test_rest_api import Api
from tests.fakes.ring import apply

MBIT = 1e6 / 8  # bytes/s


class Tty(io.StringIO):
    """Captured output that says it is a terminal."""

    def isatty(self) -> bool:
        return True


def status(api: Api, *extra: str, role: str = "viewer", token: str | None = None,
           out: io.StringIO | None = None) -> tuple[int, str, str, list[float]]:
    """Run `sdn-shadow status` through the API's TestClient: exit code, stdout, stderr, sleeps."""
    args = build_parser().parse_args(["status", *extra])
    out, err, slept = out or io.StringIO(), io.StringIO(), []
    env_token = token if token is not None else api.token[role]
    args.token_file = None
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SDN_SHADOW_TOKEN", env_token)
        code = run(args, http=api.http, sleep=slept.append, out=out, err=err)
    return code, out.getvalue(), err.getvalue(), slept


@pytest.fixture(scope="module")
def busy() -> Api:
    """The ring watching h3s: h1 on the shadow path, a port scan alerted and blocked, a hot link."""
    from sdn_shadow.analytics.live import decode_frames
    from tests.component.test_shadow_watch import WATCHED, ring_with_watch, scan

    api = Api(ring_with_watch(ttl=600.0))
    api.core.tick(100.0)
    api.core.mirrored(100.2, WATCHED, decode_frames(scan(1, 2, range(1, 41), 100.2)))
    apply(api.fabric, api.core.tick(101.3))
    r = api.put("/networks/tenant-a/clients/h1", {"path": "shadow", "reason": "maintenance"})
    assert r.status_code == 200, r.text
    core = api.core
    core.demand.latest.update({"link:s1:s4": 62 * MBIT, "link:s4:s3": 20 * MBIT,
                               "link:s2:s3": 1 * MBIT})
    core.capacity.forecasts["link:s1:s4"] = SeriesForecastView(70 * MBIT, 55 * MBIT, 81 * MBIT)
    core.capacity.allocations["tenant-a"] = Allocation(
        "tenant-a", "conservative", 25 * MBIT, 25 * MBIT, 18 * MBIT, 25 * MBIT, 1.0, True, False)
    return api


def test_the_fabric_route_is_read_only_for_viewers(busy) -> None:
    assert busy.get("/fabric", role=None).status_code == 401
    body = busy.get("/fabric").json()
    assert [s["name"] for s in body["switches"]] == ["s1", "s2", "s3", "s4"]
    assert all(s["connected"] and s["synced"] for s in body["switches"])
    link = next(x for x in body["links"] if (x["src"], x["dst"]) == ("s1", "s4"))
    assert link["demand"] == 62 * MBIT and link["capacity"] == 100 * MBIT
    assert link["forecast"] == {"lower": 55 * MBIT, "point": 70 * MBIT, "upper": 81 * MBIT}
    # tenant-a has hosts on every switch: its shadow paths cross every link, both ways
    assert link["held_by"] == {"tenant-a": 25 * MBIT} and link["held"] == 25 * MBIT
    assert len(body["links"]) == 8 and body["events_next"] >= 3


def test_the_picture_shows_switches_clients_links_alerts_blocks_events(busy) -> None:
    code, out, err, _ = status(busy)
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert all(len(line) <= 100 for line in lines), max(lines, key=len)
    assert lines[1].startswith("switches 4/4 connected, 4/4 synced | shadows 0/1 active")
    for name in ("s1", "s2", "s3", "s4"):
        assert any(line.split()[:1] == [name] and "connected, synced" in line for line in lines)
    assert any(line.startswith("tenant-a ") and "standing by" in line and "conservative"
               in line and "25.0 Mbit/s" in line for line in lines)
    [client] = [line for line in lines if line.startswith("tenant-a/h1")]
    assert client.split()[1:4] == ["shadow", "primary", "itself"]
    links = lines[next(i for i, x in enumerate(lines) if x.startswith("LINK (5/8)")) + 1:]
    assert links[0].split() == ["s1>s4", "62.0", "Mbit/s", "70.0", "Mbit/s", "55.0-81.0",
                                "Mbit/s", "100.0", "Mbit/s", "25.0", "Mbit/s", "62%"]
    assert links[1].startswith("s4>s3") and links[2].startswith("s2>s3")
    [alert] = [line for line in lines if line.startswith("#")]
    assert "port_scan" in alert and "10.0.0.1" in alert
    [block] = [line for line in lines if line.startswith("10.0.0.1")]
    assert "drop" in block and block.rstrip().endswith(("m", "s"))
    left = block.split()[-1]
    assert left.startswith("9m") or left.startswith("10m0"), left
    assert any("move" in line and "tenant-a/h1 path=shadow" in line for line in lines)


def test_json_is_the_data_of_the_picture(busy) -> None:
    code, out, _, _ = status(busy, "--json", "--top", "2", "--events", "3")
    data = json.loads(out)
    assert code == 0 and set(data) == {
        "at", "version", "switches", "networks", "clients", "failed_links", "scaling", "links",
        "links_total", "alerts", "blocks", "events", "rate_unit"}
    assert [(x["src"], x["dst"]) for x in data["links"]] == [("s1", "s4"), ("s4", "s3")]
    assert data["links"][0]["held"] == 25 * MBIT and data["links_total"] == 8
    assert [(c["network"], c["host"], c["path"]) for c in data["clients"]] == [
        ("tenant-a", "h1", "shadow")]
    assert [a["kind"] for a in data["alerts"]] == ["port_scan"]
    assert [b["source"] for b in data["blocks"]] == ["10.0.0.1"]
    assert len(data["events"]) == 3 and data["events"][-1]["kind"] == "move"
    assert data["networks"][0]["shadow"] == "standing by"


def test_watch_draws_count_frames_and_sleeps_between(busy) -> None:
    code, out, _, slept = status(busy, "--watch", "2", "--count", "2")
    assert code == 0 and slept == [2.0]
    frames = out.split("\n\nsdn-shadow ")
    assert len(frames) == 2 and out.count("LINK (5/8)") == 2
    code, out, _, slept = status(busy, "--watch", "1", "--count", "3", out=Tty())
    assert code == 0 and slept == [1.0, 1.0] and out.count("\x1b[H\x1b[2J") == 3
    code, out, _, _ = status(busy, "--watch", "1", "--count", "2", "--json")
    assert [json.loads(line)["version"] for line in out.splitlines()] == [busy.get(
        "/health", role=None).json()["version"]] * 2


def test_ctrl_c_ends_a_watch_cleanly(busy) -> None:
    def interrupt(_: float) -> None:
        raise KeyboardInterrupt

    args = build_parser().parse_args(["status", "--watch", "5"])
    out, err = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SDN_SHADOW_TOKEN", busy.token["viewer"])
        assert run(args, http=busy.http, sleep=interrupt, out=out, err=err) == 0
    assert out.getvalue().count("LINK (") == 1 and err.getvalue() == ""


def test_a_bad_token_is_one_line_and_exit_1(busy) -> None:
    code, out, err, _ = status(busy, token="nope")
    assert code == 1 and out == ""
    assert err == "sdn-shadow status: HTTP 401: authorization: unknown token\n"


def test_an_unreachable_api_is_one_line_and_exit_3(tmp_path, capsys) -> None:
    (tmp_path / "token").write_text("x\n")
    url = f"http://127.0.0.1:{free_tcp_port()}"
    assert main(["status", "--url", url, "--token-file", str(tmp_path / "token")]) == 3
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1
    assert captured.err.startswith(f"sdn-shadow status: cannot reach {url}")
    assert main(["status", "--token-file", str(tmp_path / "missing")]) == 2
    assert capsys.readouterr().err.startswith("sdn-shadow status: cannot read the token")


def test_something_else_answering_is_one_line_and_exit_1(monkeypatch) -> None:
    page = httpx.MockTransport(lambda request: httpx.Response(200, text="<html>hello</html>"))
    monkeypatch.setenv("SDN_SHADOW_TOKEN", "t")
    out, err = io.StringIO(), io.StringIO()
    args = build_parser().parse_args(["status", "--url", "http://web"])
    with httpx.Client(base_url="http://web", transport=page) as http:
        assert run(args, http=http, out=out, err=err) == 1
    assert out.getvalue() == "" and err.getvalue().count("\n") == 1
    assert err.getvalue().startswith("sdn-shadow status: http://web is not an sdn-shadow API")
    args = build_parser().parse_args(["status", "--count", "2"])
    assert run(args, out=out, err=err) == 2 and "--count needs --watch" in err.getvalue()


def test_units_durations_and_an_empty_controller() -> None:
    assert (rate(None), rate(0), rate(125), rate(1.5e6 / 8), rate(12.5e6), rate(2.5e9 / 8)) == (
        "-", "0 bit/s", "1.0 kbit/s", "1.5 Mbit/s", "100.0 Mbit/s", "2.5 Gbit/s")
    assert interval(55 * MBIT, 81 * MBIT) == "55.0-81.0 Mbit/s"
    assert (span(None), span(-3), span(45), span(245), span(3 * 3600 + 720),
            span(2 * 86400 + 3 * 3600)) == ("-", "0s", "45s", "4m05s", "3h12m", "2d03h")
    raw = {"fabric": {"at": 10.0, "switches": [
        {"name": "s1", "dpid": 1, "connected": False, "synced": False},
        {"name": "s2", "dpid": 2, "connected": True, "synced": False}], "links": [
        {"src": "leaf-west-0123456789", "dst": "spine-2", "demand": 999 * MBIT, "forecast": {
            "lower": 800 * MBIT, "point": 950 * MBIT, "upper": 999 * MBIT},
         "capacity": 1000 * MBIT, "held": 120 * MBIT},
        {"src": "s1", "dst": "s2", "failed": True, "demand": 0.0}]},
        "networks": [], "routing": {"failed_links": ["s1-s2"]}, "alerts": [], "blocks": [],
        "events": []}
    lines = render(build_view(raw))
    assert max(len(line) for line in lines) <= 100
    text = "\n".join(lines)
    assert "leaf-west~89>spine-2  999.0 Mbit/s" in text  # cut in the middle to fit
    assert any(line.startswith("s1>s2") and line.endswith("DOWN") for line in lines)
    assert "switches 1/2 connected, 0/2 synced" in text
    assert "DISCONNECTED" in text and "connected, NOT SYNCED" in text
    assert "failed links: s1-s2" in text and "no open alerts" in text
    assert "no blocks in force" in text and "no events" in text
