"""`GET /api/v1/stream`: server-sent events for the dashboard, bounded per client.

One stream per open page. It sends `hello` (who is watching, with what
role), `history` (the kept series frames), then new events as they happen
(`event`, each with its id so a reconnecting browser resumes after the last
one) and every few seconds a `snapshot` of the fabric, forecasts, routing,
networks, mirror sessions, blocks and alerts; a comment line keeps a quiet
connection open. Bounds: each client holds only its cursor into the event
log and the one message being written (a slow reader only slows its own
stream: the server waits for the socket to drain before reading more); at
most `max_events` events go per tick, a client further than `max_backlog`
behind skips ahead (`gap`, naming what it missed, to fetch from `/events`),
at most `max_clients` streams run at once (503 beyond), they share one
snapshot (taken again once half `snapshot_every` old), and a stream ends
after `lifetime` seconds (`bye`) so the page reconnects with its credential
checked again.

A controller that restarts on the same address starts its event log again
from 0, so a page's cursor names nothing there (or the wrong events). Each
mount has a `start` id, sent in `hello`; a page reconnecting with another
start, or with a cursor beyond the log's end, is resynced: its `hello` says
`resync` (why) and the stream sends the new log's last `max_backlog` events.
"""

from __future__ import annotations

import json
import math
import secrets
import time
import weakref
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from typing import Any

from starlette.concurrency import run_in_threadpool

from sdn_shadow.dashboard.snapshot import SeriesHistory, Service, Thresholds, snapshot


@dataclass(frozen=True, slots=True)
class StreamSettings:
    """How often a stream looks for news and how much it may hold back (seconds, counts)."""

    tick: float = 1.0
    snapshot_every: float = 5.0
    heartbeat: float = 15.0
    max_events: int = 200
    max_backlog: int = 1000
    max_clients: int = 16
    lifetime: float = 900.0


def _clean(value: Any) -> Any:
    """`value` with NaN and infinities as None and tuples and sets as lists (valid JSON)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_clean(v) for v in value]
    return value


def message(kind: str, data: Any, ident: int | None = None) -> str:
    """One server-sent event: its `event:` name, optional `id:` and JSON data."""
    head = f"event: {kind}\n" + (f"id: {ident}\n" if ident is not None else "")
    return head + f"data: {json.dumps(_clean(data), separators=(',', ':'), default=str)}\n\n"


class Streams:
    """The open streams of one app: how many, and what they share."""

    def __init__(self, service: Service, settings: StreamSettings,
                 history: SeriesHistory) -> None:
        self.service, self.settings, self.history = service, settings, history
        self.thresholds = Thresholds()
        self.start = secrets.token_hex(8)  # this mount's (a restarted controller's is new)
        self._live: weakref.WeakSet[AsyncGenerator[str, None]] = weakref.WeakSet()
        self._last: tuple[float, dict[str, Any] | None] = (0.0, None)

    @property
    def open(self) -> int:
        """How many streams are open (not finished and not dropped unstarted)."""
        return len([g for g in self._live if getattr(g, "ag_frame", None) is not None])

    def begin(self, hello: dict[str, Any], since: int | None, sleep: Any,
              start: str | None = None) -> AsyncGenerator[str, None] | None:
        """A new stream's messages (see `run`), or None when `max_clients` are open."""
        if self.open >= self.settings.max_clients:
            return None
        stream = self.run(hello, since, sleep, start)
        self._live.add(stream)
        return stream

    async def _snapshot(self, fresh: bool = False) -> dict[str, Any]:
        """A snapshot shared by the streams: taken again once half an interval old (or
        `fresh`)."""
        taken, snap = self._last
        if (snap is None or fresh
                or time.monotonic() - taken >= self.settings.snapshot_every / 2):
            snap = await run_in_threadpool(snapshot, self.service, self.thresholds)
            self._last = (time.monotonic(), snap)
            self.history.add(snap)
        return snap

    def stale(self, since: int | None, start: str | None, end: int) -> str | None:
        """Why cursor `since`, taken from the mount `start`, names no event of this log
        (which ends at `end`); None when it is good."""
        if since is None:
            return None
        if start is not None and start != self.start:
            return "the controller restarted: its events were read again"
        if since > end:
            return f"event {since} is beyond the log's end ({end}): events were read again"
        return None

    async def run(self, hello: dict[str, Any], since: int | None, sleep: Any,
                  start: str | None = None) -> AsyncGenerator[str, None]:
        """The messages of one stream, from event cursor `since` (None: from now) that
        the mount `start` gave (None: this one, or not known).

        `sleep` is awaited between ticks (`anyio.sleep`); the client going
        cancels the stream at its current await.
        """
        s = self.settings
        snap = await self._snapshot()
        if since is not None and since > snap["fabric"]["events_next"]:
            snap = await self._snapshot(fresh=True)  # the shared one may predate the cursor
        end = snap["fabric"]["events_next"]
        resync = self.stale(since, start, end)
        cursor = end if since is None else since
        if resync is not None:
            cursor = max(0, end - s.max_backlog)
        yield message("hello", {**hello, "events_next": cursor, "start": self.start,
                                "resync": resync, "tick": s.tick,
                                "snapshot_every": s.snapshot_every})
        yield message("history", {"frames": self.history.frames(),
                                  "thresholds": snap["thresholds"]})
        yield message("snapshot", snap)
        started = last_snap = last_sent = time.monotonic()
        while True:
            sent, end = False, snap["fabric"]["events_next"]
            if end - cursor > s.max_backlog:
                yield message("gap", {"from": cursor, "to": end - s.max_backlog})
                cursor = end - s.max_backlog
            page = await run_in_threadpool(self.service.events, cursor, s.max_events)
            for event in page["events"]:
                yield message("event", event, event.get("id"))
                sent = True
            cursor = page["next"]
            now = time.monotonic()
            if now - started >= s.lifetime:
                yield message("bye", {"reason": "lifetime", "events_next": cursor})
                return
            if now - last_snap >= s.snapshot_every:
                snap = await self._snapshot()
                yield message("snapshot", snap)
                last_snap, sent = now, True
            if sent:
                last_sent = now
            elif now - last_sent >= s.heartbeat:
                yield ": ping\n\n"
                last_sent = now
            if len(page["events"]) < s.max_events:  # caught up: wait for news
                await sleep(s.tick)
