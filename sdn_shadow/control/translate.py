"""OS-Ken's messages as the core's values: ports, flows, meters, errors, multipart flags."""

from __future__ import annotations

from typing import Any

from os_ken.ofproto.ofproto_v1_3 import OFPPC_PORT_DOWN, OFPPS_LINK_DOWN, OFPPS_LIVE

_ERROR_NAMES = {(1, 1): "bad type", (5, 1): "table full", (5, 2): "bad table id",
                (5, 6): "bad flow-mod command"}


def error_name(kind: int, code: int) -> str:
    """What an OpenFlow error means, where we know it (type 5 code 1 is a full table)."""
    name = _ERROR_NAMES.get((kind, code))
    return f" ({name})" if name else ""


def port_live(desc: Any) -> bool:
    """Whether a port (OFPPort) can carry traffic: up, not disabled, and LIVE (BFD included)."""
    return bool(desc.state & OFPPS_LIVE) and not desc.state & OFPPS_LINK_DOWN and not (
        desc.config & OFPPC_PORT_DOWN)


def installed_flows(stats: Any) -> list[Any]:
    """Decoded flow stats as the core's InstalledFlow records (keys need the match parsed)."""
    from sdn_shadow.core import InstalledFlow

    return [InstalledFlow(t, p, m, int(c), int(n), int(b))
            for (t, p, m), c, n, b in zip(stats.flow_keys(), stats.cookie, stats.packet_count,
                                          stats.byte_count, strict=True)]


def meters_of(body: list[Any], ofp: Any) -> list[Any]:
    """A meter config reply's entries as the core's Meter values."""
    from sdn_shadow.openflow.messages import Meter, MeterBand

    return [Meter(m.meter_id, tuple(MeterBand(b.rate, b.burst_size) for b in m.bands
                                    if b.type == 1),
                  "pktps" if m.flags & ofp.OFPMF_PKTPS else "kbps",
                  bool(m.flags & ofp.OFPMF_BURST), bool(m.flags & ofp.OFPMF_STATS))
            for m in body]


def more_parts(msg: Any) -> bool:
    """Whether more parts of this multipart reply follow."""
    return bool(msg.flags & msg.datapath.ofproto.OFPMPF_REPLY_MORE)
