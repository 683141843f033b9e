"""The flat settings sections: controller, telemetry, forecast, failover, routing and api."""

from __future__ import annotations

from typing import Any

from .context import Context
from .files import TLS
from .model import (
    ROUTING_MODES,
    ApiSettings,
    ControllerSettings,
    FailoverSettings,
    ForecastSettings,
    LdapRoleSettings,
    RoutingSettings,
    TelemetrySettings,
    TlsFiles,
)


def controller(ctx: Context, value: Any) -> ControllerSettings:
    """`controller`: the stats poll interval and the OpenFlow channel's TLS files."""
    return ctx.section(value, "controller", ControllerSettings, {
        "stats_interval": ctx.positive,
        "tls": lambda v, p: tls_files(ctx, v, p, ("ca", "cert", "key"))})


def telemetry(ctx: Context, value: Any) -> TelemetrySettings:
    """`telemetry`: statistics polling, the series store and the metrics endpoint."""
    return ctx.section(value, "telemetry", TelemetrySettings, {
        "port_interval": ctx.positive, "flow_interval": ctx.positive,
        "meter_interval": ctx.positive, "retention": ctx.positive,
        "window": lambda v, p: ctx.int_in(v, p, 8, 1_000_000),
        "history": ctx.optional_string, "metrics": ctx.listen_address,
        "metrics_token": ctx.optional_string,
    })


def forecast(ctx: Context, value: Any) -> ForecastSettings:
    """`forecast`: how demand series are forecast."""
    return ctx.section(value, "forecast", ForecastSettings, {
        "interval": ctx.positive, "refit": ctx.non_negative, "horizon": ctx.positive,
        "period": ctx.positive, "period_check": ctx.positive,
        "level": ctx.fraction, "window": lambda v, p: ctx.int_in(v, p, 1, 4096),
        "log": ctx.boolean, "max_growth": ctx.at_least_one,
    })


def failover(ctx: Context, value: Any) -> FailoverSettings:
    """`failover`: when traffic leaves a failed link or host and when it comes back."""
    return ctx.section(value, "failover", FailoverSettings, {
        "wait_to_restore": ctx.non_negative, "hold": ctx.non_negative,
        "bfd": ctx.boolean, "bfd_interval_ms": lambda v, p: ctx.int_in(v, p, 1, 10_000),
        "bfd_grace": ctx.non_negative, "probe_interval": ctx.positive,
        "probe_misses": lambda v, p: ctx.int_in(v, p, 1, 100),
        "role_swap": ctx.boolean,
    })


def routing(ctx: Context, value: Any) -> RoutingSettings:
    """`routing`: preemptive routing's thresholds; `lower` must stay below `upper`."""
    settings = ctx.section(value, "routing", RoutingSettings, {
        "enabled": ctx.boolean, "upper": ctx.share, "lower": ctx.share,
        "hold": ctx.non_negative, "confirm": lambda v, p: ctx.int_in(v, p, 1, 100),
        "mode": lambda v, p: ctx.one_of(v, p, ROUTING_MODES),
    })
    if settings.lower >= settings.upper:
        ctx.err("routing.lower", f"must be below routing.upper ({settings.upper})")
    return settings


MAX_BODY = 1 << 30  # api.max_body: at most 1 GiB


def api(ctx: Context, value: Any) -> ApiSettings:
    """`api`: the REST API; a listening API needs a token file."""
    settings = ctx.section(value, "api", ApiSettings, {
        "listen": ctx.listen_address, "tokens": ctx.optional_string,
        "store": ctx.optional_string, "tls": lambda v, p: tls_files(ctx, v, p, ("cert", "key")),
        "ldap": lambda v, p: ldap_roles(ctx, v, p),
        "max_body": lambda v, p: ctx.int_in(v, p, 1024, MAX_BODY)})
    if settings.listen and not settings.tokens:
        ctx.err("api.tokens", "required when api.listen is set: a token file (make one "
                              "with `sdn-shadow token add`)")
    return settings


def tls_files(ctx: Context, value: Any, path: str, required: tuple[str, ...]
              ) -> TlsFiles | None:
    """PEM file paths; each must name a readable file (as the loader found)."""
    f = ctx.fields(value, path, required, required)
    if f is None or any(key not in f for key in required):
        return None
    files: dict[str, str] = {}
    for key in required:
        name = ctx.string(f[key], f"{path}.{key}")
        if name is None:
            continue
        ctx.file(TLS, name, f"{path}.{key}")
        files[key] = name
    return TlsFiles(**files) if len(files) == len(required) else None


def ldap_roles(ctx: Context, value: Any, path: str) -> LdapRoleSettings | None:
    """`api.ldap`: API users whose roles come from LDAP groups."""
    keys = ("ca_file", "cache_seconds", "groups", "timeout", "url", "user_dn")
    f = ctx.fields(value, path, keys, ("groups", "url", "user_dn"))
    if f is None or not {"groups", "url", "user_dn"} <= f.keys():
        return None
    before = len(ctx.problems)
    given: dict[str, Any] = {}
    for key in ("url", "user_dn", "ca_file"):
        if key in f:
            given[key] = ctx.string(f[key], f"{path}.{key}")
    for key in ("timeout", "cache_seconds"):
        if key in f:
            given[key] = ctx.number(f[key], f"{path}.{key}")
    groups = {role: ctx.string(dn, p) for role, p, dn in ctx.named(f["groups"], f"{path}.groups")}
    if len(ctx.problems) > before:
        return None
    settings = LdapRoleSettings(groups={role: dn for role, dn in groups.items() if dn is not None},
                                **given)
    for key, reason in settings.check():
        ctx.err(f"{path}.{key}", reason)
    return settings
