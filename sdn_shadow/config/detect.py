"""`networks.NAME.shadow.detect`: anomaly detection on mirrored copies and its response.

    detect:
      interval: 1               # seconds per feature interval, > 0 (default 1)
      on: [h2s]                 # shadow hosts watched (default: every one a session copies to)
      baseline: [normal.pcap]   # optional captures of normal traffic (read at start)
      learn: 60                 # seconds of live traffic added to the baseline (0: none)
      thresholds: {scan_ports: 20, syn_flood_rate: 50}   # AnomalyDetector parameters
      response:
        mode: dry-run           # off (default) | dry-run: log the blocks | live: install them
        ttl: 300                # seconds a block stays, > 0
        kinds: [port_scan, syn_flood, amplification, arp_spoof]   # the default; volume logs
        protected: [h1, 10.0.0.0/28, "00:00:00:00:0a:02"]   # never blocked
        max_sources: 10         # sources blocked per alert at most
        action: drop            # drop (default) | meter: police each source to meter_mbps
        meter_mbps: 1           # Mbit/s a metered source may still send, per switch
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from typing import Any

from sdn_shadow.analytics.alerts import KINDS

from .context import Context
from .files import CAPTURE
from .model import RESPONSE_ACTIONS, RESPONSE_MODES, DetectSettings, ResponseSettings

_DETECT_KEYS = ("baseline", "interval", "learn", "on", "response", "thresholds")
_RESPONSE_KEYS = ("action", "kinds", "max_sources", "meter_mbps", "mode", "protected", "ttl")
_MAC_RE = re.compile(r"[0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2}){5}")


def parse_detect(p: Context, value: Any, path: str, primary: Mapping[str, object],
                 twins: Mapping[str, object], copied_to: set[str]) -> DetectSettings | None:
    """Check `detect` with the parse context `p`; None (and problems recorded) if it is bad.

    `primary` and `twins` are the network's host drafts by name; `copied_to`
    the shadow hosts some mirror session copies to (the default `on`).
    """
    f = p.fields(value, path, _DETECT_KEYS)
    if f is None:
        return None
    before = len(p.problems)
    given: dict[str, Any] = {}
    for key, low in (("interval", 0.0), ("learn", None)):
        if f.get(key) is not None:
            given[key] = (p.positive(f[key], f"{path}.{key}") if low is not None
                          else p.non_negative(f[key], f"{path}.{key}"))
    if f.get("on") is not None:
        on = []
        for item_path, item in p.items(f["on"], f"{path}.on", non_empty=True):
            if not isinstance(item, str) or item not in twins:
                p.err(item_path, f"must be a shadow host of this network "
                                 f"(have: {', '.join(sorted(twins)) or 'none'})")
            else:
                on.append(item)
        given["on"] = tuple(on)
    elif not copied_to:
        p.err(f"{path}.on", "no mirror session copies to any shadow host, so there is "
                            "nothing to watch: add a session or name the hosts")
    if f.get("baseline") is not None:
        given["baseline"] = tuple(_captures(p, f["baseline"], f"{path}.baseline"))
    if f.get("thresholds") is not None:
        given["thresholds"] = _thresholds(p, f["thresholds"], f"{path}.thresholds")
    if f.get("response") is not None:
        given["response"] = _response(p, f["response"], f"{path}.response", primary, twins)
    if len(p.problems) > before:
        return None
    return DetectSettings(**given)


def _captures(p: Context, value: Any, path: str) -> list[str]:
    """Capture file names, each opening as pcap or pcapng as the loader found (read at start)."""
    names = []
    for item_path, item in p.items(value, path):
        name = p.string(item, item_path)
        if name is not None and p.file(CAPTURE, name, item_path):
            names.append(name)
    return names


def _thresholds(p: Context, value: Any, path: str) -> tuple[tuple[str, float], ...]:
    """Detector parameters, checked the way the detector checks them."""
    from sdn_shadow.analytics.detector import AnomalyDetector

    allowed = tuple(sorted(AnomalyDetector().get_params()))
    f = p.fields(value, path, allowed)
    if f is None:
        return ()
    out = []
    for key, raw in f.items():
        if key not in allowed:
            continue
        number = p.number(raw, f"{path}.{key}")
        if number is None:
            continue
        if key in ("scan_ports", "sweep_hosts", "min_baseline") and number != int(number):
            p.err(f"{path}.{key}", "must be a whole number")
            continue
        number = int(number) if key in ("scan_ports", "sweep_hosts", "min_baseline") else number
        param: dict[str, Any] = {key: number}
        try:
            AnomalyDetector(**param)._check_params()
        except ValueError as err:
            p.err(f"{path}.{key}", str(err).removeprefix(f"{key} "))
            continue
        out.append((key, number))
    return tuple(sorted(out))


def _response(p: Context, value: Any, path: str, primary: Mapping[str, object],
              twins: Mapping[str, object]) -> ResponseSettings:
    """The response section; YAML's bare `off` (read as false) means mode off."""
    f = p.fields(value, path, _RESPONSE_KEYS)
    if f is None:
        return ResponseSettings()
    given: dict[str, Any] = {}
    if "mode" in f:
        mode = "off" if f["mode"] is False else f["mode"]
        if mode not in RESPONSE_MODES:
            p.err(f"{path}.mode", f"must be one of {', '.join(RESPONSE_MODES)}")
        else:
            given["mode"] = mode
    if f.get("ttl") is not None:
        given["ttl"] = p.positive(f["ttl"], f"{path}.ttl")
    if "action" in f:
        if f["action"] not in RESPONSE_ACTIONS:
            p.err(f"{path}.action", f"must be one of {', '.join(RESPONSE_ACTIONS)}")
        else:
            given["action"] = f["action"]
    if f.get("meter_mbps") is not None:
        given["meter_mbps"] = p.positive(f["meter_mbps"], f"{path}.meter_mbps")
        if given["meter_mbps"] is not None and given["meter_mbps"] * 1000 < 1:
            p.err(f"{path}.meter_mbps", "must be at least 0.001 (1 kbit/s: a meter's unit)")
    if f.get("max_sources") is not None:
        given["max_sources"] = p.int_in(f["max_sources"], f"{path}.max_sources", 1, 10_000)
    if f.get("kinds") is not None:
        kinds = []
        for item_path, item in p.items(f["kinds"], f"{path}.kinds"):
            if item not in KINDS:
                p.err(item_path, f"must be one of {', '.join(KINDS)}")
            else:
                kinds.append(item)
        given["kinds"] = tuple(kinds)
    if f.get("protected") is not None:
        protected = []
        for item_path, item in p.items(f["protected"], f"{path}.protected"):
            if _protectable(item, primary, twins):
                protected.append(str(item))
            else:
                p.err(item_path, "must be a host of this network (primary or shadow), an "
                                 "IPv4 address or network, or a MAC address")
        given["protected"] = tuple(protected)
    return ResponseSettings(**{k: v for k, v in given.items() if v is not None})


def _protectable(item: Any, primary: Mapping[str, object], twins: Mapping[str, object]
                 ) -> bool:
    """Whether `item` names a host, an IPv4 address or network, or a MAC."""
    if not isinstance(item, str):
        return False
    if item in primary or item in twins or _MAC_RE.fullmatch(item):
        return True
    try:
        ipaddress.IPv4Network(item, strict=False)
    except ValueError:
        return False
    return True
