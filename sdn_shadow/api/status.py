"""The picture `sdn-shadow status` draws (pure): API answers -> `StatusView` -> text lines.

`build_view` takes the answers of GET /health, /fabric, /networks, /routing,
/alerts?state=open, /blocks and the last /events; `render` draws the view
in aligned columns no wider than 100 with rates in bit/s units. The view's
`to_dict` is what `--json` prints (rates in bytes/s, as the API has them).
`api.status_command` fetches and prints.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

WIDTH = 100
MAX_ROWS = 10  # rows per list in the picture; --json has them all
EVENT_KEYS = ("path", "service", "action", "source", "result", "instances")


@dataclass(frozen=True, slots=True)
class SwitchRow:
    """One switch: connected, and synced (its flows agree with the controller's plan)."""

    name: str
    dpid: int
    connected: bool
    synced: bool
    flows: int


@dataclass(frozen=True, slots=True)
class NetworkRow:
    """One network: its shadow's state and allocation (bytes/s)."""

    name: str
    hosts: int
    shadow: str  # none | standing by | active
    swapped: int  # hosts whose twin is the primary now
    strategy: str | None = None
    held: float | None = None
    point: float | None = None
    upper: float | None = None


@dataclass(frozen=True, slots=True)
class ClientRow:
    """A client not in its default place: on the shadow path, steered, served by its twin."""

    network: str
    host: str
    path: str
    service: str
    served_by: str
    role_swapped: bool
    taken_over: bool


@dataclass(frozen=True, slots=True)
class LinkRow:
    """One link direction: measured rate, forecast and interval, capacity, held (bytes/s)."""

    src: str
    dst: str
    failed: bool
    demand: float | None
    point: float | None
    lower: float | None
    upper: float | None
    capacity: float | None
    held: float


@dataclass(frozen=True, slots=True)
class AlertRow:
    """An open alert the shadows' watch raised."""

    id: int
    network: str
    kind: str
    severity: str
    sources: tuple[str, ...]
    raised: float


@dataclass(frozen=True, slots=True)
class BlockRow:
    """A source kept out of (or metered into) a primary network, until `until`."""

    network: str
    source: str
    kind: str
    action: str
    meter_mbps: float | None
    until: float | None


@dataclass(frozen=True, slots=True)
class EventRow:
    """One controller event, in a line."""

    id: int
    t: float
    kind: str
    text: str


@dataclass(frozen=True, slots=True)
class StatusView:
    """Everything the picture shows; `at` is the controller's clock."""

    at: float
    version: str
    switches: tuple[SwitchRow, ...]
    networks: tuple[NetworkRow, ...]
    clients: tuple[ClientRow, ...]
    failed_links: tuple[str, ...]
    scaling: dict[str, int]
    links: tuple[LinkRow, ...]
    links_total: int
    alerts: tuple[AlertRow, ...]
    blocks: tuple[BlockRow, ...]
    events: tuple[EventRow, ...]
    rate_unit: str = "bytes/s"

    def to_dict(self) -> dict[str, Any]:
        """JSON form (lists for tuples)."""
        return asdict(self)


# --- pure: API answers -> StatusView --------------------------------------------------


def build_view(raw: Mapping[str, Any], top: int = 5, last: int = 8) -> StatusView:
    """The view of the API answers `raw` (health, fabric, networks, routing, alerts, blocks,
    events): the `top` busiest links and the `last` events."""
    fabric, routing = raw["fabric"], raw.get("routing") or {}
    taken = set(routing.get("taken_over", ()))
    networks, clients = [], []
    for net in raw.get("networks", ()):
        hosts, shadow = net.get("hosts", ()), net.get("shadow")
        alloc = (shadow or {}).get("allocation") or {}
        state = "none" if shadow is None else "active" if shadow["active"] else "standing by"
        networks.append(NetworkRow(net["name"], len(hosts), state,
                                   sum(bool(h.get("role_swapped")) for h in hosts),
                                   alloc.get("strategy"), alloc.get("held"), alloc.get("point"),
                                   alloc.get("upper")))
        for h in hosts:
            row = ClientRow(net["name"], h["name"], h.get("path", "primary"),
                            h.get("service", "primary"), h.get("served_by", "itself"),
                            bool(h.get("role_swapped")), f"{net['name']}/{h['name']}" in taken)
            if (row.path, row.service, row.served_by) != ("primary", "primary", "itself") \
                    or row.role_swapped or row.taken_over:
                clients.append(row)
    links = [LinkRow(x["src"], x["dst"], bool(x.get("failed")), x.get("demand"),
                     *_forecast(x.get("forecast")), x.get("capacity"), x.get("held") or 0.0)
             for x in fabric.get("links", ())]
    links.sort(key=lambda r: (-(r.demand or 0.0), -(r.point or 0.0), r.src, r.dst))
    alerts = [AlertRow(a["id"], a["network"], a["kind"], a.get("severity", ""),
                       tuple(a.get("sources", ())), a.get("raised", 0.0))
              for a in raw.get("alerts", ()) if a.get("state", "open") == "open"]
    blocks = [BlockRow(b["network"], b["source"], b.get("kind", ""), b.get("action", "drop"),
                       b.get("meter_mbps"), b.get("until"))
              for b in raw.get("blocks", ())]
    events = [EventRow(e.get("id", 0), e.get("t", 0.0), e.get("kind", "?"), event_text(e))
              for e in list(raw.get("events", ()))[-last:]] if last else []
    return StatusView(
        at=fabric.get("at") or 0.0, version=(raw.get("health") or {}).get("version", "?"),
        switches=tuple(SwitchRow(s["name"], s["dpid"], s["connected"], s["synced"],
                                 s.get("flows", 0)) for s in fabric.get("switches", ())),
        networks=tuple(networks), clients=tuple(clients),
        failed_links=tuple(routing.get("failed_links", ())),
        scaling=dict(routing.get("scaling") or {}), links=tuple(links[:top]),
        links_total=len(links), alerts=tuple(alerts), blocks=tuple(blocks),
        events=tuple(events))


def _forecast(f: Mapping[str, float] | None) -> tuple[float | None, float | None, float | None]:
    if not f:
        return None, None, None
    return f.get("point"), f.get("lower"), f.get("upper")


def event_text(event: Mapping[str, Any]) -> str:
    """`tenant-a/h1 path=shadow: api (ops): maintenance` and the like."""
    net, who = event.get("network"), event.get("client") or event.get("at")
    subject = f"{net}/{who}" if net and who else net or event.get("link") or ""
    parts = [str(subject)] if subject else []
    parts += [f"{k}={event[k]}" for k in EVENT_KEYS if event.get(k) not in (None, "")]
    text = " ".join(parts)
    reason = event.get("reason")
    return f"{text}: {reason}" if text and reason else text or str(reason or "")


# --- pure: StatusView -> lines --------------------------------------------------------

def rate(value: float | None) -> str:
    """Bytes/s as `12.3 Mbit/s` (`-` when unknown)."""
    if value is None:
        return "-"
    unit, scale = _unit(value)
    return f"{value * 8 / scale:.1f} {unit}" if scale > 1 else f"{value * 8:.0f} bit/s"


def interval(lower: float | None, upper: float | None) -> str:
    """A forecast interval in the unit of its upper bound: `10.1-18.2 Mbit/s`."""
    if lower is None or upper is None:
        return "-"
    unit, scale = _unit(max(abs(lower), abs(upper)))
    return f"{lower * 8 / scale:.1f}-{upper * 8 / scale:.1f} {unit}"


def _unit(value: float) -> tuple[str, float]:
    bits = abs(value) * 8
    for unit, scale in (("Gbit/s", 1e9), ("Mbit/s", 1e6), ("kbit/s", 1e3)):
        if bits >= scale:
            return unit, scale
    return "bit/s", 1.0


def span(seconds: float | None) -> str:
    """A duration as `45s`, `4m05s`, `3h12m` or `2d03h` (`-` when unknown)."""
    if seconds is None:
        return "-"
    s = max(0, int(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    if s < 86400:
        return f"{s // 3600}h{s % 3600 // 60:02d}m"
    return f"{s // 86400}d{s % 86400 // 3600:02d}h"


def table(header: Sequence[str], rows: Sequence[Sequence[str]], right: Sequence[int] = (),
          width: int = WIDTH, shrink: int | None = None) -> list[str]:
    """Aligned columns, two spaces apart; columns in `right` right-aligned. Column `shrink`
    is narrowed (long cells cut in the middle, `~`) so the lines fit `width`."""
    widths = [max(len(r[i]) for r in (header, *rows)) for i in range(len(header))]
    over = sum(widths) + 2 * (len(widths) - 1) - width
    if shrink is not None and over > 0:
        widths[shrink] = max(len(header[shrink]), 6, widths[shrink] - over)

    def cell(i: int, text: str) -> str:
        w = widths[i]
        if len(text) > w:  # cut in the middle: both ends of `s1>s2` or `net/host` stay
            head = (w - 1) // 2
            text = text[:head] + "~" + text[len(text) - (w - 1 - head):]
        return text.rjust(w) if i in right else text.ljust(w)
    return ["  ".join(cell(i, c) for i, c in enumerate(cells)).rstrip()
            for cells in (header, *rows)]


def _capped(rows: Sequence[Any], what: str) -> tuple[Sequence[Any], list[str]]:
    if len(rows) <= MAX_ROWS:
        return rows, []
    return rows[:MAX_ROWS], [f"  ... {len(rows) - MAX_ROWS} more {what} (--json lists all)"]


def render(view: StatusView, width: int = WIDTH) -> list[str]:
    """The picture: one string per line, none longer than `width`."""
    sw = view.switches
    up, synced = sum(s.connected for s in sw), sum(s.connected and s.synced for s in sw)
    active = sum(n.shadow == "active" for n in view.networks)
    shadows = sum(n.shadow != "none" for n in view.networks)
    lines = [f"sdn-shadow {view.version}, controller clock "
             f"{time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(view.at))}",
             f"switches {up}/{len(sw)} connected, {synced}/{len(sw)} synced | shadows "
             f"{active}/{shadows} active | open alerts {len(view.alerts)} | blocks "
             f"{len(view.blocks)}", ""]
    order = sorted(sw, key=lambda s: (s.connected and s.synced, s.name))  # trouble first
    shown, more = _capped(order, "switches")
    lines += table(("SWITCH", "DPID", "STATE", "FLOWS"),
                   [(s.name, f"{s.dpid:#x}", _state(s), str(s.flows)) for s in shown],
                   right=(3,)) + more + [""]
    lines += table(("NETWORK", "HOSTS", "SHADOW", "SWAPPED", "STRATEGY", "HELD", "POINT",
                    "UPPER"),
                   [(n.name, str(n.hosts), n.shadow, f"{n.swapped}/{n.hosts}" if n.swapped
                     else "-", n.strategy or "-", rate(n.held), rate(n.point), rate(n.upper))
                    for n in view.networks], right=(1, 5, 6, 7), width=width, shrink=0) + [""]
    if view.clients:
        shown, more = _capped(view.clients, "clients")
        lines += table(("CLIENT", "PATH", "SERVICE", "SERVED BY", "NOTE"),
                       [(f"{c.network}/{c.host}", c.path, c.service, c.served_by,
                         ", ".join(t for t, on in (("role swapped", c.role_swapped),
                                                   ("taken over", c.taken_over)) if on))
                        for c in shown], width=width, shrink=0) + more
    else:
        lines.append("clients: every one on its primary path, served by its own host")
    if view.failed_links:
        lines.append(f"failed links: {', '.join(view.failed_links)}")
    if view.scaling:
        lines.append("scaling asked: " + ", ".join(f"{k} x{v}"
                                                   for k, v in sorted(view.scaling.items())))
    lines.append("")
    lines += table((f"LINK ({len(view.links)}/{view.links_total})", "DEMAND", "FORECAST",
                    "INTERVAL", "CAPACITY", "HELD", "USE"),
                   [(f"{x.src}>{x.dst}", rate(x.demand), rate(x.point),
                     interval(x.lower, x.upper), rate(x.capacity), rate(x.held), _use(x))
                    for x in view.links], right=(1, 2, 3, 4, 5, 6), width=width,
                   shrink=0) + [""]
    if view.alerts:
        shown, more = _capped(view.alerts, "alerts")
        lines += table(("ALERT", "NETWORK", "KIND", "SEVERITY", "AGE", "SOURCES"),
                       [(f"#{a.id}", a.network, a.kind, a.severity, span(view.at - a.raised),
                         ", ".join(a.sources)) for a in shown], right=(4,)) + more
    else:
        lines.append("no open alerts")
    lines.append("")
    if view.blocks:
        shown, more = _capped(view.blocks, "blocks")
        lines += table(("BLOCKED", "NETWORK", "ACTION", "KIND", "LEFT"),
                       [(b.source, b.network, b.action if b.meter_mbps is None
                         else f"meter {rate(b.meter_mbps * 1e6 / 8)}", b.kind,
                         "until lifted" if b.until is None else span(b.until - view.at))
                        for b in shown], right=(4,)) + more
    else:
        lines.append("no blocks in force")
    lines.append("")
    if view.events:
        lines += table(("EVENT", "AGE", "KIND", "WHAT"),
                       [(str(e.id), span(view.at - e.t), e.kind, e.text) for e in view.events],
                       right=(0, 1))
    else:
        lines.append("no events")
    return [line if len(line) <= width else line[:width - 3] + "..." for line in lines]


def _use(link: LinkRow) -> str:
    """Measured share of the capacity; DOWN for a link the controller failed over."""
    if link.failed:
        return "DOWN"
    return f"{link.demand / link.capacity:.0%}" if link.demand is not None and link.capacity \
        else "-"


def _state(s: SwitchRow) -> str:
    if not s.connected:
        return "DISCONNECTED"
    return "connected, synced" if s.synced else "connected, NOT SYNCED"
