"""Frozen, typed configuration objects; built only by `parse.py`, which validates."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import urlsplit

from sdn_shadow.directory.dn import try_norm_dn
from sdn_shadow.directory.rules import MappingRule

DIRECTIONS = ("in", "out", "both")
#: Where mirror copies addressed to their twin go: its port only, or on into its stack.
DELIVERIES = ("port", "stack")
PLACEHOLDER = "{user}"  # where the login name goes in api.ldap.user_dn
MAX_SHOWN = 10_000  # characters of a key path or reason shown before it is shortened


class ConfigError(Exception):
    """One or more problems in a configuration, each a `(key path, reason)` pair."""

    def __init__(self, problems: list[tuple[str, str]], source: str = "") -> None:
        self.problems = [(shorten(path), shorten(reason)) for path, reason in problems]
        self.source = source
        super().__init__("\n".join(self.lines()))

    def lines(self) -> list[str]:
        """`SOURCE: path: reason` for every problem (no `SOURCE: ` when unknown)."""
        prefix = f"{self.source}: " if self.source else ""
        return [f"{prefix}{path}: {reason}" for path, reason in self.problems]


def shorten(text: str, limit: int = MAX_SHOWN) -> str:
    """`text`, or its start and its length when longer than `limit` (a name or value a
    careless or hostile file made huge stays one readable line)."""
    if len(text) <= limit:
        return text
    return f"{text[:limit // 2]}... ({len(text)} characters)"


@dataclass(frozen=True, slots=True)
class PortRef:
    """A switch port, written `switch:port` in YAML."""

    switch: str
    port: int

    def __str__(self) -> str:
        return f"{self.switch}:{self.port}"


@dataclass(frozen=True, slots=True)
class Switch:
    """A datapath of the fabric."""

    name: str
    dpid: int


@dataclass(frozen=True, slots=True)
class Link:
    """A fabric link between two switch ports; capacity in Mbit/s when known."""

    a: PortRef
    b: PortRef
    capacity_mbps: float | None = None


@dataclass(frozen=True, slots=True)
class Host:
    """A host attachment of a primary network."""

    name: str
    switch: str
    port: int
    mac: str
    ip: ipaddress.IPv4Address


@dataclass(frozen=True, slots=True)
class ShadowHost:
    """A twin: stands for host `primary` (same IP; same MAC unless configured).

    YAML names that host with the twin's `twin:` key (`h2s: {twin: h2}`: h2s is h2's twin).
    """

    name: str
    primary: str
    switch: str
    port: int
    mac: str
    ip: ipaddress.IPv4Address
    mirror_vlan: int
    """Fabric VLAN that carries mirrored copies to this host (assigned if not given)."""


@dataclass(frozen=True, slots=True)
class MatchFilter:
    """Which packets a mirror session copies; `None` means any."""

    ip_proto: int | None = None
    src: ipaddress.IPv4Network | None = None
    dst: ipaddress.IPv4Network | None = None
    src_port: int | None = None
    dst_port: int | None = None


@dataclass(frozen=True, slots=True)
class MirrorSession:
    """Copies traffic of primary `sources` (host names) to shadow hosts `to`."""

    name: str
    sources: tuple[str, ...]
    direction: str
    match: MatchFilter
    sample: float
    truncate: int | None
    to: tuple[str, ...]
    deliver: str = "port"
    """port: copies addressed to their twin are readdressed so its stack drops them."""


STRATEGIES = ("conservative", "aggressive", "dynamic")


@dataclass(frozen=True, slots=True)
class AllocationSettings:
    """How much capacity a shadow holds, sized from its network's forecast (Mbit/s)."""

    strategy: str = "conservative"
    """conservative: the interval's upper bound; aggressive: the point; dynamic: between."""
    floor: float = 0.0
    """Never hold less than this (Mbit/s)."""
    hysteresis: float = 0.1
    """Re-size only when the target moves by more than this fraction of what is held."""
    forecast_only: bool = False
    """Compute and report, but police nothing on the switches."""
    instance_capacity: float | None = None
    """Mbit/s one shadow instance serves: enables the scale up/down recommendation."""
    instances: int = 1
    """Shadow instances running now."""


@dataclass(frozen=True, slots=True)
class Service:
    """A primary host whose new connections may be steered to its twin (same switch)."""

    host: str
    capacity: float | None = None
    """Mbit/s the host serves: preemptive routing steers before its forecast load fills it."""
    twin_capacity: float | None = None
    """Mbit/s the twin serves (None: the host's capacity)."""


@dataclass(frozen=True, slots=True)
class LdapMirrorSettings:
    """The controller keeps the shadow's LDAP subtree a copy of the primary's (`shadow.ldap`).

    Every `interval` seconds it copies each entry under `primary_base` to
    under `shadow_base` (DNs and DN values inside the subtree rebased, `rules`
    applied), as `sdn-shadow ldap mirror --follow` does.
    """

    url: str
    """ldap://HOST[:PORT] or ldaps://HOST[:PORT] of the server holding both subtrees."""
    bind_dn: str
    """DN the controller binds as (it writes under `shadow_base`)."""
    password_file: str
    """File whose first line is the bind password; read when the controller starts."""
    primary_base: str
    """Base DN of the primary network's configuration subtree (only read)."""
    shadow_base: str
    """Base DN the shadow's copy lives under; neither base may be inside the other."""
    interval: float = 5.0
    """Seconds between rounds (an unreachable server is retried with back-off)."""
    revert_drift: bool = False
    """Put back changes made directly in the shadow; False: report them and keep them."""
    rules: tuple[MappingRule, ...] = ()
    """How the shadow's attribute values differ from the primary's, applied in order."""
    ca_file: str = ""
    """ldaps://: CA certificates (PEM) the server's must chain to; "" = the system's."""


RESPONSE_MODES = ("off", "dry-run", "live")
RESPONSE_ACTIONS = ("drop", "meter")
RESPONSE_KINDS = ("port_scan", "syn_flood", "amplification", "arp_spoof")
"""The alert kinds a response acts on unless `kinds` says otherwise (volume only logs)."""


@dataclass(frozen=True, slots=True)
class ResponseSettings:
    """What the controller does about an alert: block (drop or meter) its sources in the
    primary, for a while."""

    mode: str = "off"
    """off: alerts only; dry-run: also log the blocks it would install; live: install them."""
    ttl: float = 300.0
    """Seconds a block stays before the controller lifts it."""
    kinds: tuple[str, ...] = RESPONSE_KINDS
    """Alert kinds that get a response."""
    protected: tuple[str, ...] = ()
    """Hosts never blocked: primary or shadow host names, IPv4 addresses or networks, MACs."""
    max_sources: int = 10
    """Sources blocked per alert at most (its top ones by packets)."""
    action: str = "drop"
    """How a source is blocked: drop everything it sends, or meter it to `meter_mbps`."""
    meter_mbps: float = 1.0
    """Mbit/s a metered source may still send into the network (per switch)."""


@dataclass(frozen=True, slots=True)
class DetectSettings:
    """Anomaly detection on the copies a shadow's hosts receive."""

    interval: float = 1.0
    """Seconds per feature interval."""
    on: tuple[str, ...] = ()
    """Shadow hosts whose switch port is watched; empty: every one a mirror session copies to."""
    baseline: tuple[str, ...] = ()
    """Capture files of normal traffic the volume baseline and ARP bindings start from."""
    learn: float = 60.0
    """Seconds of live traffic (without findings) added to the baseline at start."""
    thresholds: tuple[tuple[str, float], ...] = ()
    """Detector parameters changed from their defaults (see AnomalyDetector)."""
    response: ResponseSettings = ResponseSettings()


@dataclass(frozen=True, slots=True)
class Shadow:
    """The shadow of one primary network: its twins and mirror sessions."""

    vlan: int
    hosts: tuple[ShadowHost, ...]
    mirror: tuple[MirrorSession, ...]
    allocation: AllocationSettings = AllocationSettings()
    clients: tuple[tuple[str, str], ...] = ()
    """(primary host, "primary"|"shadow"): which paths carry each client's traffic."""
    services: tuple[Service, ...] = ()
    """Hosts whose new connections can go to their twins (connection tracking at their
    switch)."""
    client_services: tuple[tuple[str, str], ...] = ()
    """(primary host, "primary"|"twin"): where each client's *new* connections to the
    service hosts go; established ones stay where they started."""
    active: bool = False
    """The shadow serves the network: every primary host with a twin of its MAC and IP
    is served from the twin's port, and the primary hosts stand by."""
    ldap: LdapMirrorSettings | None = None
    """The controller mirrors the primary's LDAP configuration subtree into the shadow's."""
    detect: DetectSettings | None = None
    """Anomaly detection on the mirrored copies, and the response to its alerts."""

    def host(self, name: str) -> ShadowHost:
        """The shadow host called `name`."""
        return next(h for h in self.hosts if h.name == name)


@dataclass(frozen=True, slots=True)
class Network:
    """A primary virtual network: its own address space, hosts and fabric VLAN."""

    name: str
    cidr: ipaddress.IPv4Network
    vlan: int
    hosts: tuple[Host, ...]
    shadow: Shadow | None = None

    def host(self, name: str) -> Host:
        """The primary host called `name`."""
        return next(h for h in self.hosts if h.name == name)


ROLES = ("viewer", "operator", "admin")
"""API roles, each allowed what the ones before it are."""


@dataclass(frozen=True, slots=True)
class TlsFiles:
    """PEM files for a TLS endpoint: our certificate and key, and the CA that signs peers."""

    cert: str
    key: str
    ca: str | None = None
    """Peers must present a certificate this CA signed (the OpenFlow channel needs it)."""


@dataclass(frozen=True, slots=True)
class ControllerSettings:
    """Controller-wide settings."""

    stats_interval: float = 2.0
    """Seconds between mirror-counter polls."""
    tls: TlsFiles | None = None
    """Serve OpenFlow over TLS (switches connect with `ssl:`); plain TCP when unset."""


@dataclass(frozen=True, slots=True)
class LdapRoleSettings:
    """API users whose role comes from LDAP group membership (HTTP Basic, checked by a bind).

    `user_dn` has `{user}` where the login name goes; `groups` maps a role to
    a group DN, and a user gets the highest role whose group lists them.
    """

    url: str
    user_dn: str
    groups: dict[str, str]
    timeout: float = 5.0
    cache_seconds: float = 30.0
    ca_file: str = ""  # ldaps: CA bundle to verify the server with ("" = the system's)

    def check(self) -> list[tuple[str, str]]:
        """Problems with these settings as (key, reason); empty when they can be used."""
        errors: list[tuple[str, str]] = []
        parts = urlsplit(self.url)
        try:
            bad_port = parts.port == 0
        except ValueError:  # not a number, or above 65535
            bad_port = True
        if parts.scheme not in ("ldap", "ldaps") or not parts.hostname:
            errors.append(("url", "must be ldap://HOST[:PORT] or ldaps://HOST[:PORT]"))
        elif bad_port:
            errors.append(("url", "the port must be a number from 1 to 65535"))
        elif parts.path or parts.query or parts.fragment or parts.username:
            errors.append(("url", "only scheme, host and port (no path, not even a '/')"))
        count = self.user_dn.count(PLACEHOLDER)
        if count != 1:
            errors.append(("user_dn", f"must contain {PLACEHOLDER} exactly once, not {count} "
                                      "times"))
        elif try_norm_dn(self.user_dn.replace(PLACEHOLDER, "x")) is None or \
                "=" not in self.user_dn.partition(PLACEHOLDER)[0]:
            errors.append(("user_dn", f"not a DN with {PLACEHOLDER} as an attribute value, "
                                      "e.g. uid={user},ou=people,dc=example,dc=org"))
        if not isinstance(self.groups, dict) or not self.groups:
            errors.append(("groups", f"needs at least one role: group DN ({', '.join(ROLES)})"))
        else:
            for role, group in self.groups.items():
                if role not in ROLES:
                    errors.append((f"groups.{role}", f"not a role: use {', '.join(ROLES)}"))
                elif not isinstance(group, str) or not group.strip() or \
                        try_norm_dn(group) is None:
                    errors.append((f"groups.{role}", "must be a group's DN"))
        if not isinstance(self.timeout, int | float) or not 0 < self.timeout <= 300:
            errors.append(("timeout", "seconds, more than 0 and at most 300"))
        if not isinstance(self.cache_seconds, int | float) or self.cache_seconds < 0:
            errors.append(("cache_seconds", "seconds, 0 (no cache) or more"))
        return errors


@dataclass(frozen=True, slots=True)
class ApiSettings:
    """The REST API (off unless `listen` is set)."""

    listen: str | None = None
    """address:port to serve on, e.g. 127.0.0.1:8181."""
    tokens: str | None = None
    """The token file (names, roles, SHA-256 of tokens): `sdn-shadow token add` makes it."""
    store: str | None = None
    """SQLite file keeping the API's changes and runtime state across restarts."""
    tls: TlsFiles | None = None
    """Serve HTTPS with this certificate and key."""
    ldap: LdapRoleSettings | None = None
    """Also accept LDAP users (HTTP Basic); roles from their groups."""
    max_body: int = 1 << 20
    """Largest request body in bytes (1 MiB); a larger one is answered 413 unread."""


@dataclass(frozen=True, slots=True)
class TelemetrySettings:
    """Statistics polling, the series store and the Prometheus endpoint."""

    port_interval: float = 1.0
    """Seconds between port stats requests (per switch)."""
    flow_interval: float = 1.0
    """Seconds between flow stats requests (client demand)."""
    meter_interval: float = 5.0
    """Seconds between meter stats requests."""
    window: int = 720
    """Points per series kept in memory for the forecaster."""
    history: str | None = None
    """SQLite file keeping series across restarts; None keeps them in memory only."""
    retention: float = 7 * 86400.0
    """Seconds of history kept in the SQLite file."""
    metrics: str | None = None
    """`host:port` of the Prometheus text endpoint; None: no endpoint."""
    metrics_token: str | None = None
    """A file holding the bearer token scrapes must send; None: the endpoint is open."""


@dataclass(frozen=True, slots=True)
class ForecastSettings:
    """How demand series are forecast."""

    interval: float = 10.0
    """Seconds between forecast runs."""
    refit: float = 0.0
    """Seconds a fitted model serves before it is refitted (0: every round); kept in
    `telemetry.history`, a restarted controller forecasts from it at once."""
    horizon: float = 30.0
    """Seconds ahead the forecast looks."""
    period: float | None = None
    """Seasonal period in seconds (a day: 86400), or None: a hint, each series' period is
    checked against its data (see `period_check`)."""
    period_check: float = 3600.0
    """Seconds between checks of a series' period against its data."""
    level: float = 0.9
    """Prediction interval level, in (0, 1)."""
    window: int = 64
    """Recent points the model regresses on."""
    log: bool = True
    """Model log(1 + rate): rates are positive and multiplicative."""
    max_growth: float = 2.0
    """A forecast (point and bounds) is at most this times the series' peak in its history.

    A series that jumps (a link that starts carrying a moved client, a client
    waking up) leaves calibration errors the size of the jump; in log space
    they become a multiplicative interval that can claim astronomic rates for
    a while. Demand growing more than this within one horizon is not planned for.
    """


@dataclass(frozen=True, slots=True)
class FailoverSettings:
    """When traffic leaves a failed link or host, and when it comes back."""

    wait_to_restore: float = 5.0
    """Seconds a link or host must stay healthy before traffic returns to it."""
    hold: float = 10.0
    """Seconds after a failover before failback may happen (flap damping)."""
    bfd: bool = False
    """Run BFD on every fabric link (set on the switch's interfaces through ovsdb)."""
    bfd_interval_ms: int = 10
    """BFD min_tx and min_rx in milliseconds; detection takes about 3 of them."""
    bfd_grace: float = 3.0
    """Seconds after BFD starts on a link in which its liveness flaps are ignored."""
    probe_interval: float | None = None
    """Seconds between health probes (ARP) of every primary host; None: no probes."""
    probe_misses: int = 3
    """Unanswered probes in a row that make a host down."""
    role_swap: bool = False
    """When a taken-over host is healthy again, its twin keeps serving and the recovered
    host becomes the twin (it receives the mirror copies) instead of traffic moving back."""


ROUTING_MODES = ("preemptive", "reactive")


@dataclass(frozen=True, slots=True)
class RoutingSettings:
    """Preemptive routing: utilisation thresholds, confirmation, the hold before moving back."""

    enabled: bool = True
    upper: float = 0.8
    """Move clients off a link forecast above this share of its capacity."""
    lower: float = 0.6
    """Move them back once the forecast stays below this share for `hold` seconds."""
    hold: float = 30.0
    confirm: int = 2
    """Forecast rounds running a link must be over `upper` before clients move."""
    mode: str = "preemptive"
    """`preemptive` plans from the forecast; `reactive` from the latest measured rate."""


@dataclass(frozen=True, slots=True)
class Config:
    """A whole validated configuration."""

    switches: tuple[Switch, ...]
    links: tuple[Link, ...]
    networks: tuple[Network, ...]
    controller: ControllerSettings = ControllerSettings()
    telemetry: TelemetrySettings = TelemetrySettings()
    forecast: ForecastSettings = ForecastSettings()
    failover: FailoverSettings = FailoverSettings()
    routing: RoutingSettings = RoutingSettings()
    api: ApiSettings = ApiSettings()

    def switch(self, name: str) -> Switch:
        """The switch called `name`."""
        return next(s for s in self.switches if s.name == name)

    def network(self, name: str) -> Network:
        """The network called `name`."""
        return next(n for n in self.networks if n.name == name)
