// Scaling: what the allocator holds for each shadow and advises, with the numbers behind it
// (forecast, interval, instance capacity), the scaling requests in force, and the clients'
// learned resource profiles.

import { h, pct, rate, replace, table } from "./dom.js";

const mbit = (bytesPerSecond) => bytesPerSecond * 8 / 1e6;

function card(net, snap) {
  const alloc = net.shadow.allocation;
  const spec = net.spec?.shadow?.allocation || {};
  const f = snap.forecasts?.series?.[`network:${net.name}:tx`];
  const level = snap.forecasts?.level;
  const perInstance = spec.instance_capacity ?? null; // Mbit/s
  const instances = spec.instances ?? 1;
  const needed = alloc && perInstance ? Math.max(1, Math.ceil(mbit(alloc.held) / perInstance)) : null;
  const rows = [
    ["forecast (point)", f ? rate(f[1]) : "–"],
    [`forecast interval${level ? ` (${pct(level)})` : ""}`, f ? `${rate(f[0])} – ${rate(f[2])}` : "–"],
    ["strategy", alloc ? alloc.strategy : spec.strategy || "–"],
    ["capacity held", alloc ? rate(alloc.held) : "–"],
    ["sized from", alloc ? `point ${rate(alloc.point)}, upper ${rate(alloc.upper)}` : "–"],
    ["instance capacity", perInstance ? `${perInstance} Mbit/s` : "not set"],
    ["instances now", String(instances)],
    ["instances needed for what is held", needed === null ? "–" : String(needed)],
  ];
  return h("article", { class: "card" },
    h("h3", {}, net.name, " ", h("span", { class: `badge ${alloc?.recommendation ? "hot" : "ok"}` },
      !alloc ? "no allocation" : alloc.recommendation ? "advice" : "enough")),
    h("p", {}, alloc?.recommendation || (alloc ? "No change advised." : "No allocation yet (no forecast).")),
    table(`The numbers behind ${net.name}'s advice`, ["figure", "value"], rows));
}

/** Recommendations per shadow, scaling requests, resource profiles. */
export function render(panel, state) {
  const { snap } = state;
  const nets = snap.networks.filter((n) => n.shadow);
  const requests = Object.entries(snap.routing.scaling || {}).map(([k, n]) => [k, String(n)]);
  const who = (key) => key.replace(/^client:([^:]+):([^:]+):(\w+)$/, "$1/$2 $3");
  const profiles = (snap.profiles || []).map((p) => [who(p.client), String(p.samples), rate(p.mean),
    rate(p.std), rate(p.peak), rate(p.recent_peak),
    p.cv === null ? "–" : p.cv.toFixed(2), p.peak_to_mean === null ? "–" : p.peak_to_mean.toFixed(2)]);
  replace(panel,
    nets.length ? nets.map((n) => card(n, snap)) : h("p", {}, "No network has a shadow."),
    table("Scaling requested by preemptive routing", ["shadow resource", "instances requested"],
      requests, "none requested"),
    table("Resource profiles (learned per client)", ["client", "samples", "mean", "std", "peak",
      "recent peak", "cv", "peak / mean"], profiles, "no profile yet"));
}
