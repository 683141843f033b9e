"""`networks.NAME.shadow.mirror`: mirror sessions, their sources, filters and sampling."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from .context import Context
from .drafts import NetDraft, ShadowDraft
from .model import DELIVERIES, DIRECTIONS, MatchFilter, MirrorSession
from .shapes import NAME_REASON, name_problem

IP_PROTOS = {"icmp": 1, "tcp": 6, "udp": 17}
#: Sampling uses OVS select groups with at most this many equal-weight buckets.
MAX_SAMPLE_BUCKETS = 256

_PREFIX_REASON = "must be an IPv4 address or network like 10.0.0.0/24"
_SESSION_KEYS = ("deliver", "direction", "hosts", "match", "name", "ports", "sample", "to",
                 "truncate")
_MATCH_KEYS = ("dst", "dst_port", "proto", "src", "src_port")


def sessions(ctx: Context, net: NetDraft, shadow: ShadowDraft) -> None:
    """The shadow's sessions, parsed once every port of the file is claimed."""
    items = ctx.items(shadow.mirror, f"{shadow.path}.mirror")
    for index, (path, item) in enumerate(items):
        parsed = session(ctx, net, shadow, index, path, item)
        if parsed is not None:
            shadow.sessions.append(parsed)


def session(ctx: Context, net: NetDraft, shadow: ShadowDraft, index: int, path: str,
            item: Any) -> MirrorSession | None:
    """One mirror session; its name is unique in the file."""
    before = len(ctx.problems)
    f = ctx.fields(item, path, _SESSION_KEYS, ("to",))
    if f is None:
        return None

    name: str | None = f"{net.name}.mirror{index}"
    name_path = path
    if f.get("name") is not None:
        name_path = f"{path}.name"
        name = f["name"] if isinstance(f["name"], str) else None
        problem = NAME_REASON if name is None else name_problem(name)
        if problem is not None:
            ctx.err(name_path, problem)
            name = None
    if name is not None:
        if name in ctx.session_names:
            used_by = ctx.session_names[name]
            ctx.err(name_path, f"mirror session name {name} already used by {used_by}")
        else:
            ctx.session_names[name] = path

    found = sources(ctx, net, path, f)

    direction = f.get("direction")
    if direction is None:
        direction = "both"
    elif not isinstance(direction, str) or direction not in DIRECTIONS:
        ctx.err(f"{path}.direction", f"must be one of: {', '.join(DIRECTIONS)}")

    deliver = f.get("deliver")
    if deliver is None:
        deliver = "port"
    elif not isinstance(deliver, str) or deliver not in DELIVERIES:
        ctx.err(f"{path}.deliver", f"must be one of: {', '.join(DELIVERIES)} (port: copies "
                "addressed to their twin reach its port, not its network stack; stack: "
                "byte-exact copies the twin's stack receives and may answer)")

    filter_ = match(ctx, f.get("match"), f"{path}.match")
    sample = _sample(ctx, f.get("sample"), f"{path}.sample")

    truncate = None
    if f.get("truncate") is not None:
        truncate = ctx.int_in(f["truncate"], f"{path}.truncate", 14, 65535)
        if truncate is not None and sample < 1:
            # OVS 3.1 ignores output_trunc inside group buckets, and sampling needs one.
            ctx.err(f"{path}.truncate", "cannot be combined with sample < 1 (Open vSwitch "
                    "ignores truncation inside the select group that samples)")

    to: list[str] = []
    if "to" in f:
        for item_path, dest in ctx.items(f["to"], f"{path}.to", non_empty=True):
            if ctx.string(dest, item_path) is None:
                continue
            if shadow.hosts_known and dest not in shadow.hosts:
                ctx.err(item_path, f"no shadow host {dest} in {net.name}")
            elif dest in to:
                ctx.err(item_path, f"duplicate shadow host {dest}")
            else:
                to.append(dest)

    if len(ctx.problems) > before or name is None or filter_ is None:
        return None
    return MirrorSession(name, tuple(found), direction, filter_, sample, truncate, tuple(to),
                         deliver)


def _sample(ctx: Context, value: Any, path: str) -> float:
    """The fraction of packets copied, in (0, 1] and at least one bucket; 1 when unset."""
    if value is None:
        return 1.0
    number = ctx.number(value, path)
    if number is None:
        return 1.0
    if not 0 < number <= 1:
        ctx.err(path, "must be in (0, 1]")
    elif Fraction(number).limit_denominator(MAX_SAMPLE_BUCKETS) == 0:
        ctx.err(path, f"must be at least 1/{MAX_SAMPLE_BUCKETS}")
    else:
        return float(number)
    return 1.0


def sources(ctx: Context, net: NetDraft, path: str, f: dict[Any, Any]) -> list[str]:
    """A session's source primary hosts, from `hosts` or from `ports`."""
    has_hosts, has_ports = f.get("hosts") is not None, f.get("ports") is not None
    found: list[str] = []
    if has_hosts and has_ports:
        ctx.err(path, "has both hosts and ports (give one)")
    elif not has_hosts and not has_ports:
        ctx.err(path, "needs hosts or ports")
    elif has_hosts:
        for item_path, host in ctx.items(f["hosts"], f"{path}.hosts", non_empty=True):
            if ctx.string(host, item_path) is None:
                continue
            if net.hosts_known and host not in net.hosts:
                ctx.err(item_path, f"no primary host {host} in {net.name}")
            elif host in found:
                ctx.err(item_path, f"duplicate host {host}")
            else:
                found.append(host)
    else:
        port_hosts = {
            (h["switch"], h["port"]): name
            for name, h in net.hosts.items()
            if h["switch"] is not None and h["port"] is not None
        }
        for item_path, value in ctx.items(f["ports"], f"{path}.ports", non_empty=True):
            ref = ctx.port_ref(value, item_path)
            if ref is None:
                continue
            owner = port_hosts.get((ref.switch, ref.port))
            if owner is None:
                user = ctx.ports.get((ref.switch, ref.port))
                hint = f" (it is {user})" if user else ""
                ctx.err(item_path, f"{ref} is not a host port of {net.name}{hint}")
            elif owner in found:
                ctx.err(item_path, f"duplicate source {ref} (host {owner})")
            else:
                found.append(owner)
    return found


def match(ctx: Context, value: Any, path: str) -> MatchFilter | None:
    """Which packets a session copies: protocol, source and destination, ports."""
    if value is None:
        return MatchFilter()
    f = ctx.fields(value, path, _MATCH_KEYS)
    if f is None:
        return None
    proto: int | None = None
    proto_ok = True
    if f.get("proto") is not None:
        raw = f["proto"]
        if isinstance(raw, str) and raw.strip().lower() in IP_PROTOS:
            proto = IP_PROTOS[raw.strip().lower()]
        elif type(raw) is int and 0 <= raw <= 255:
            proto = raw
        else:
            ctx.err(f"{path}.proto", "must be tcp, udp, icmp or a protocol number 0..255")
            proto_ok = False
    nets = {}
    for key in ("src", "dst"):
        if f.get(key) is not None:
            nets[key] = ctx.ip_network(f[key], f"{path}.{key}", _PREFIX_REASON)
    ports = {}
    for key in ("src_port", "dst_port"):
        if f.get(key) is None:
            continue
        ports[key] = ctx.int_in(f[key], f"{path}.{key}", 1, 65535)
        if proto_ok and proto not in (IP_PROTOS["tcp"], IP_PROTOS["udp"]):
            ctx.err(f"{path}.{key}", "requires proto tcp or udp")
    return MatchFilter(
        ip_proto=proto,
        src=nets.get("src"),
        dst=nets.get("dst"),
        src_port=ports.get("src_port"),
        dst_port=ports.get("dst_port"),
    )
