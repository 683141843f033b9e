"""Starting the controller: its settings, the OpenFlow port check, and the API that answers first.

The REST API listens before the fabric is planned (planning 2,000 hosts takes
seconds): until the app attaches the real API, `ApiGate` answers
`GET /api/v1/health` with `{"status": "starting"}` and every other route
with 503. Only uvicorn is imported for that; FastAPI, the core and
scikit-learn come later, while planning.
"""

from __future__ import annotations

import errno
import json
import socket
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sdn_shadow import __version__
from sdn_shadow.config.model import Config

if TYPE_CHECKING:
    from sdn_shadow.api.server import ApiServer

HEALTH_PATH = "/api/v1/health"
Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
Asgi = Callable[[Scope, Receive, Send], Awaitable[None]]


@dataclass
class RunSettings:
    """What `sdn-shadow run` hands the app: the validated config and the command line's
    overrides (metrics, api, tokens take precedence over the config's)."""

    config: Config
    config_path: str = ""
    document: dict | None = None  # the config file as read, when the CLI has read it
    state_file: str | None = None
    metrics: str | None = None
    api: str | None = None
    tokens: str | None = None
    gate: ApiGate | None = None  # the API, already listening, when the CLI started it

    @property
    def api_listen(self) -> str | None:
        """Where the REST API listens, if anywhere."""
        return self.api or self.config.api.listen

    @property
    def tokens_file(self) -> str | None:
        """The API's token file."""
        return self.tokens or self.config.api.tokens


def port_problem(port: int) -> str | None:
    """Why `port` cannot be a TCP port to listen on, or None."""
    if not 1 <= port <= 65535:
        return f"port {port} is out of range: it must be 1..65535"
    return None


def listen_problem(host: str, port: int, what: str = "switches") -> str | None:
    """Why the controller could not listen for `what` on host:port, or None.

    Binds the address the way OS-Ken and the HTTP servers will (SO_REUSEADDR,
    then listen) and lets it go at once, so a port another process listens
    on, a bad port or an address this machine does not have is refused before
    anything starts.
    """
    problem = port_problem(port)
    if problem is not None:
        return f"{what}: {problem}"
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    try:
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((host, port))
            sock.listen(1)
    except OSError as err:
        if err.errno == errno.EADDRINUSE:
            return f"cannot listen for {what} on {where}: the port is in use " \
                   "(another controller?)"
        return f"cannot listen for {what} on {where}: {err.strerror or err}"
    return None


def openflow_listen_problem(host: str, port: int) -> str | None:
    """Why the controller could not listen for switches on host:port, or None."""
    return listen_problem(host, port, "switches")


def address_problem(listen: str, what: str) -> str | None:
    """Why `listen` (HOST:PORT) cannot serve `what`, or None."""
    host, _, port_text = listen.rpartition(":")
    try:
        port = int(port_text)
    except ValueError:
        return f"{what}: {listen!r} is not HOST:PORT"
    return listen_problem(host.strip("[]") or "0.0.0.0", port, what)


def _json(status: int, body: dict, headers: tuple[tuple[bytes, bytes], ...] = ()
          ) -> tuple[dict, dict]:
    data = json.dumps(body).encode()
    return ({"type": "http.response.start", "status": status,
             "headers": [(b"content-type", b"application/json"),
                         (b"content-length", str(len(data)).encode()), *headers]},
            {"type": "http.response.body", "body": data})


class ApiGate:
    """An ASGI app that answers "starting" until `attach` gives it the real API."""

    def __init__(self, switches: int = 0) -> None:
        self.app: Asgi | None = None
        self.phase = "planning"
        self.switches = switches  # configured; none is connected or synced before the plan

    def attach(self, app: Asgi) -> None:
        """From now on every request goes to `app`."""
        self.app = app

    def starting(self, phase: str) -> None:
        """Say what the controller is doing while it starts."""
        self.phase = phase

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve a request: the real API's answer once attached, else "starting"."""
        app = self.app
        if app is not None:
            await app(scope, receive, send)
            return
        if scope["type"] != "http":
            return
        if scope.get("path") == HEALTH_PATH:
            start, body = _json(200, {"status": "starting", "phase": self.phase,
                                      "version": __version__, "switches": self.switches,
                                      "connected": 0, "synced": 0})
        else:
            start, body = _json(503, {"errors": [{
                "field": "controller",
                "reason": f"starting ({self.phase}); try again in a few seconds"}]},
                ((b"retry-after", b"2"), (b"connection", b"close")))  # the body stays unread
        await send(start)
        await send(body)


def start_gate(settings: RunSettings) -> ApiServer | None:
    """Listen for the REST API at once, answering "starting" (None: no API configured).

    Raises RuntimeError (port in use, bad TLS files) or ValueError (bad address).
    """
    listen = settings.api_listen
    if not listen:
        return None
    host, _, port_text = listen.rpartition(":")
    port = int(port_text)
    problem = port_problem(port)
    if problem is not None:
        raise ValueError(f"API {problem}")
    gate = settings.gate or ApiGate(len(settings.config.switches))
    from sdn_shadow.api.server import ApiServer  # uvicorn, not FastAPI

    server = ApiServer(gate, host, port, settings.config.api.tls).start()
    settings.gate = gate
    return server
