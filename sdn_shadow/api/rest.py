"""The REST API (FastAPI): routes, bearer-token roles, errors as JSON naming field and reason.

Every route but `/api/v1/health` needs a token (`Authorization: Bearer ...`):
`viewer` reads, `operator` also changes client policy and shadow state,
`admin` may do everything. Errors are `{"errors": [{"field", "reason"}]}`
with 400 (refused by the controller), 401 (no or unknown token), 403 (role
too low), 404 (no such thing) or 422 (malformed request).
"""


from typing import Annotated, Literal

from fastapi import Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field

from sdn_shadow import __version__
from sdn_shadow.api.auth import Holder, TokenBook, role_allows
from sdn_shadow.api.service import ControllerService, Invalid, NotFound

PREFIX = "/api/v1"


class ApiError(Exception):
    """An error answered as JSON: status, field, reason."""

    def __init__(self, status: int, field: str, reason: str,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(reason)
        self.status, self.field, self.reason, self.headers = status, field, reason, headers


class ClientPolicy(BaseModel):
    """A client's policy change: either setting, or both."""

    model_config = ConfigDict(extra="forbid")
    path: Literal["primary", "shadow"] | None = None
    service: Literal["primary", "twin"] | None = None
    reason: str = Field("api", max_length=500, description="recorded with the event")


class Reason(BaseModel):
    """Why a change is made (recorded with its event)."""

    model_config = ConfigDict(extra="forbid")
    reason: str = Field("api", max_length=500)


def _errors(status: int, errors: list[dict], headers: dict[str, str] | None = None
            ) -> JSONResponse:
    return JSONResponse({"errors": errors}, status_code=status, headers=headers)


def create_app(service: ControllerService, tokens: TokenBook) -> FastAPI:
    """The API for one controller, authorising with `tokens`."""
    app = FastAPI(title="sdn-shadow", version=__version__,
                  description="Shadow networks for OpenFlow fabrics: state, client policy, "
                              "shadow activation, events.")
    bearer = HTTPBearer(auto_error=False)

    def need(role: str):
        def check(creds: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
                  ) -> Holder:
            challenge = {"WWW-Authenticate": "Bearer"}
            if creds is None:
                raise ApiError(401, "authorization", "a bearer token is required", challenge)
            holder = tokens.holder(creds.credentials)
            if holder is None:
                raise ApiError(401, "authorization", "unknown token", challenge)
            if not role_allows(holder.role, role):
                raise ApiError(403, "authorization",
                               f"{holder.name} is {holder.role}; this needs {role}")
            return holder
        return check

    viewer = Depends(need("viewer"))
    operator = Depends(need("operator"))

    @app.exception_handler(ApiError)
    async def api_error(_: Request, err: ApiError) -> JSONResponse:
        return _errors(err.status, [{"field": err.field, "reason": err.reason}], err.headers)

    @app.exception_handler(NotFound)
    async def not_found(_: Request, err: NotFound) -> JSONResponse:
        return _errors(404, [{"field": "path", "reason": str(err)}])

    @app.exception_handler(Invalid)
    async def invalid(_: Request, err: Invalid) -> JSONResponse:
        return _errors(400, [{"field": err.field, "reason": err.reason}])

    @app.exception_handler(RequestValidationError)
    async def malformed(_: Request, err: RequestValidationError) -> JSONResponse:
        return _errors(422, [{"field": ".".join(str(p) for p in e.get("loc", ())),
                              "reason": e.get("msg", "invalid")} for e in err.errors()])

    @app.get(f"{PREFIX}/health", summary="Liveness and switch counts (no token needed)")
    def health() -> dict:
        return service.health()

    @app.get(f"{PREFIX}/version", dependencies=[viewer])
    def version() -> dict:
        return {"version": __version__}

    @app.get(f"{PREFIX}/networks", dependencies=[viewer])
    def networks() -> list[dict]:
        return service.networks()

    @app.get(f"{PREFIX}/networks/{{name}}", dependencies=[viewer])
    def network(name: str) -> dict:
        return service.network(name)

    @app.get(f"{PREFIX}/networks/{{name}}/clients/{{host}}", dependencies=[viewer])
    def client(name: str, host: str) -> dict:
        return service.client(name, host)

    @app.put(f"{PREFIX}/networks/{{name}}/clients/{{host}}")
    def set_client(name: str, host: str, body: ClientPolicy,
                   who: Annotated[Holder, operator]) -> dict:
        if body.path is None and body.service is None:
            raise ApiError(422, "body", "set path (primary|shadow), service (primary|twin) "
                                        "or both")
        return service.set_client(name, host, body.path, body.service,
                                  f"api ({who.name}): {body.reason}")

    @app.post(f"{PREFIX}/networks/{{name}}/shadow/activate")
    def activate(name: str, who: Annotated[Holder, operator],
                 body: Reason | None = None) -> dict:
        return service.set_active(name, True, f"api ({who.name}): {(body or Reason()).reason}")

    @app.post(f"{PREFIX}/networks/{{name}}/shadow/deactivate")
    def deactivate(name: str, who: Annotated[Holder, operator],
                   body: Reason | None = None) -> dict:
        return service.set_active(name, False, f"api ({who.name}): {(body or Reason()).reason}")

    @app.post(f"{PREFIX}/networks/{{name}}/shadow/role-swap")
    def role_swap(name: str, who: Annotated[Holder, operator],
                  body: Reason | None = None) -> dict:
        return service.swap_roles(name, f"api ({who.name}): {(body or Reason()).reason}")

    @app.get(f"{PREFIX}/events", dependencies=[viewer])
    def events(since: Annotated[int, Query(ge=0)] = 0,
               limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> dict:
        return service.events(since, limit)

    @app.get(f"{PREFIX}/forecasts", dependencies=[viewer])
    def forecasts() -> dict:
        return service.forecasts()

    @app.get(f"{PREFIX}/routing", dependencies=[viewer])
    def routing() -> dict:
        return service.routing()

    return app
