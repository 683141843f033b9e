"""AnomalyDetector: rules over interval features plus a robust volume level, from a baseline or
the stream's own past.

Kinds and what raises them (every threshold is a constructor parameter):

- `port_scan`: within `scan_window` seconds one source probed `scan_ports`
  ports of one host (SYN, FIN, NULL or Xmas segments, or UDP datagrams a
  host answered with port-unreachable), or one port on `sweep_hosts` hosts
  of which fewer than half answered.
- `syn_flood`: an interval's SYN rate, scanners' SYNs left out (and those
  of sources whose SYNs go to mostly different ports: a scan still below
  `scan_ports`), reached
  `syn_flood_rate` per second (or `syn_factor` times the baseline median, or
  without a baseline the median of the stream's past, as for volume)
  while SYNs made up at least `syn_share` of its TCP segments and fewer than
  half of them completed their handshake in the interval: a busy server sees
  many SYNs too, but among far more data segments, and its clients answer.
- `amplification`: a host received `reflect_rate` bytes/s from UDP
  amplifier ports or as ICMP echo replies, `reflect_ratio` times what it
  sent to such services (multicast and broadcast receivers excluded).
- `arp_spoof`: an IP claimed by a second MAC within `arp_window` seconds of
  the first (bindings learned from the baseline count), or one MAC claiming
  several IPs after sending an ARP reply nobody asked for (gratuitous
  announcements, where sender and target IP are the same, are not replies
  to anyone and count as neither).
- `volume`: packets or bits per second `volume_z` robust z-scores (median
  and MAD of log rates) above the baseline and `volume_factor` times its
  busy level (its `volume_quantile` quantile, by default its largest rate:
  bursts as big as the baseline's own, however rare, are not anomalies), at
  `volume_min_pps` or more (and at least that many packets in the interval,
  so short intervals are not noisy). Needs `min_baseline` intervals of
  baseline; with fewer, volume is not judged.

  Fitted on no intervals at all (no baseline), the level is learned from the
  stream's own past instead: the median and MAD of the log rates of the last
  `volume_window` intervals with traffic (judged once `volume_warmup` of them,
  at most the window, were seen), and the busy level from those of them that
  were not flagged (nor `volume_factor` times busier than it, until traffic is
  back below: a burst's first, partial interval must not become the level its
  next, full one is judged against). Only earlier intervals count, so a burst
  is judged against what came before it, never against itself or what
  follows; idle intervals are skipped (a gap neither resets nor dilutes the
  level); a slow ramp moves the median along with it; a new level that lasts
  half the window becomes the median, and normal.
"""

from __future__ import annotations

import ipaddress
import math
from collections import Counter, defaultdict, deque
from collections.abc import Iterable

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from sdn_shadow.analytics.alerts import Finding
from sdn_shadow.analytics.decode import TCP, address
from sdn_shadow.analytics.features import Interval

_REPLY, _REQUEST = 2, 1
_UNSPECIFIED = b"\x00\x00\x00\x00"
_MAD_TO_SIGMA = 1.4826
_MIN_LOG_SCALE = 0.25


class AnomalyDetector(BaseEstimator):
    """Finds scans, SYN floods, reflection, ARP spoofing and volume anomalies in intervals."""

    def __init__(self, scan_ports: int = 20, sweep_hosts: int = 50, scan_window: float = 10.0,
                 syn_flood_rate: float = 50.0, syn_factor: float = 10.0, syn_share: float = 0.5,
                 reflect_rate: float = 125_000.0, reflect_ratio: float = 10.0,
                 arp_window: float = 300.0, volume_z: float = 6.0, volume_factor: float = 3.0,
                 volume_min_pps: float = 100.0, volume_quantile: float = 1.0,
                 min_baseline: int = 10, volume_window: int = 60,
                 volume_warmup: int = 10) -> None:
        self.scan_ports = scan_ports
        self.sweep_hosts = sweep_hosts
        self.scan_window = scan_window
        self.syn_flood_rate = syn_flood_rate
        self.syn_factor = syn_factor
        self.syn_share = syn_share
        self.reflect_rate = reflect_rate
        self.reflect_ratio = reflect_ratio
        self.arp_window = arp_window
        self.volume_z = volume_z
        self.volume_factor = volume_factor
        self.volume_min_pps = volume_min_pps
        self.volume_quantile = volume_quantile
        self.min_baseline = min_baseline
        self.volume_window = volume_window
        self.volume_warmup = volume_warmup

    def fit(self, intervals: Iterable[Interval], y: None = None) -> AnomalyDetector:
        """Learn the baseline: log-rate medians and spreads, SYN rate, ARP bindings.

        With no intervals there is no baseline: volume and the SYN level are then
        learned from the stream's own past (`volume_level_` is "past", else "baseline").
        """
        self._check_params()
        intervals = list(intervals)
        weights = np.array([iv.repeat for iv in intervals], dtype=np.int64)
        self.n_intervals_ = int(weights.sum())
        self.volume_level_ = "baseline" if intervals else "past"
        self.warmup_ = min(self.volume_warmup, self.volume_window)  # the window holds no more
        rates = np.array([[iv.packets / iv.seconds, iv.bytes * 8 / iv.seconds,
                           iv.syn / iv.seconds] for iv in intervals]).reshape(-1, 3)
        logs = np.log1p(rates[:, :2])
        self.log_median_ = _quantile(logs, weights, 0.5) if len(logs) else np.zeros(2)
        mad = (_quantile(np.abs(logs - self.log_median_), weights, 0.5) if len(logs)
               else np.zeros(2))
        self.log_scale_ = np.maximum(mad * _MAD_TO_SIGMA, _MIN_LOG_SCALE)
        self.busy_ = (_quantile(rates[:, :2], weights, self.volume_quantile) if len(rates)
                      else np.zeros(2))
        self.syn_rate_median_ = (float(_quantile(rates[:, 2:], weights, 0.5)[0]) if len(rates)
                                 else 0.0)
        self.bindings_: dict[bytes, dict[bytes, float]] = defaultdict(dict)
        for iv in intervals:
            for pkt in iv.arp:
                if pkt.src != _UNSPECIFIED:
                    self.bindings_[pkt.src][pkt.src_mac] = -math.inf
        self.bindings_ = dict(self.bindings_)
        return self

    def stream(self) -> Detection:
        """A detection run over consecutive intervals (keeps scan windows and ARP state)."""
        check_is_fitted(self, "n_intervals_")
        return Detection(self)

    def _check_params(self) -> None:
        for name in ("scan_ports", "sweep_hosts", "min_baseline", "volume_window",
                     "volume_warmup"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a whole number >= 1, not {value!r}")
        for name in ("scan_window", "syn_flood_rate", "syn_factor", "reflect_rate",
                     "reflect_ratio", "arp_window", "volume_z", "volume_factor"):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and value > 0 and math.isfinite(value)):
                raise ValueError(f"{name} must be a positive number, not {value!r}")
        for name in ("syn_share", "volume_quantile"):
            if not 0 < getattr(self, name) <= 1:
                raise ValueError(f"{name} must be in (0, 1], not {getattr(self, name)!r}")
        if self.volume_min_pps < 0:
            raise ValueError(f"volume_min_pps must be >= 0, not {self.volume_min_pps!r}")


class Detection:
    """The state of one run: recent intervals for scan windows, ARP claims and bindings, and
    (without a baseline) the past levels volume and SYNs are judged against."""

    def __init__(self, detector: AnomalyDetector) -> None:
        self.d = detector
        window = detector.volume_window
        # log1p(pps), log1p(bps) of the last intervals with traffic; (pps, bps) of those of
        # them not flagged (plain floats: at 60 values sorting beats numpy's call overhead)
        self.past: deque[tuple[float, float]] = deque(maxlen=window)
        self.calm: deque[tuple[float, float]] = deque(maxlen=window)
        self.pending: deque[tuple[float, float]] = deque(maxlen=window)  # above, unflagged
        self.past_syn: deque[float] = deque(maxlen=window)  # SYN/s of those not floods
        self.recent: deque[Interval] = deque()
        self.bindings = {ip: dict(macs) for ip, macs in detector.bindings_.items()}
        self.claims: defaultdict[bytes, dict[bytes, float]] = defaultdict(dict)
        self.asked: dict[tuple[bytes, bytes], float] = {}
        self.unsolicited: dict[bytes, tuple[float, int]] = {}

    def push(self, iv: Interval) -> list[Finding]:
        """The findings of the next interval."""
        self.recent.append(iv)
        while self.recent and self.recent[0].end <= iv.end - self.d.scan_window:
            self.recent.popleft()
        scans = self._scans(iv)
        scanners = {f.key for f in scans}
        floods = self._syn_flood(iv, scanners)
        explained = {s for f in scans + floods for s in f.sources}
        return scans + floods + self._reflection(iv) + self._arp(iv) + self._volume(iv, explained)

    def _scans(self, iv: Interval) -> list[Finding]:
        found = []
        for src in iv.probes:
            probes = [(iv2.start, iv2.probes[src]) for iv2 in self.recent if src in iv2.probes]
            ports: defaultdict[bytes, set[tuple[int, int]]] = defaultdict(set)
            hosts: defaultdict[tuple[int, int], set[bytes]] = defaultdict(set)
            for _, targets in probes:
                for host, proto, port in targets:
                    ports[host].add((proto, port))
                    hosts[(proto, port)].add(host)
            host, host_ports = max(ports.items(), key=lambda kv: len(kv[1]))
            service, swept = max(hosts.items(), key=lambda kv: len(kv[1]))
            answered = sum(iv2.answered[src] for iv2 in self.recent)
            vertical = len(host_ports) >= self.d.scan_ports
            sweep = len(swept) >= self.d.sweep_hosts and answered < len(swept) / 2
            if not (vertical or sweep):
                continue
            big = (len(host_ports) >= 5 * self.d.scan_ports
                   or len(swept) >= 5 * self.d.sweep_hosts)
            found.append(Finding(
                "port_scan", address(src), probes[0][0], iv.end, "high" if big else "medium",
                {address(src): sum(len(t) for s, t in probes if s == iv.start)},
                {"ports": len(host_ports), "hosts": len(ports), "answered": answered,
                 "target": address(host) if vertical else f"{len(swept)} hosts",
                 "protocol": "tcp" if (vertical and min(host_ports)[0] == TCP)
                 or (not vertical and service[0] == TCP) else "udp"}))
        return found

    def _syn_flood(self, iv: Interval, scanners: set[str]) -> list[Finding]:
        syn_sources = Counter({s: n for s, n in iv.syn_sources.items()
                               if address(s) not in scanners and not self._probing(s, n)})
        syns = sum(syn_sources.values())
        rate = syns / iv.seconds
        threshold = self.d.syn_flood_rate
        if self.d.volume_level_ == "past":
            if len(self.past_syn) >= self.d.warmup_:
                threshold = max(threshold, self.d.syn_factor * _rank(self.past_syn, 0.5))
        elif self.d.n_intervals_ >= self.d.min_baseline:
            threshold = max(threshold, self.d.syn_factor * self.d.syn_rate_median_)
        share = syns / max(iv.tcp - (iv.syn - syns), 1)
        if rate < threshold or share < self.d.syn_share or iv.completed >= syns / 2:
            if iv.packets:  # idle intervals do not dilute the past level
                self.past_syn.append(rate)
            return []
        target, hits = iv.syn_targets.most_common(1)[0]
        return [Finding(
            "syn_flood", "*", iv.start, iv.end, "high" if rate >= 5 * threshold else "medium",
            {address(s): n for s, n in syn_sources.items()},
            {"syn_rate": rate, "syn_share": share, "synack_ratio": iv.synack / max(syns, 1),
             "completed": iv.completed, "distinct_sources": len(syn_sources),
             "top_target": address(target),
             "top_target_syns": hits})]

    def _probing(self, src: bytes, syns: int) -> bool:
        """Whether `src`'s SYNs in the window went mostly to different ports (a scan's start)."""
        targets = set().union(*(iv.probes.get(src, ()) for iv in self.recent))
        return len(targets) >= 5 and len(targets) >= syns / 2

    def _reflection(self, iv: Interval) -> list[Finding]:
        found = []
        for victim, received in iv.reflected_in.items():
            rate = received / iv.seconds
            sent = iv.reflected_out[victim]
            ratio = received / sent if sent else math.inf
            if rate < self.d.reflect_rate or ratio < self.d.reflect_ratio or _group(victim):
                continue
            reflectors = iv.reflectors[victim]
            big = rate >= 10 * self.d.reflect_rate or len(reflectors) >= 10
            found.append(Finding(
                "amplification", address(victim), iv.start, iv.end, "high" if big else "medium",
                {address(r): 1 for r in reflectors},
                {"victim": address(victim), "bytes_per_s": rate, "reflectors": len(reflectors),
                 "ratio": ratio if sent else "no requests seen"}))
        return found

    def _arp(self, iv: Interval) -> list[Finding]:
        found = []
        window = self.d.arp_window
        for pkt in iv.arp:
            now, ip, mac = pkt.time, pkt.src, pkt.src_mac
            if pkt.op == _REQUEST:
                self.asked[(ip, pkt.dst)] = now
            elif pkt.op == _REPLY and ip != pkt.dst:
                asked = self.asked.get((pkt.dst, ip))
                if asked is None or now - asked > window:
                    first, count = self.unsolicited.get(mac, (now, 0))
                    self.unsolicited[mac] = (first, count + 1)
            if ip == _UNSPECIFIED:
                continue
            self.claims[mac][ip] = now
            macs = self.bindings.setdefault(ip, {})
            rivals = [m for m, seen in macs.items()
                      if m != mac and (now - seen <= window or seen == -math.inf)]
            macs[mac] = now
            claimed = [i for i, seen in self.claims[mac].items() if now - seen <= window]
            first, replies = self.unsolicited.get(mac, (now, 0))
            if rivals:
                found.append(self._arp_finding(pkt, claimed, replies, now, now, "high",
                                               previous=address(rivals[0])))
            elif len(claimed) >= 2 and replies and now - first <= window:
                found.append(self._arp_finding(pkt, claimed, replies, first, now, "high"))
        return found

    @staticmethod
    def _arp_finding(pkt, claimed: list[bytes], replies: int, start: float, now: float,
                     severity: str, previous: str | None = None) -> Finding:
        evidence: dict[str, float | int | str] = {
            "claimed_ips": ", ".join(sorted(address(i) for i in claimed)),
            "unsolicited_replies": replies, "mac": address(pkt.src_mac)}
        if previous:
            evidence.update(ip=address(pkt.src), previous_mac=previous)
        return Finding("arp_spoof", address(pkt.src_mac), start, now, severity,
                       {address(pkt.src_mac): 1}, evidence)

    def _volume(self, iv: Interval, explained: set[str]) -> list[Finding]:
        """Volume beyond the baseline (or the past) once the sources other findings explain
        are left out."""
        d = self.d
        if d.volume_level_ == "baseline" and d.n_intervals_ < d.min_baseline:
            return []
        talkers = Counter({s: n for s, n in iv.talkers.items() if address(s) not in explained})
        left_out = [s for s in iv.talkers if s not in talkers]
        packets = iv.packets - sum(iv.talkers[s] for s in left_out)
        octets = iv.bytes - sum(iv.talker_bytes[s] for s in left_out)
        rates = np.array([packets / iv.seconds, octets * 8 / iv.seconds])
        if d.volume_level_ == "baseline":
            over, z, typical = self._above(rates, d.log_median_, d.log_scale_, d.busy_)
            return self._finding(iv, talkers, packets, rates, over, z, typical, d.busy_)
        if not packets:  # idle: the past level waits for traffic
            return []
        found: list[Finding] = []
        above = False  # `volume_factor` times the busy level or more
        if len(self.past) >= d.warmup_:
            busy = np.array([_rank(c, d.volume_quantile) for c in zip(*self.calm, strict=True)])
            above = bool((rates >= d.volume_factor * busy).any())
            if above:
                columns = list(zip(*self.past, strict=True))
                median = np.array([_rank(c, 0.5) for c in columns])
                mad = np.array([_rank([abs(x - m) for x in c], 0.5)
                                for c, m in zip(columns, median, strict=True)])
                scale = np.maximum(mad * _MAD_TO_SIGMA, _MIN_LOG_SCALE)
                over, z, typical = self._above(rates, median, scale, busy)
                found = self._finding(iv, talkers, packets, rates, over, z, typical, busy)
        pps, bps = float(rates[0]), float(rates[1])
        self.past.append((math.log1p(pps), math.log1p(bps)))  # a burst joins the median ...
        if found:  # ... but not the busy level, so it stays flagged, nor does its lead-in
            self.pending.clear()
        elif above:  # far above the busy level yet not reported: a burst's first moments,
            self.pending.append((pps, bps))  # or a blip, busy level once traffic is back below
        else:
            self.calm.extend(self.pending)
            self.pending.clear()
            self.calm.append((pps, bps))
        return found

    def _above(self, rates: np.ndarray, log_median: np.ndarray, log_scale: np.ndarray,
               busy: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Which `rates` are far above the level (`log_median`, `log_scale`, `busy`), their
        z-scores, and the level's typical rates."""
        d = self.d
        z = (np.log1p(rates) - log_median) / log_scale
        typical = np.expm1(log_median)
        over = (z >= d.volume_z) & (rates >= d.volume_factor * np.maximum(typical, busy))
        return over, z, typical

    def _finding(self, iv: Interval, talkers: Counter[bytes], packets: int, rates: np.ndarray,
                 over: np.ndarray, z: np.ndarray, typical: np.ndarray, busy: np.ndarray,
                 ) -> list[Finding]:
        """A volume finding if some rate is `over` and the interval busy enough to tell."""
        d = self.d
        if not over.any() or rates[0] < d.volume_min_pps or packets < d.volume_min_pps:
            return []
        return [Finding(
            "volume", "*", iv.start, iv.end, "high" if z.max() >= 2 * d.volume_z else "medium",
            {address(s): n for s, n in talkers.most_common(5)},
            {"pps": float(rates[0]), "bps": float(rates[1]), "baseline_pps": float(typical[0]),
             "baseline_bps": float(typical[1]), "baseline_busy_pps": float(busy[0]),
             "z": float(z.max())})]


def _rank(values: Iterable[float], q: float) -> float:
    """The `q` quantile of a few values (linear, as numpy's default)."""
    ranked = sorted(values)
    pos = q * (len(ranked) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(ranked) - 1)
    return ranked[lo] + (ranked[hi] - ranked[lo]) * (pos - lo)


def _quantile(values: np.ndarray, weights: np.ndarray, q: float) -> np.ndarray:
    """`np.quantile(np.repeat(values, weights, axis=0), q, axis=0)` without the repeating
    (an idle run weighs as many intervals as it spans)."""
    if (weights == 1).all():
        return np.median(values, axis=0) if q == 0.5 else np.quantile(values, q, axis=0)
    order = np.argsort(values, axis=0, kind="stable")
    ends = np.cumsum(weights[order], axis=0)  # expanded index just past each sorted value
    last = int(ends[-1, 0]) - 1
    pos = q * last
    lo = math.floor(pos)
    hi = min(lo + 1, last)
    out = []
    for col in range(values.shape[1]):
        ranked = values[order[:, col], col]
        a = ranked[np.searchsorted(ends[:, col], lo, side="right")]
        b = ranked[np.searchsorted(ends[:, col], hi, side="right")]
        out.append(a + (b - a) * (pos - lo))
    return np.array(out)


def _group(raw: bytes) -> bool:
    """A multicast or broadcast address (never the victim of reflection)."""
    ip = ipaddress.ip_address(raw)
    return ip.is_multicast or raw == b"\xff\xff\xff\xff"
