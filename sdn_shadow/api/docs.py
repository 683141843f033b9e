"""The API's own docs offline: `/openapi.json`, Swagger UI at `/docs`, ReDoc at `/redoc`.

FastAPI's stock pages load their scripts from a CDN, so they are blank on a
lab network without Internet. These pages load them from `/docs/assets/`,
served from the files the `fastapi-offline` package ships (Swagger UI,
Apache-2.0; ReDoc, MIT). Every route here sits behind the dependency the
caller gives (the API answers it with a Basic challenge, so a browser asks).
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse
from starlette.exceptions import HTTPException

OPENAPI, DOCS, REDOC, ASSETS = "/openapi.json", "/docs", "/redoc", "/docs/assets"
BROWSER_PATHS = frozenset({OPENAPI, DOCS, REDOC, f"{ASSETS}/{{name}}"})
ASSET_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
               ".png": "image/png"}
SWAGGER_JS, SWAGGER_CSS, REDOC_JS, FAVICON = (
    "swagger-ui-bundle.js", "swagger-ui.css", "redoc.standalone.js", "favicon.png")


def asset_files() -> dict[str, Path]:
    """The page assets `fastapi-offline` ships, by file name (RuntimeError if one is missing)."""
    static = Path(str(files("fastapi_offline") / "static"))
    found = {p.name: p for p in static.iterdir() if p.suffix in ASSET_TYPES} \
        if static.is_dir() else {}
    missing = sorted({SWAGGER_JS, SWAGGER_CSS, REDOC_JS, FAVICON} - set(found))
    if missing:
        raise RuntimeError(f"fastapi-offline lacks {', '.join(missing)} in {static}")
    return found


def add_docs(app: FastAPI, guard: Any) -> None:
    """Add the OpenAPI document, the two doc pages and their assets to `app`, behind `guard`."""
    assets = asset_files()

    def at(request: Request, path: str) -> str:
        return f"{request.scope.get('root_path', '')}{path}"

    @app.get(OPENAPI, include_in_schema=False, dependencies=[guard])
    def openapi() -> JSONResponse:
        return JSONResponse(app.openapi())

    @app.get(DOCS, include_in_schema=False, dependencies=[guard])
    def swagger_ui(request: Request) -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=at(request, OPENAPI), title=f"{app.title} - Swagger UI",
            swagger_js_url=at(request, f"{ASSETS}/{SWAGGER_JS}"),
            swagger_css_url=at(request, f"{ASSETS}/{SWAGGER_CSS}"),
            swagger_favicon_url=at(request, f"{ASSETS}/{FAVICON}"),
            swagger_ui_parameters={**(app.swagger_ui_parameters or {}), "validatorUrl": None})

    @app.get(REDOC, include_in_schema=False, dependencies=[guard])
    def redoc(request: Request) -> HTMLResponse:
        return get_redoc_html(
            openapi_url=at(request, OPENAPI), title=f"{app.title} - ReDoc",
            redoc_js_url=at(request, f"{ASSETS}/{REDOC_JS}"),
            redoc_favicon_url=at(request, f"{ASSETS}/{FAVICON}"), with_google_fonts=False)

    @app.get(f"{ASSETS}/{{name}}", include_in_schema=False, dependencies=[guard])
    def asset(name: str) -> FileResponse:
        path = assets.get(name)
        if path is None:
            raise HTTPException(404, f"no asset {name!r}")
        return FileResponse(path, media_type=ASSET_TYPES[path.suffix],
                            headers={"Cache-Control": "private, max-age=86400"})
