// Mirror sessions: what each copies (filter, direction, sampling, truncation), where to,
// and its live counters with the rates since the previous snapshot.

import { h, rate, replace, table } from "./dom.js";

function filterText(spec) {
  if (!spec) return "–";
  const match = spec.match ? Object.entries(spec.match).map(([k, v]) => `${k}=${v}`).join(" ") : "all";
  return `${(spec.hosts || []).join(", ") || "every host"}: ${match}`;
}

/** Every network's sessions with their counters. */
export function render(panel, state) {
  const { snap, prev } = state;
  const rows = [];
  for (const [network, sessions] of Object.entries(snap.sessions)) {
    for (const x of sessions) {
      const before = prev?.sessions?.[network]?.find((y) => y.name === x.name)?.counters;
      const dt = prev ? snap.at - prev.at : 0;
      const bytes = before && dt > 0 ? (x.counters.bytes - before.bytes) / dt : null;
      const packets = before && dt > 0 ? (x.counters.packets - before.packets) / dt : null;
      rows.push([x.name, network, filterText(x.spec), x.direction,
        x.spec?.sample ?? 1, x.spec?.truncate ?? "whole packets", x.to.join(", "),
        String(x.counters.packets), String(x.counters.bytes),
        packets === null ? "–" : `${packets.toFixed(1)} pkt/s`, rate(bytes)]);
    }
  }
  replace(panel, table("Mirror sessions", ["session", "network", "copies", "direction",
    "sample", "truncate to", "to", "packets", "bytes", "packet rate", "rate"], rows,
  "no mirror sessions"), h("p", { class: "note" },
    "Counters are summed over the switches; rates are since the previous snapshot."));
}
