"""A made-up record of a demo run, shaped as `sdn_shadow.demo` records one (for report tests)."""

from __future__ import annotations

import math
from typing import Any

from sdn_shadow.report import add_act, new_record

T0 = 1_800_000_000.0


def ramp_samples(start: float, seconds: float = 24.0, step: float = 0.5,
                 horizon: float = 2.0) -> list[list[float | None]]:
    """A UDP ramp of 8, 16, 24, 32 Mbit/s (6 s each) sampled every `step` s, in bytes/s, with
    a forecast that follows it `horizon` s late and an interval of +-8%."""
    out: list[list[float | None]] = []
    for i in range(int(seconds / step)):
        t = start + i * step
        level = (1 + min(3, int(i * step // 6))) * 8e6 / 8
        measured = level * (1 + 0.02 * math.sin(i))
        seen = (1 + min(3, int(max(0.0, i * step - horizon) // 6))) * 8e6 / 8
        point = None if i < 4 else seen
        out.append([t, measured, None if point is None else point * 0.92, point,
                    None if point is None else point * 1.08])
    return out


def demo_record(ok: bool = True) -> dict[str, Any]:
    """Three acts: the lab's ramp (two series), the ring's trouble, the attack."""
    record = new_record("sdn-shadow demo <test>", T0)
    add_act(record, "lab", "the lab: isolation, mirroring, forecast, held capacity", T0,
            ["REST API on 127.0.0.1:8181: ok, 2/2 switches synced",
             "forecast tenant-a in 2 s: 33.0 Mbit/s, 90% interval 30.1-35.9 Mbit/s"],
            [], [{"t": T0 + 1, "kind": "config", "result": "applied"}],
            [{"key": "network:tenant-a:tx", "horizon": 2.0, "level": 0.9, "capacity": None,
              "samples": ramp_samples(T0 + 10)},
             {"key": "link:s1:s2", "horizon": 2.0, "level": 0.9, "capacity": 125e6,
              "samples": ramp_samples(T0 + 10)}])
    ring = T0 + 100
    add_act(record, "ring", "trouble on the ring", ring,
            ["demand: h1 moved onto its shadow path", "link: s1 -> s2 down"], [],
            [{"t": ring + 12.5, "kind": "move", "network": "tenant-a", "client": "h1",
              "path": "shadow", "reason": "forecast 0.86 of capacity"},
             {"t": ring + 40.1, "kind": "move", "network": "tenant-a", "client": "h1",
              "path": "primary", "reason": "demand back under 0.6"},
             {"t": ring + 55.0, "kind": "failover", "link": "s1-s2", "reason": "port down"},
             {"t": ring + 70.2, "kind": "failback", "link": "s1-s2", "reason": "restored"},
             {"t": ring + 90.0, "kind": "takeover", "network": "tenant-a", "host": "h2",
              "reason": "3 probes missed"},
             {"t": ring + 101.0, "kind": "restore", "network": "tenant-a", "host": "h2"}])
    attack = T0 + 300
    add_act(record, "attack", "an attack through the primary", attack,
            ["alert: port_scan (high) by 10.0.0.3 seen at h2s"],
            [] if ok else ["the block did not expire"],
            [{"t": attack + 20.3, "kind": "alert", "network": "tenant-a",
              "alert_kind": "port_scan", "sources": ["10.0.0.3"], "at": "h2s",
              "reason": "port_scan (high): 20 ports in 2.0 s"},
             {"t": attack + 20.4, "kind": "response", "action": "block", "network": "tenant-a",
              "source": "10.0.0.3", "reason": "blocked 10.0.0.3 in tenant-a for 8 s"},
             {"t": attack + 29.0, "kind": "response", "action": "unblock",
              "network": "tenant-a", "source": "10.0.0.3", "reason": "TTL ended"}])
    record["finished"], record["ok"] = T0 + 400, ok
    return record
