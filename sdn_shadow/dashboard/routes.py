"""Mount the dashboard on the API's app: the page, its assets, the stream and `whoami`.

The page (`/`) and its assets (`/static/...`) need no credential: they hold
no data, and the page asks for a token before it reads anything. The data
routes are added with the app's own route class, so they are authenticated
exactly like every other route of `api.rest` (401 without a credential,
before the handler runs), and refuse to answer if nothing authenticated the
caller. Every answer carries a Content-Security-Policy that lets the page
load and connect to its own origin only.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
from fastapi import FastAPI, Query, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel

from sdn_shadow import __version__
from sdn_shadow.api.auth import Holder, role_allows
from sdn_shadow.dashboard.snapshot import SeriesHistory, Service
from sdn_shadow.dashboard.stream import Streams, StreamSettings

PREFIX = "/api/v1"  # as api.rest's (not imported: api.rest imports this package)
STATIC = Path(__file__).resolve().parent / "static"
TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
         ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml",
         ".md": "text/markdown; charset=utf-8", "": "text/plain; charset=utf-8"}
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
       "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
       "form-action 'none'; frame-ancestors 'none'")
SECURITY = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY"}


@dataclass(frozen=True, slots=True)
class Asset:
    """A file the page loads: its bytes, content type, cache policy and ETag."""

    body: bytes
    media_type: str
    cache: str
    etag: str


def load_assets(root: Path = STATIC) -> dict[str, Asset]:
    """Every servable file under `root` by its path there (vendored files may be cached)."""
    assets = {}
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        kind = TYPES.get(path.suffix)
        if kind is None:
            continue
        name = path.relative_to(root).as_posix()
        body = path.read_bytes()
        cache = "public, max-age=86400" if name.startswith("vendor/") else "no-cache"
        assets[name] = Asset(body, kind, cache, f'"{hashlib.sha256(body).hexdigest()[:32]}"')
    return assets


def _serve(request: Request, asset: Asset) -> Response:
    headers = {"Cache-Control": asset.cache, "ETag": asset.etag, **SECURITY}
    if request.headers.get("if-none-match") == asset.etag:
        return Response(status_code=304, headers=headers)
    return Response(asset.body, media_type=asset.media_type, headers=headers)


def _not_found(what: str) -> JSONResponse:
    return JSONResponse({"errors": [{"field": "path", "reason": f"no {what}"}]},
                        status_code=404, headers=SECURITY)


class Whoami(BaseModel):
    """Whom the credential names and the role it has."""

    name: str
    role: str
    version: str


def _holder(request: Request) -> Holder:
    """The caller the app's route class authenticated (PermissionError if none did)."""
    holder = getattr(request.state, "holder", None)
    if not isinstance(holder, Holder) or not role_allows(holder.role, "viewer"):
        raise PermissionError("the dashboard's data routes must be authenticated by the app")
    return holder


def _unauthenticated() -> JSONResponse:
    return JSONResponse({"errors": [{"field": "authorization", "reason": "not authenticated"}]},
                        status_code=401, headers={"WWW-Authenticate": "Bearer"})


def mount_dashboard(app: FastAPI, service: Service, settings: StreamSettings | None = None,
                    history: SeriesHistory | None = None) -> Streams:
    """Serve the dashboard on `app` (made by `api.rest.create_app`); the streams' state.

    Mounting again replaces the earlier mount (its routes and settings).
    """
    ours = {"/", "/static/{name:path}", f"{PREFIX}/whoami", f"{PREFIX}/stream"}
    app.router.routes[:] = [r for r in app.router.routes if getattr(r, "path", None) not in ours]
    app.openapi_schema = None  # made again, with the routes added here
    assets = load_assets()
    streams = Streams(service, settings or StreamSettings(), history or SeriesHistory())
    page = assets["index.html"]

    async def index(request: Request) -> Response:
        return _serve(request, page)

    async def static(request: Request) -> Response:
        asset = assets.get(request.path_params["name"])
        return _not_found("such asset") if asset is None else _serve(request, asset)

    app.add_route("/", index, methods=["GET", "HEAD"], include_in_schema=False)
    app.add_route("/static/{name:path}", static, methods=["GET", "HEAD"],
                  include_in_schema=False)

    def whoami(request: Request) -> Any:
        try:
            holder = _holder(request)
        except PermissionError:
            return _unauthenticated()
        return Whoami(name=holder.name, role=holder.role, version=__version__)

    async def stream(request: Request, since: int | None = Query(None, ge=0),
                     start: str | None = Query(None, max_length=64)) -> Any:
        try:
            holder = _holder(request)
        except PermissionError:
            return _unauthenticated()
        last = request.headers.get("last-event-id", "")
        if since is None and last.isdigit():
            since = int(last) + 1
        hello = {"name": holder.name, "role": holder.role, "version": __version__}
        messages = streams.begin(hello, since, anyio.sleep, start)
        if messages is None:
            return JSONResponse({"errors": [{"field": "stream", "reason": (
                f"{streams.settings.max_clients} streams are open; close a page")}]},
                status_code=503, headers={"Retry-After": "10"})
        return StreamingResponse(
            messages, media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})

    auth = app.router.route_class  # the app's own authentication, as on its other routes
    app.router.add_api_route(f"{PREFIX}/whoami", whoami, methods=["GET"], response_model=Whoami,
                             summary="Whom the credential names, and its role",
                             route_class_override=auth)
    app.router.add_api_route(f"{PREFIX}/stream", stream, methods=["GET"],
                             include_in_schema=False, route_class_override=auth)
    return streams
