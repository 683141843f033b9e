"""Controller events as a readable timeline: one line per event, seconds from a start (pure)."""

from __future__ import annotations

from collections.abc import Iterable

KIND_WIDTH = 15
SUBJECT_WIDTH = 30


def _client(event: dict) -> str:
    return f"{event.get('network', '?')}/{event.get('client') or event.get('host', '?')}"


def describe(event: dict) -> str:
    """What an event did, in a few words: `tenant-a/h1 -> shadow path`, `link s1-s2`."""
    kind = event.get("kind")
    if kind == "move":
        return f"{_client(event)} -> {event.get('path')} path"
    if kind == "steer":
        where = "twins" if event.get("service") == "twin" else "hosts"
        return f"{_client(event)} new connections -> {where}"
    if kind in ("failover", "failback"):
        return f"link {event.get('link')}"
    if kind in ("takeover", "restore"):
        who = "twin" if kind == "takeover" else "itself"
        return f"{_client(event)} served by {who}"
    if kind == "role_swap":
        hosts = event.get("hosts") or [event.get("host")]
        return f"{event.get('network')}: {', '.join(map(str, hosts))} swap roles with twins"
    if kind == "scale":
        n = event.get("instances") or 0
        return f"{event.get('link')}: " + (f"add {n} instance{'s' * (n != 1)}" if n
                                           else "no more needed")
    if kind in ("activate", "deactivate", "shadow_serving", "primary_serving"):
        return f"network {event.get('network')}"
    if kind == "config":
        return f"configuration {event.get('result')}"
    return ", ".join(f"{k}={v}" for k, v in sorted(event.items()) if k not in ("t", "kind",
                                                                              "reason"))


def _merged_scales(events: list[dict]) -> list[dict]:
    """Scale events of one round with the same request become one (a path's links scale
    together), its `link` listing them all."""
    out: list[dict] = []
    for event in events:
        last = out[-1] if out else None
        if (event.get("kind") == "scale" and last is not None and last.get("kind") == "scale"
                and last.get("t") == event.get("t")
                and last.get("instances") == event.get("instances")):
            out[-1] = {**last, "link": f"{last.get('link')}, {event.get('link')}"}
        else:
            out.append(event)
    return out


def timeline(events: Iterable[dict], start: float, width: int = 160) -> list[str]:
    """One line per event in time order: `+seconds  kind  subject  reason` (reason cut to fit).

    Scale requests made together for several links are one line.
    """
    lines = []
    for event in _merged_scales(sorted(events, key=lambda e: e.get("t", 0.0))):
        head = (f"{event.get('t', start) - start:+8.1f} s  {event.get('kind', '?'):<{KIND_WIDTH}}"
                f"{describe(event):<{SUBJECT_WIDTH}}  ")
        reason = str(event.get("reason", ""))
        room = max(20, width - len(head))
        if len(reason) > room:
            reason = reason[:room - 3] + "..."
        lines.append((head + reason).rstrip())
    return lines
