"""stats_decode_ratio: decoding a real 10,000-flow stats reply, ours vs OS-Ken's parser."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from bench.figures import Figure, median
from bench.flowset import bench_flows
from bench.osken import osken_parse
from bench.ovsbridge import bench_bridge, run
from sdn_shadow.openflow.messages import canonical_match
from sdn_shadow.openflow.ofctl import flow_to_ofctl
from sdn_shadow.telemetry import oxm
from sdn_shadow.telemetry.decode import decode_flow_stats
from sdn_shadow.telemetry.ofsocket import OFSocket, mgmt_socket

FLOWS = 10000
RUNS = 7
TARGET = 0.2


def fetch_flow_stats(flows: int, tmp: Path) -> bytes:
    """The raw reply of a real OVS bridge holding `flows` bench flows to a flow stats request."""
    flow_file = tmp / "flows.txt"
    flow_file.write_text("\n".join(flow_to_ofctl(f) for f in bench_flows(flows)) + "\n")
    with bench_bridge() as bridge:
        run("ovs-ofctl", "-O", "OpenFlow13", "--bundle", "add-flows", bridge, str(flow_file))
        with OFSocket(mgmt_socket(bridge)) as sock:
            return sock.flow_stats()


def _check_same(raw: bytes) -> None:
    """Our decode and OS-Ken's agree entry for entry (keys and counters), or raise."""
    fs = decode_flow_stats(raw)
    ours = [(*k, c, p, b) for k, c, p, b in zip(
        fs.flow_keys(), fs.cookie.tolist(), fs.packet_count.tolist(), fs.byte_count.tolist(),
        strict=True)]
    theirs = [(s.table_id, s.priority, canonical_match(s.match.items()), s.cookie,
               s.packet_count, s.byte_count) for msg in osken_parse(raw) for s in msg.body]
    if ours != theirs:
        raise RuntimeError("our decode differs from OS-Ken's")


def _time(fn) -> float:
    """Seconds one call of `fn` takes."""
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _ours_with_keys(raw: bytes) -> None:
    """Decode and derive every match, with the match cache cold."""
    oxm.clear_cache()
    decode_flow_stats(raw).flow_keys()


def stats_decode_ratio(progress) -> Figure:
    """Median of RUNS decodes of one real 10,000-flow reply each way; figure: ours / OS-Ken's."""
    with tempfile.TemporaryDirectory(prefix="sdn-shadow-bench-") as tmp:
        raw = fetch_flow_stats(FLOWS, Path(tmp))
    count = len(decode_flow_stats(raw))
    if count != FLOWS:
        raise RuntimeError(f"the reply holds {count} flows, expected {FLOWS}")
    _check_same(raw)
    messages = len(osken_parse(raw))
    progress(f"stats_decode: {count} flows, {len(raw)} bytes in {messages} messages")
    ours, keyed, ref = [], [], []
    for i in range(RUNS):
        ours.append(_time(lambda: decode_flow_stats(raw)))
        keyed.append(_time(lambda: _ours_with_keys(raw)))
        ref.append(_time(lambda: osken_parse(raw)))
        progress(f"stats_decode run {i + 1}/{RUNS}: ours {ours[-1] * 1000:.1f} ms "
                 f"(+ all match keys, cold: {keyed[-1] * 1000:.1f} ms), "
                 f"OS-Ken {ref[-1] * 1000:.0f} ms")
    value = median(ours) / median(ref)
    return Figure(round(value, 4), "ratio", round(median(ref), 4), f"<= {TARGET}",
                  value <= TARGET,
                  {"ours_s": round(median(ours), 5), "osken_s": round(median(ref), 4),
                   "ours_with_keys_cold_s": round(median(keyed), 4),
                   "ours_with_keys_cold_ratio": round(median(keyed) / median(ref), 4),
                   "flows": count, "reply_bytes": len(raw), "reply_messages": messages,
                   "runs": RUNS, "reference_unit": "s, OS-Ken ofproto_parser.msg per message"})
