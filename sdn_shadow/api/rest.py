"""The REST API (FastAPI): routes, bearer-token roles, errors as JSON naming field and reason.

Every route but `/api/v1/health` needs a token (`Authorization: Bearer ...`,
or HTTP Basic with any user name and the token as the password, or an LDAP
user's name and password where `api.ldap` is set), checked before a body is
read. The docs (`/docs`, `/redoc`, `/openapi.json`, served offline, see
`api.docs`) need a viewer too and answer 401 with a Basic challenge, so a
browser asks for the user name and token.
`viewer` reads, `operator` also changes client policy, shadow state and
mirror sessions, `admin` also creates, replaces and deletes networks (also
by instantiating a placement template: 422 names `template.<key path>` or
`instance.<key path>`).
Errors are `{"errors": [{"field", "reason"}]}` with 400 (refused by the
controller; for a network or session, each config key path and reason),
401 (no or unknown token), 403 (role too low, or a cross-site request: an
`Origin` other than the API's own), 404 (no such thing), 409
(conflicts with the current state, or a switch refused the change, which
was then undone), 413 (a body over `api.max_body`, 1 MiB by default: see
`api.limits`), 415 (a change whose body is not `application/json`: a browser
cannot send that cross-site without asking first, so a form on another
site cannot use a logged-in user's Basic credentials) or 422 (malformed
request).
"""


import binascii
from base64 import b64decode
from collections.abc import Callable, Coroutine
from typing import Annotated, Any, Literal

from fastapi import Body, Depends, FastAPI, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from fastapi.security import (
    HTTPAuthorizationCredentials,
    HTTPBasic,
    HTTPBasicCredentials,
    HTTPBearer,
)
from fastapi.security.utils import get_authorization_scheme_param
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from sdn_shadow import __version__
from sdn_shadow.api.auth import Holder, TokenBook, role_allows
from sdn_shadow.api.docs import BROWSER_PATHS, add_docs
from sdn_shadow.api.ldap_roles import LdapRoles, LdapUnavailable
from sdn_shadow.api.limits import DEFAULT_MAX_BODY, BodyLimit, BodyTooLarge
from sdn_shadow.api.redact import for_viewer
from sdn_shadow.api.service import (
    Conflict,
    ControllerService,
    Invalid,
    NotFound,
    Rejected,
    TemplateRefused,
    Unsaved,
)
from sdn_shadow.dashboard import mount_dashboard

PREFIX = "/api/v1"
OPEN_PATHS = frozenset({f"{PREFIX}/health"})  # no token needed
CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
BROWSER_CHALLENGE = 'Basic realm="sdn-shadow"'


class ApiError(Exception):
    """An error answered as JSON: status, field, reason."""

    def __init__(self, status: int, field: str, reason: str,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(reason)
        self.status, self.field, self.reason, self.headers = status, field, reason, headers


class Utf8Basic(HTTPBasic):
    """HTTP Basic credentials read as UTF-8 (RFC 7617), not ASCII only: LDAP passwords
    may hold any character."""

    async def __call__(self, request: Request) -> HTTPBasicCredentials | None:
        """The user and password, None without Basic credentials; 401 when malformed."""
        scheme, param = get_authorization_scheme_param(request.headers.get("Authorization"))
        if scheme.lower() != "basic":
            return None
        try:
            user, colon, password = b64decode(param, validate=True).decode("utf-8").partition(":")
        except (ValueError, binascii.Error):
            user, colon, password = "", "", ""
        if not colon:
            raise ApiError(401, "authorization", "Basic credentials must be base64 of UTF-8 "
                                                 "user:password", {"WWW-Authenticate": "Basic"})
        return HTTPBasicCredentials(username=user, password=password)


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


NETWORK_EXAMPLE = {
    "name": "tenant-b", "cidr": "10.0.1.0/24",
    "hosts": {"b1": {"switch": "s1", "port": 3, "mac": "00:00:00:00:0b:01", "ip": "10.0.1.1"}},
    "shadow": {"hosts": {"b1s": {"twin": "b1", "switch": "s2", "port": 3}},
               "mirror": [{"name": "b1-in", "hosts": ["b1"], "direction": "in", "to": ["b1s"]}]},
}
SESSION_EXAMPLE = {"name": "h1-web", "hosts": ["h1"], "direction": "both", "to": ["h3s"],
                   "match": {"proto": "tcp", "dst_port": 80}, "sample": 0.25, "truncate": 128}
Spec = Annotated[dict[str, Any], Body(description="as under `networks.NAME` in the YAML config")]
TEMPLATE_EXAMPLE = {  # examples/templates/web-tier.yaml and the instance in its comments
    "template": {
        "name": "web-tier",
        "description": "Web servers; the shadow receives every packet they send and receive.",
        "shadow_enabled": True,
        "fidelity": "full",
        "allocation": {"strategy": "conservative", "floor": 0, "hysteresis": 0.1,
                       "instance_capacity": 20, "instances": 1},
        "scaling": {"cpu": {"above": 0.8, "for": 60, "below": 0.3},
                    "memory": {"above": 0.85, "for": 120},
                    "network": {"above": 0.7, "for": 30, "below": 0.2}},
        "vm_types": {"web": {"cpu_cores": 1, "memory_gb": 1, "bandwidth_mbps": 100,
                             "storage_gb": 40},
                     "web-large": {"cpu_cores": 4, "memory_gb": 8, "bandwidth_mbps": 1000,
                                   "storage_gb": 100}},
    },
    "instance": {
        "network": "web", "cidr": "10.1.0.0/24",
        "hosts": {"w1": {"switch": "s1", "port": 5, "mac": "00:00:00:00:0c:01",
                         "ip": "10.1.0.1", "vm_type": "web", "twin": {"switch": "s1", "port": 6},
                         "capture_ip": "10.0.0.2"},
                  "w2": {"switch": "s2", "port": 2, "mac": "00:00:00:00:0c:02",
                         "ip": "10.1.0.2", "vm_type": "web-large",
                         "twin": {"switch": "s2", "port": 5}}},
    },
}


class Instantiation(BaseModel):
    """A placement template and one instance of it, as in their YAML documents."""

    model_config = ConfigDict(extra="forbid")
    template: dict[str, Any] = Field(description="a placement template: name, vm_types, "
                                     "fidelity, allocation, scaling (no ldap over the API)")
    instance: dict[str, Any] = Field(description="where the copy goes: network, cidr, hosts "
                                     "(switch, port, mac, ip, vm_type, twin)")


class ErrorItem(BaseModel):
    """What is wrong and where."""

    field: str
    reason: str


class ErrorBody(BaseModel):
    """Every error the API answers."""

    errors: list[ErrorItem]


ERRORS = {status: {"model": ErrorBody, "description": text} for status, text in (
    (400, "refused by the controller: each field (a config key path) and reason"),
    (401, "no token, or an unknown one"), (403, "the role is too low"),
    (404, "no such network, host or session"),
    (409, "conflicts with the current state, or a switch refused it (undone)"),
    (413, "the body is larger than api.max_body"),
    (415, "a change whose body is not application/json"), (422, "malformed request"),
    (503, "the LDAP server cannot be reached, or the change could not be kept (undone)"))}


def cross_site(request: Request) -> ApiError | None:
    """Why a change may come from another site's page (None when it cannot): a foreign
    Origin, or a body a cross-site form can send (anything but JSON)."""
    if request.method not in CHANGING:
        return None
    origin = request.headers.get("origin")
    own = f"{request.url.scheme}://{request.headers.get('host', '')}"
    if origin is not None and origin.rstrip("/").lower() != own.lower():
        return ApiError(403, "origin", f"a change from {origin} (not {own}) is refused")
    kind = request.headers.get("content-type")
    sized = request.headers.get("content-length", "0").strip() not in ("", "0")
    if (kind is not None or sized or "transfer-encoding" in request.headers) and \
            (kind or "").split(";")[0].strip().lower() != "application/json":
        return ApiError(415, "content-type", f"must be application/json, not {kind or 'none'}")
    return None


def _errors(status: int, errors: list[dict], headers: dict[str, str] | None = None
            ) -> JSONResponse:
    return JSONResponse({"errors": errors}, status_code=status, headers=headers)


def create_app(service: ControllerService, tokens: TokenBook,
               ldap: LdapRoles | None = None, max_body: int = DEFAULT_MAX_BODY) -> FastAPI:
    """The API for one controller, authorising with `tokens` (and LDAP users, when given);
    request bodies over `max_body` bytes are answered 413."""
    app = FastAPI(title="sdn-shadow", version=__version__,
                  description="Shadow networks for OpenFlow fabrics: networks, mirror "
                              "sessions, client policy, shadow activation, events.",
                  responses=ERRORS, openapi_url=None, docs_url=None, redoc_url=None)
    app.add_middleware(BodyLimit, max_body=max_body)
    bearer = HTTPBearer(auto_error=False)
    basic = Utf8Basic(auto_error=False, description="any user name with an API token as the "
                      "password, or an LDAP user (when api.ldap is set)")
    schemes = "Bearer" if ldap is None else 'Bearer, Basic realm="sdn-shadow"'
    needed = "a bearer token" if ldap is None else "a bearer token or an LDAP user (Basic)"
    api_answer = ({"WWW-Authenticate": schemes}, f"{needed} is required")
    browser_answer = ({"WWW-Authenticate": BROWSER_CHALLENGE},
                      "log in with any user name and an API token as the password"
                      + (", or as an LDAP user" if ldap is not None else ""))

    def who(creds: HTTPAuthorizationCredentials | None, user: HTTPBasicCredentials | None,
            answer: tuple[dict[str, str], str] = api_answer) -> Holder:
        challenge, missing = answer
        if creds is not None:
            holder = tokens.holder(creds.credentials)
            if holder is None:
                raise ApiError(401, "authorization", "unknown token", challenge)
            return holder
        if user is not None:
            holder = tokens.holder(user.password)  # any user name, the token as the password
            if holder is not None:
                return holder
            if ldap is None:
                raise ApiError(401, "authorization", "unknown token (the Basic password)",
                               challenge)
            try:
                holder = ldap.holder(user.username, user.password)
            except LdapUnavailable as err:
                raise ApiError(503, "authorization", str(err)) from None
            if holder is None:
                raise ApiError(401, "authorization", "LDAP refused the user or gave no role",
                               challenge)
            return holder
        raise ApiError(401, "authorization", missing, challenge)

    def need(role: str, answer: tuple[dict[str, str], str] = api_answer):
        def check(request: Request,
                  creds: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
                  user: Annotated[HTTPBasicCredentials | None, Depends(basic)]) -> Holder:
            holder = getattr(request.state, "holder", None) or who(creds, user, answer)
            if not role_allows(holder.role, role):
                raise ApiError(403, "authorization",
                               f"{holder.name} is {holder.role}; this needs {role}")
            return holder
        return check

    class AuthFirst(APIRoute):
        """A route that knows its caller before FastAPI reads the body (401 before 422)."""

        def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
            handler = super().get_route_handler()
            if self.path in OPEN_PATHS:
                return handler
            answer = browser_answer if self.path in BROWSER_PATHS else api_answer

            async def authenticated(request: Request) -> Response:
                creds, user = await bearer(request), await basic(request)
                request.state.holder = await run_in_threadpool(who, creds, user, answer)
                refused = cross_site(request)
                if refused is not None:
                    raise refused
                return await handler(request)
            return authenticated

    app.router.route_class = AuthFirst  # every route below, and the docs
    viewer = Depends(need("viewer"))
    operator = Depends(need("operator"))
    admin = Depends(need("admin"))
    add_docs(app, Depends(need("viewer", browser_answer)))

    @app.exception_handler(ApiError)
    async def api_error(_: Request, err: ApiError) -> JSONResponse:
        return _errors(err.status, [{"field": err.field, "reason": err.reason}], err.headers)

    @app.exception_handler(BodyTooLarge)
    async def too_large(_: Request, err: BodyTooLarge) -> JSONResponse:
        return _errors(413, [{"field": "body", "reason": str(err.detail)}])

    @app.exception_handler(NotFound)
    async def not_found(_: Request, err: NotFound) -> JSONResponse:
        return _errors(404, [{"field": err.field, "reason": str(err)}])

    @app.exception_handler(Invalid)
    async def invalid(_: Request, err: Invalid) -> JSONResponse:
        return _errors(400, [{"field": err.field, "reason": err.reason}])

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, err: StarletteHTTPException) -> JSONResponse:
        field = "authorization" if err.status_code == 401 else "request"  # Basic undecodable
        return _errors(err.status_code, [{"field": field, "reason": str(err.detail)}],
                       getattr(err, "headers", None))

    @app.exception_handler(Rejected)
    async def rejected(_: Request, err: Rejected) -> JSONResponse:
        return _errors(400, [{"field": f, "reason": r} for f, r in err.problems])

    @app.exception_handler(TemplateRefused)
    async def template_refused(_: Request, err: TemplateRefused) -> JSONResponse:
        return _errors(422, [{"field": f, "reason": r} for f, r in err.problems])

    @app.exception_handler(Conflict)
    async def conflict(_: Request, err: Conflict) -> JSONResponse:
        return _errors(409, [{"field": err.field, "reason": err.reason}])

    @app.exception_handler(Unsaved)
    async def unsaved(_: Request, err: Unsaved) -> JSONResponse:
        return _errors(503, [{"field": err.field, "reason": err.reason}])

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

    def shown(who: Holder, network: dict) -> dict:
        return for_viewer(network) if not role_allows(who.role, "operator") else network

    @app.get(f"{PREFIX}/networks")
    def networks(who: Annotated[Holder, viewer]) -> list[dict]:
        return [shown(who, n) for n in service.networks()]

    @app.get(f"{PREFIX}/networks/{{name}}")
    def network(name: str, who: Annotated[Holder, viewer]) -> dict:
        return shown(who, service.network(name))

    @app.post(f"{PREFIX}/networks", status_code=201,
              summary="Create a network (and its shadow): the YAML mapping plus its name")
    def create_network(who: Annotated[Holder, admin],
                       body: Annotated[dict[str, Any], Body(
                           openapi_examples={"tenant-b": {"value": NETWORK_EXAMPLE}})]) -> dict:
        spec = dict(body)
        name = spec.pop("name", None)
        if not isinstance(name, str):
            raise ApiError(422, "body.name", "required: the network's name")
        return service.create_network(name, spec, who.name)

    @app.put(f"{PREFIX}/networks/{{name}}", summary="Replace a network's definition")
    def replace_network(name: str, body: Spec, who: Annotated[Holder, admin]) -> dict:
        spec = dict(body)
        if spec.pop("name", name) != name:
            raise ApiError(422, "body.name", f"the network in the path is {name}")
        return service.replace_network(name, spec, who.name)

    @app.delete(f"{PREFIX}/networks/{{name}}",
                summary="Delete a network (409 while its shadow carries clients)")
    def delete_network(name: str, who: Annotated[Holder, admin]) -> dict:
        return service.delete_network(name, who.name)

    @app.post(f"{PREFIX}/templates/instantiate", status_code=201,
              summary="Instantiate a placement template: its network, shadow, mirror sessions "
                      "and each host's resource profile, in one change")
    def instantiate_template(who: Annotated[Holder, admin],
                             body: Annotated[Instantiation, Body(
                                 openapi_examples={"web-tier": {"value": TEMPLATE_EXAMPLE}})]
                             ) -> dict:
        return service.instantiate_template(body.template, body.instance, who.name)

    @app.get(f"{PREFIX}/networks/{{name}}/mirror-sessions", dependencies=[viewer],
             summary="A network's mirror sessions with live counters")
    def sessions(name: str) -> list[dict]:
        return service.sessions(name)

    @app.get(f"{PREFIX}/networks/{{name}}/mirror-sessions/{{session}}", dependencies=[viewer])
    def session(name: str, session: str) -> dict:
        return service.session(name, session)

    @app.post(f"{PREFIX}/networks/{{name}}/mirror-sessions", status_code=201,
              summary="Create a mirror session: as under `shadow.mirror` in the YAML config")
    def create_session(name: str, who: Annotated[Holder, operator],
                       body: Annotated[dict[str, Any], Body(
                           openapi_examples={"web": {"value": SESSION_EXAMPLE}})]) -> dict:
        return service.create_session(name, body, who.name)

    @app.put(f"{PREFIX}/networks/{{name}}/mirror-sessions/{{session}}",
             summary="Replace a mirror session (direction, filter, sampling, truncation, to)")
    def replace_session(name: str, session: str, body: dict[str, Any],
                        who: Annotated[Holder, operator]) -> dict:
        return service.replace_session(name, session, body, who.name)

    @app.delete(f"{PREFIX}/networks/{{name}}/mirror-sessions/{{session}}")
    def delete_session(name: str, session: str, who: Annotated[Holder, operator]) -> dict:
        return service.delete_session(name, session, who.name)

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

    @app.get(f"{PREFIX}/alerts", dependencies=[viewer],
             summary="Alerts raised on the shadows' copies, newest first")
    def alerts(network: str | None = None,
               state: Annotated[str | None, Query(pattern="^(open|closed)$")] = None,
               limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[dict]:
        return service.alerts(network, state, limit)

    @app.get(f"{PREFIX}/alerts/{{alert_id}}", dependencies=[viewer])
    def alert(alert_id: int) -> dict:
        return service.alert(alert_id)

    @app.get(f"{PREFIX}/blocks", dependencies=[viewer],
             summary="Sources the response to alerts keeps out of primary networks")
    def blocks() -> list[dict]:
        return service.blocks()

    @app.delete(f"{PREFIX}/blocks/{{network}}/{{source}}",
                summary="Lift a block before its TTL")
    def lift_block(network: str, source: str, who: Annotated[Holder, operator]) -> dict:
        return service.lift_block(network, source, who.name)

    @app.get(f"{PREFIX}/forecasts", dependencies=[viewer],
             summary="Forecasts with intervals (bytes/s) and each series' model and version")
    def forecasts() -> dict:
        return service.forecasts()

    @app.get(f"{PREFIX}/profiles", dependencies=[viewer],
             summary="Client profiles: mean, std, peaks, burstiness (bytes/s)")
    def profiles() -> list[dict]:
        return service.profiles()

    @app.get(f"{PREFIX}/routing", dependencies=[viewer])
    def routing() -> dict:
        return service.routing()

    @app.get(f"{PREFIX}/fabric", dependencies=[viewer],
             summary="Switches (connected, synced) and links each way: measured rate, "
                     "forecast, capacity, capacity held (bytes/s); the clock, the events cursor")
    def fabric() -> dict:
        return service.fabric()

    @app.get(f"{PREFIX}/networks/{{name}}/paths", dependencies=[viewer],
             summary="The primary and shadow paths (switches) from host src to host dst "
                     "now, and which one their traffic takes")
    def paths(name: str, src: Annotated[str, Query(min_length=1, max_length=64)],
              dst: Annotated[str, Query(min_length=1, max_length=64)]) -> dict:
        if src == dst:
            raise ApiError(422, "query.dst", "must name another host than src")
        return service.paths(name, src, dst)

    mount_dashboard(app, service)  # the page at / and its stream, over this API
    return app
