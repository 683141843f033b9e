// Alerts and blocks: what the shadows' watch raised, with its evidence and the response;
// the blocks and meters in force with their time left (operators may lift them).

import { clock, h, replace, table } from "./dom.js";

function evidence(alert) {
  const items = Object.entries(alert.evidence || {});
  if (!items.length) return "–";
  return h("details", { "data-key": `evidence-${alert.id}` },
    h("summary", { "data-key": `evidence-${alert.id}-summary` }, `${items.length} figures`),
    h("dl", {}, items.flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, String(v))])));
}

/** Recent alerts and the blocks in force. */
export function render(panel, state, ctx) {
  const { snap } = state;
  const alerts = snap.alerts.map((a) => [String(a.id), a.network, a.at, a.kind,
    h("span", { class: `badge sev-${a.severity}` }, String(a.severity)), a.state,
    (a.sources || []).join(", "), clock(a.raised), `${a.delay} s`, evidence(a),
    (a.response || []).join("; ") || "–"]);
  const blocks = snap.blocks.map((b) => {
    const left = Math.max(0, Math.round(b.until - snap.at));
    const lift = ctx.operator ? h("button", { type: "button", "data-key": `lift-${b.network}-${b.source}`,
      onclick: () => ctx.act(`Lift the block of ${b.source} in ${b.network}?`,
        () => ctx.api.delete(`/blocks/${encodeURIComponent(b.network)}/${encodeURIComponent(b.source)}`)),
    }, "lift") : "–";
    return [b.network, b.source, b.action === "meter" ? `meter ${b.meter_mbps} Mbit/s` : "drop",
      `#${b.alert} ${b.kind}`, clock(b.since), `${left} s`, lift];
  });
  replace(panel,
    table("Blocks and meters in force", ["network", "source", "action", "for alert", "since",
      "time left", ""], blocks, "no blocks"),
    table("Alerts, newest first", ["id", "network", "on", "kind", "severity", "state",
      "sources", "raised", "delay", "evidence", "response"], alerts, "no alerts"));
}
