"""The dashboard on the REST API's app and the fake ring: page, assets, stream, roles."""

from __future__ import annotations

import itertools
import json
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import anyio
import pytest

from sdn_shadow.api.rest import PREFIX
from sdn_shadow.dashboard import StreamSettings, mount_dashboard
from sdn_shadow.dashboard.routes import STATIC, load_assets
from tests.component.test_rest_api import Api

FAST = StreamSettings(tick=0.01, snapshot_every=0.0, heartbeat=0.0)
# URLs that name no place a browser would go: an XML namespace, the vendored banner comment.
NOT_REQUESTS = ("http://www.w3.org/2000/svg",)
BANNER = re.compile(r"^/\*! https://github\.com/leeoniya/uPlot \(v[\d.]+\) \*/")
TYPES = {".html": "text/html", ".js": "text/javascript", ".css": "text/css",
         ".svg": "image/svg+xml"}


def dashboard(settings: StreamSettings = FAST) -> Api:
    """The REST API of the fake ring with the dashboard mounted (a thread-safe fake clock)."""
    api = Api()
    api.service.clock = itertools.count(100.0).__next__  # the stream reads it from a thread
    mount_dashboard(api.http.app, api.service, settings)
    return api


def parse(body: str) -> list[tuple[str, dict | None]]:
    """Server-sent events as (kind, data); a comment line as ("comment", None)."""
    out = []
    for block in body.split("\n\n"):
        if block.startswith(":"):
            out.append(("comment", None))
            continue
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        if "event" in fields:
            out.append((fields["event"], json.loads(fields["data"])))
    return out


async def watch(api: Api, until: Callable[[list], bool], query: str = "",
                during: Callable[[list], None] | None = None) -> tuple[int, list]:
    """Read /stream as a browser would, going away once `until(messages)` holds.

    `during(messages)` runs in a thread after each message (e.g. a change
    made over the API while the stream is open). Returns the status and
    the messages; fails if the stream does not end once the client has gone.
    """
    gone, status, messages, buffer = anyio.Event(), [0], [], [""]
    headers = [(b"host", b"testserver"),
               (b"authorization", f"Bearer {api.token['viewer']}".encode())]
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": "GET", "scheme": "http", "path": f"{PREFIX}/stream",
             "raw_path": f"{PREFIX}/stream".encode(), "query_string": query.encode(),
             "root_path": "", "headers": headers, "client": ("127.0.0.1", 4242),
             "server": ("testserver", 80)}

    async def receive() -> dict:
        await gone.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        if message["type"] == "http.response.start":
            status[0] = message["status"]
            return
        buffer[0] += message.get("body", b"").decode()
        *done, buffer[0] = buffer[0].split("\n\n")
        for block in done:
            messages.extend(parse(block + "\n\n"))
            if during is not None and not gone.is_set():
                await anyio.to_thread.run_sync(during, messages)
        if until(messages):
            gone.set()
        if not message.get("more_body", False):
            gone.set()

    with anyio.fail_after(30):  # a guard against a stream that never ends, not a timing check
        await api.http.app(scope, receive, send)
    return status[0], messages


def kinds(messages: list) -> list[str]:
    return [kind for kind, _ in messages]


def test_the_page_and_every_asset_come_from_the_controller_with_their_types() -> None:
    api = dashboard()
    page = api.http.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["x-content-type-options"] == "nosniff"
    refs = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert "/static/js/main.js" in refs and "/static/vendor/uplot/uPlot.iife.min.js" in refs
    assets = load_assets()
    assert {"index.html", "js/main.js", "css/dashboard.css", "vendor/uplot/LICENSE",
            "vendor/uplot/uPlot.min.css"} <= set(assets)
    for ref in refs:
        assert ref.startswith("/static/"), ref
        assert ref.removeprefix("/static/") in assets, ref
    for name in assets:
        r = api.http.get(f"/static/{name}")
        assert r.status_code == 200, name
        suffix = Path(name).suffix
        if suffix in TYPES:
            assert r.headers["content-type"].startswith(TYPES[suffix]), name
        assert r.headers["etag"] and "max-age" in r.headers["cache-control"] or \
            r.headers["cache-control"] == "no-cache", name
        again = api.http.get(f"/static/{name}", headers={"If-None-Match": r.headers["etag"]})
        assert again.status_code == 304 and again.content == b""
    assert api.http.get("/static/js/nothing.js").status_code == 404
    assert api.http.get("/static/../routes.py").status_code == 404


def test_every_module_the_page_imports_is_served() -> None:
    api = dashboard()
    seen, todo = set(), ["js/main.js"]
    while todo:
        name = todo.pop()
        seen.add(name)
        r = api.http.get(f"/static/{name}")
        assert r.status_code == 200, name
        for ref in re.findall(r'^import .*? from "\./([\w.]+)";$', r.text, re.M):
            if f"js/{ref}" not in seen:
                todo.append(f"js/{ref}")
    assert seen == {p.relative_to(STATIC).as_posix() for p in (STATIC / "js").glob("*.js")}


def test_nothing_the_page_loads_points_at_another_origin() -> None:
    for name, asset in load_assets().items():
        if name.endswith(("LICENSE", "README.md")):
            continue  # the licence and the vendoring note name their source; never loaded
        text = BANNER.sub("", asset.body.decode())
        for url in re.findall(r"https?://[^\s\"'`)]+", text):
            assert url in NOT_REQUESTS, (name, url)
        assert "//cdn" not in text and "@import" not in text, name


@pytest.mark.skipif(shutil.which("node") is None, reason="needs node to parse the modules")
def test_the_page_scripts_parse_as_modules(tmp_path: Path) -> None:
    for path in sorted((STATIC / "js").glob("*.js")):
        copy = tmp_path / f"{path.stem}.mjs"
        copy.write_text(path.read_text())
        r = subprocess.run(["node", "--check", str(copy)], capture_output=True, text=True)
        assert r.returncode == 0, (path.name, r.stderr)


def test_the_stream_and_whoami_need_a_credential() -> None:
    api = dashboard()
    for path in ("/stream", "/whoami"):
        r = api.get(path, role=None)
        assert r.status_code == 401, path
        assert r.headers["www-authenticate"] == "Bearer"
        r = api.http.get(PREFIX + path, headers={"Authorization": "Bearer nope"})
        assert r.status_code == 401, path
    r = api.get("/whoami", role="operator")
    assert r.status_code == 200
    assert (r.json()["name"], r.json()["role"]) == ("operator-1", "operator")


def test_a_viewer_gets_the_page_but_every_write_route_still_answers_403() -> None:
    api = dashboard()
    assert api.http.get("/").status_code == 200
    assert api.get("/whoami").json()["role"] == "viewer"
    writes = [(method, route.path) for route in api.http.app.routes
              for method in getattr(route, "methods", ()) if method in {"PUT", "POST", "DELETE"}]
    assert len(writes) >= 10, writes
    for method, path in writes:
        url = re.sub(r"\{(\w+)\}", lambda m: "h1" if m[1] == "host" else "tenant-a", path)
        r = api.http.request(method, url, json={"reason": "x"},
                             headers={"Authorization": f"Bearer {api.token['viewer']}"})
        assert r.status_code == 403, (method, url, r.text)
    assert api.sent == [], "nothing reached the switches"


def test_the_stream_sends_who_history_a_snapshot_and_the_backlog_then_ends() -> None:
    api = dashboard(StreamSettings(tick=0.01, lifetime=0.0))
    assert api.put("/networks/tenant-a/clients/h1", {"path": "shadow"}).status_code == 200
    with api.http.stream("GET", f"{PREFIX}/stream?since=0",
                         headers={"Authorization": f"Bearer {api.token['viewer']}"}) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        body = r.read().decode()
    got = parse(body)
    assert kinds(got)[:3] == ["hello", "history", "snapshot"]
    hello, history, snap = (data for _, data in got[:3])
    assert (hello["name"], hello["role"]) == ("viewer-1", "viewer")
    assert history["thresholds"] == {"enabled": True, "upper": 0.8, "lower": 0.6, "hold": 30.0}
    assert len(history["frames"]) == 1 and "link:s1:s2" in history["frames"][0]["series"]
    assert len(snap["fabric"]["switches"]) == 4 and snap["routing"]["shadow_path"] == [
        "tenant-a/h1"]
    h1 = next(h for h in snap["networks"][0]["hosts"] if h["name"] == "h1")
    assert h1["path"] == "shadow"
    [move] = [data for kind, data in got if kind == "event"]
    assert (move["id"], move["kind"], move["client"]) == (0, "move", "h1")
    assert kinds(got)[-1] == "bye"
    assert "id: 0\n" in body, "events carry their id, for Last-Event-ID"


def test_the_stream_delivers_a_move_made_through_the_api_while_it_is_open() -> None:
    api = dashboard()

    def move_once(messages: list) -> None:
        if kinds(messages).count("snapshot") == 1 and messages[-1][0] == "snapshot":
            r = api.put("/networks/tenant-a/clients/h2", {"path": "shadow", "reason": "live"})
            assert r.status_code == 200

    def moved(messages: list) -> bool:
        return any(kind == "event" for kind, _ in messages) and \
            any(kind == "snapshot" and "tenant-a/h2" in data["routing"]["shadow_path"]
                for kind, data in messages)

    status, got = anyio.run(watch, api, moved, "", move_once)
    assert status == 200
    [event] = [data for kind, data in got if kind == "event"]
    assert event["kind"] == "move" and event["reason"] == "api (operator-1): live"
    assert "comment" in kinds(got) or kinds(got).count("snapshot") > 1


def test_a_client_going_away_ends_its_stream_and_frees_its_place() -> None:
    api = dashboard(StreamSettings(tick=0.01, max_clients=1))
    status, got = anyio.run(watch, api, lambda m: "snapshot" in kinds(m))
    assert status == 200 and kinds(got)[:3] == ["hello", "history", "snapshot"]
    status, got = anyio.run(watch, api, lambda m: "snapshot" in kinds(m))
    assert status == 200, "the first stream gave its place back"


def test_streams_beyond_the_limit_are_refused_and_a_far_behind_client_skips_ahead() -> None:
    api = dashboard(StreamSettings(tick=0.01, max_clients=1, max_backlog=2, lifetime=0.0))
    for path in ("shadow", "primary", "shadow"):
        assert api.put("/networks/tenant-a/clients/h1", {"path": path}).status_code == 200
    refused: list = []

    def second(messages: list) -> None:
        if not refused:
            refused.append(api.get("/stream"))

    status, got = anyio.run(watch, api, lambda m: "bye" in kinds(m), "since=0", second)
    assert refused[0].status_code == 503
    assert refused[0].json()["errors"][0]["field"] == "stream"
    [gap] = [data for kind, data in got if kind == "gap"]
    assert gap == {"from": 0, "to": 1}
    assert [data["id"] for kind, data in got if kind == "event"] == [1, 2]


def test_mounting_again_replaces_the_earlier_mount() -> None:
    api = dashboard()
    mount_dashboard(api.http.app, api.service, StreamSettings(lifetime=0.0))
    paths = [getattr(r, "path", None) for r in api.http.app.router.routes]
    assert [paths.count(p) for p in ("/", "/static/{name:path}", f"{PREFIX}/stream",
                                     f"{PREFIX}/whoami")] == [1, 1, 1, 1]
    r = api.get("/stream")
    assert r.status_code == 200 and kinds(parse(r.text))[-1] == "bye"
    schema = api.http.get("/openapi.json",
                          headers={"Authorization": f"Bearer {api.token['viewer']}"}).json()
    assert f"{PREFIX}/whoami" in schema["paths"] and f"{PREFIX}/stream" not in schema["paths"]


def test_streams_share_one_snapshot_until_it_is_half_an_interval_old() -> None:
    api = dashboard(StreamSettings(snapshot_every=3600.0))
    streams = mount_dashboard(api.http.app, api.service, StreamSettings(snapshot_every=3600.0))
    first = anyio.run(streams._snapshot)
    assert api.put("/networks/tenant-a/clients/h1", {"path": "shadow"}).status_code == 200
    assert anyio.run(streams._snapshot) is first, "the same snapshot, not read again"
    fresh = mount_dashboard(api.http.app, api.service, StreamSettings(snapshot_every=0.0))
    assert anyio.run(fresh._snapshot)["routing"]["shadow_path"] == ["tenant-a/h1"]


def hello_and_events(api: Api, query: str) -> tuple[dict, list[dict]]:
    """The `hello` of a stream read with `query` until its `bye`, and its events."""
    r = api.http.get(f"{PREFIX}/stream?{query}",
                     headers={"Authorization": f"Bearer {api.token['viewer']}"})
    assert r.status_code == 200, r.text
    got = parse(r.text)
    assert kinds(got)[0] == "hello" and kinds(got)[-1] == "bye"
    return got[0][1], [data for kind, data in got if kind == "event"]


def test_a_cursor_from_a_controller_that_restarted_is_resynced() -> None:
    once = StreamSettings(tick=0.01, lifetime=0.0)
    old = dashboard(once)
    for path in ("shadow", "primary", "shadow"):
        assert old.put("/networks/tenant-a/clients/h1", {"path": path}).status_code == 200
    hello, events = hello_and_events(old, "since=0")
    assert hello["resync"] is None and [e["id"] for e in events] == [0, 1, 2]
    cursor, start = hello_and_events(old, "since=3")[0]["events_next"], hello["start"]
    assert cursor == 3
    new = dashboard(once)  # the controller again, on the same address: a new event log
    assert new.put("/networks/tenant-a/clients/h2", {"path": "shadow"}).status_code == 200
    hello, events = hello_and_events(new, f"since={cursor}&start={start}")
    assert hello["start"] != start
    assert hello["resync"] == "the controller restarted: its events were read again"
    assert hello["events_next"] == 0
    assert [(e["id"], e["client"]) for e in events] == [(0, "h2")], "the new log, from 0"
    hello, events = hello_and_events(new, f"since=1&start={hello['start']}")
    assert hello["resync"] is None and hello["events_next"] == 1 and events == []


def test_a_cursor_beyond_the_log_is_resynced_even_without_a_start() -> None:
    api = dashboard(StreamSettings(tick=0.01, lifetime=0.0, max_backlog=2))
    for path in ("shadow", "primary", "shadow"):
        assert api.put("/networks/tenant-a/clients/h1", {"path": path}).status_code == 200
    hello, events = hello_and_events(api, "since=57")  # a reconnect's Last-Event-ID, say
    assert hello["resync"] == "event 57 is beyond the log's end (3): events were read again"
    assert hello["events_next"] == 1, "the last max_backlog events"
    assert [e["id"] for e in events] == [1, 2]
    hello, _ = hello_and_events(api, "since=3")
    assert hello["resync"] is None, "the end itself is a good cursor"
    r = api.http.get(f"{PREFIX}/stream?since=0&start={'x' * 65}",
                     headers={"Authorization": f"Bearer {api.token['viewer']}"})
    assert r.status_code == 422
