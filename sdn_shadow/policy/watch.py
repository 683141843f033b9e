"""The shadows' watch: live detection on each watched shadow host, alerts, and the response.

Pure: the app hands over the frames its sniffers read (and the baseline
intervals it read from files); `advance(now)` judges what has closed and
returns events plus whether the block list changed, which the core turns
into flows.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

from sdn_shadow.analytics.alerts import Alert
from sdn_shadow.analytics.detector import AnomalyDetector
from sdn_shadow.analytics.features import Interval
from sdn_shadow.analytics.live import Decoded, LiveDetector
from sdn_shadow.config.model import Config, DetectSettings, Network
from sdn_shadow.policy.response import Block, Event, Responder

MAX_ALERTS = 1000  # closed alerts kept for the API (open ones are always kept)
LOST_EVERY = 60.0  # seconds between watch_lost events of one watched host
Destination = tuple[str, str]  # (network, shadow host)
BaselineSource = tuple[tuple[str, ...], float]  # capture files, interval seconds


@dataclass
class LiveAlert:
    """An alert raised on a shadow host's copies, with what the response did about it."""

    id: int
    network: str
    at: str
    alert: Alert
    raised: float
    closed: float | None = None
    response: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        """JSON form; times are seconds since the epoch."""
        return {"id": self.id, "network": self.network, "at": self.at,
                **self.alert.to_dict(), "state": "open" if self.closed is None else "closed",
                "raised": self.raised, "delay": round(self.raised - self.alert.start, 3),
                "closed": self.closed, "response": list(self.response)}


def watched(config: Config) -> dict[Destination, DetectSettings]:
    """Every watched (network, shadow host) and its network's detection settings."""
    out: dict[Destination, DetectSettings] = {}
    for net in config.networks:
        if net.shadow is None or net.shadow.detect is None:
            continue
        detect = net.shadow.detect
        hosts = detect.on or tuple(sorted({t for s in net.shadow.mirror for t in s.to}))
        for host in hosts:
            out[(net.name, host)] = detect
    return out


def detector_for(settings: DetectSettings) -> AnomalyDetector:
    """An unfitted detector with the settings' thresholds."""
    # Not third-party: config's `DetectSettings.thresholds` is typed tuple[str, float] but
    # holds the detector's whole-number parameters (scan_ports, ...) as ints; its type
    # is config/'s to fix. The parser only admits the detector's own parameter names.
    return AnomalyDetector(**dict(settings.thresholds))  # type: ignore[arg-type]


class ShadowWatch:
    """Detectors per watched shadow host, the alerts they raised, and the response's blocks."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.settings = watched(config)
        self.detectors: dict[Destination, LiveDetector] = {}
        self.baselines: dict[str, list[Interval]] = {}  # network -> intervals from its files
        self.baseline_read: dict[str, BaselineSource] = {}  # what those intervals came from
        self.alerts: deque[LiveAlert] = deque()
        self.open: dict[tuple[Destination, str, str], LiveAlert] = {}
        self.next_id = 1
        self.responder = Responder()
        self.lost_told: dict[Destination, float] = {}  # when a watch_lost event was last made

    def ports(self) -> dict[tuple[int, int], Destination]:
        """(dpid, port) of every watched shadow host."""
        dpids = {s.name: s.dpid for s in self.config.switches}
        out: dict[tuple[int, int], Destination] = {}
        for network, host in self.settings:
            shadow = self._network(network).shadow
            assert shadow is not None  # only networks with a shadow are watched
            twin = shadow.host(host)
            out[(dpids[twin.switch], twin.port)] = (network, host)
        return out

    def baselines_to_read(self) -> dict[str, BaselineSource]:
        """The baseline files (and interval) of each watched network not read as configured."""
        wanted = {n: (d.baseline, d.interval) for (n, _), d in self.settings.items()
                  if d.baseline}
        return {n: src for n, src in wanted.items() if self.baseline_read.get(n) != src}

    def set_baseline(self, network: str, source: BaselineSource,
                     intervals: Sequence[Interval]) -> None:
        """Baseline intervals for `network`'s detectors, read by the app from `source`."""
        self.baselines[network] = list(intervals)
        self.baseline_read[network] = source
        for key in [k for k in self.detectors if k[0] == network]:
            del self.detectors[key]  # started again on the new baseline at the next frames

    def take(self, now: float, destination: Destination, decoded: Decoded) -> Event | None:
        """Take what a watched shadow host received (ignored if it is no longer watched);
        an event when the reader has started losing frames (at most every LOST_EVERY s)."""
        detector = self._detector(now, destination)
        if detector is None:
            return None
        detector.take(decoded)
        if not decoded.lost or now - self.lost_told.get(destination, -LOST_EVERY) < LOST_EVERY:
            return None
        self.lost_told[destination] = now
        network, at = destination
        return {"t": now, "kind": "watch_lost", "network": network, "at": at,
                "lost": detector.lost, "read": detector.packets + detector.malformed,
                "reason": f"the watch on {at} fell behind: {detector.lost:,} frames lost, "
                          f"{detector.packets + detector.malformed:,} read (detection sees "
                          "less than arrived)"}

    def advance(self, now: float) -> tuple[list[Event], bool]:
        """Judge what has closed by `now`: events, and whether the block list changed."""
        events, changed = self.responder.expire(now)
        for destination, settings in self.settings.items():
            detector = self._started(now, destination, settings)
            opened, closed = detector.advance(now)
            for alert in opened:
                raised, blocked = self._raise(now, destination, alert)
                events += raised
                changed |= blocked
            for alert in closed:
                live = self.open.pop((destination, alert.kind, alert.key), None)
                if live is not None:
                    live.closed = now
                    events.append({"t": now, "kind": "alert_closed", "network": live.network,
                                   "at": live.at, "alert": live.id, "alert_kind": alert.kind,
                                   "reason": f"{alert.kind} ({alert.key}) quiet since "
                                             f"{alert.end:.3f}, after {alert.findings} "
                                             "intervals"})
        while len(self.alerts) > MAX_ALERTS and self.alerts[0].closed is not None:
            self.alerts.popleft()
        return events, changed

    def _raise(self, now: float, destination: Destination, alert: Alert
               ) -> tuple[list[Event], bool]:
        """A new alert: record it and let the response act; events, and whether it blocked."""
        network, at = destination
        live = LiveAlert(self.next_id, network, at, alert, now)
        self.next_id += 1
        self.alerts.append(live)
        self.open[(destination, alert.kind, alert.key)] = live
        data = alert.to_dict()
        evidence = ", ".join(f"{k} {v}" for k, v in data["evidence"].items())
        events = [{"t": now, "kind": "alert", "network": network, "at": at, "alert": live.id,
                   "alert_kind": alert.kind, "severity": alert.severity,
                   "sources": data["sources"], "start": alert.start,
                   "reason": f"{alert.kind} ({alert.severity}) by "
                             f"{', '.join(data['sources']) or alert.key} seen at {at}: "
                             f"{evidence}"}]
        net = self._network(network)
        response, changed = self.responder.respond(now, net, self.settings[destination]
                                                   .response, live.id, alert)
        live.response = [str(e["reason"]) for e in response]
        return events + response, changed

    def lift(self, now: float, network: str, source: str, by: str) -> Event | None:
        """An operator lifts a block early: its event (None if there was no such block)."""
        return self.responder.lift(now, network, source, by)

    def blocked(self) -> dict[tuple[str, str], Block]:
        """The blocks in force, by (network, source)."""
        return self.responder.blocked()

    def reconfigure(self, config: Config) -> None:
        """Take a new configuration: detectors whose settings changed start again."""
        settings = watched(config)
        self.detectors = {k: d for k, d in self.detectors.items()
                          if settings.get(k) == self.settings.get(k)}
        self.responder.keep_networks({n for n, _ in settings})
        self.config, self.settings = config, settings

    def status(self) -> dict[str, object]:
        """JSON-able: watched hosts with their counters, open alerts, blocks."""
        return {
            "watching": {f"{n}/{h}": {"packets": d.packets, "bytes": d.bytes,
                                      "malformed": d.malformed, "lost": d.lost,
                                      "learning": d.learning}
                         for (n, h), d in sorted(self.detectors.items())},
            "open_alerts": [a.to_dict() for a in self.alerts if a.closed is None],
            "blocks": [b.to_dict() for b in self.responder.blocks.values()],
        }

    def _detector(self, now: float, destination: Destination) -> LiveDetector | None:
        """The destination's detector, started at `now` if it has none yet."""
        settings = self.settings.get(destination)
        if settings is None:
            return None
        return self._started(now, destination, settings)

    def _started(self, now: float, destination: Destination,
                 settings: DetectSettings) -> LiveDetector:
        """The destination's detector, started at `now` with `settings` if it has none yet."""
        detector = self.detectors.get(destination)
        if detector is None:
            detector = self.detectors[destination] = LiveDetector(
                detector_for(settings), settings.interval, now,
                self.baselines.get(destination[0], ()), settings.learn)
        return detector

    def _network(self, name: str) -> Network:
        return next(n for n in self.config.networks if n.name == name)

