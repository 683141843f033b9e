"""Findings of one interval, and the alerts that merge consecutive findings of one offender."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

SEVERITIES = ("low", "medium", "high")
KINDS = ("port_scan", "syn_flood", "amplification", "arp_spoof", "volume")


@dataclass(frozen=True)
class Finding:
    """One interval's evidence of `kind` by the offender `key` (a source, victim or `*`)."""

    kind: str
    key: str
    start: float
    end: float
    severity: str
    sources: dict[str, int]
    evidence: dict[str, float | int | str]


@dataclass
class Alert:
    """An anomaly from its first to its last finding: who, how bad, and the figures behind it."""

    kind: str
    key: str
    severity: str
    start: float
    end: float
    sources: Counter[str] = field(default_factory=Counter)
    evidence: dict[str, float | int | str] = field(default_factory=dict)
    findings: int = 0

    def merge(self, finding: Finding) -> None:
        """Take a further finding in: widen the times, keep peak figures and the worst severity."""
        self.start = min(self.start, finding.start)
        self.end = max(self.end, finding.end)
        if SEVERITIES.index(finding.severity) > SEVERITIES.index(self.severity):
            self.severity = finding.severity
        self.sources.update(finding.sources)
        for name, value in finding.evidence.items():
            old = self.evidence.get(name)
            numbers = isinstance(value, int | float) and isinstance(old, int | float)
            self.evidence[name] = max(old, value) if numbers else value
        self.findings += 1

    def to_dict(self, origin: float = 0.0, top: int = 5) -> dict:
        """JSON form, times in seconds after `origin`, the `top` sources by packets."""
        return {
            "kind": self.kind,
            "severity": self.severity,
            "start": round(self.start - origin, 6),
            "end": round(self.end - origin, 6),
            "sources": [name for name, _ in self.sources.most_common(top)],
            "evidence": {k: round(v, 3) if isinstance(v, float) else v
                         for k, v in sorted(self.evidence.items())},
        }


class AlertTracker:
    """Merges findings into alerts; an alert closes after `gap` seconds without findings."""

    def __init__(self, gap: float) -> None:
        self.gap = gap
        self.open: dict[tuple[str, str], Alert] = {}

    def add(self, findings: list[Finding], now: float) -> list[Alert]:
        """Take this interval's findings; return the alerts that went quiet before `now`."""
        self.merge(findings)
        return self.close_idle(now)

    def merge(self, findings: list[Finding]) -> list[Alert]:
        """Take findings into their open alerts; return the alerts they opened."""
        opened = []
        for finding in findings:
            key = (finding.kind, finding.key)
            alert = self.open.get(key)
            if alert is None:
                alert = self.open[key] = Alert(finding.kind, finding.key, finding.severity,
                                               finding.start, finding.end)
                opened.append(alert)
            alert.merge(finding)
        return opened

    def close_idle(self, now: float) -> list[Alert]:
        """Close and return the alerts with no finding in the last `gap` seconds."""
        quiet = [key for key, alert in self.open.items() if now - alert.end > self.gap]
        return [self.open.pop(key) for key in quiet]

    def finish(self) -> list[Alert]:
        """Close every open alert (the stream has ended)."""
        alerts, self.open = list(self.open.values()), {}
        return alerts
