"""Bound every request body: 413 past `max_body` bytes, counted as they arrive.

Content-Length is only a claim: a larger one is answered at once, and the
bytes are counted as the server hands them over (chunked bodies, or a client
that sends more than it said). A response that starts before the request's
body was read to the end says `Connection: close`, so the server drops the
rest instead of reading it (a 401 or a 413 does not wait for 100 MB).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from fastapi import HTTPException

DEFAULT_MAX_BODY = 1 << 20  # 1 MiB: a network definition is a few KiB
Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]


class BodyTooLarge(HTTPException):
    """A request body over the limit (an HTTPException, so FastAPI's body reader passes it on)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"larger than {limit} bytes (api.max_body)")


class BodyLimit:
    """ASGI middleware: request bodies of at most `max_body` bytes."""

    def __init__(self, app: App, max_body: int = DEFAULT_MAX_BODY) -> None:
        self.app, self.max_body = app, max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer 413 for a declared or counted body over the limit."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.lower(): v for k, v in scope.get("headers", ())}
        declared = headers.get(b"content-length", b"").strip()
        if declared and (not declared.isdigit() or len(declared) > 18
                         or int(declared) > self.max_body):
            status = 413 if declared.isdigit() else 400
            reason = (str(BodyTooLarge(self.max_body).detail) if status == 413
                      else "Content-Length must be a number of bytes")
            await _answer(send, status, reason)
            return
        read = {"bytes": 0, "done": not declared.strip(b"0") and b"transfer-encoding"
                not in headers}

        async def counted() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                read["bytes"] += len(message.get("body", b""))
                read["done"] = not message.get("more_body", False)
                if read["bytes"] > self.max_body:
                    raise BodyTooLarge(self.max_body)
            elif message["type"] == "http.disconnect":
                read["done"] = True
            return message

        async def closing(message: Message) -> None:
            if message["type"] == "http.response.start" and not read["done"]:
                message = {**message, "headers": [*message.get("headers", ()),
                                                  (b"connection", b"close")]}
            await send(message)

        await self.app(scope, counted, closing)


async def _answer(send: Send, status: int, reason: str) -> None:
    """An error answered before the app runs, closing the connection."""
    body = json.dumps({"errors": [{"field": "body", "reason": reason}]}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})
