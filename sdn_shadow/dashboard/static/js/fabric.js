// Fabric: switches, links coloured by utilisation against capacity, failed links, hosts, twins,
// and a chosen host pair's primary and shadow paths (see paths.js).

import { h, pct, rate, replace, s, table } from "./dom.js";
import * as paths from "./paths.js";

let view = null; // the redrawn part; the pair's picker stays above it

/** A link pair's class: failed, hot (at or over the upper threshold), warm, ok, or unknown. */
function heat(share, failed, th) {
  if (failed) return "failed";
  if (share === null) return "unknown";
  if (share >= th.upper) return "hot";
  return share >= th.lower ? "warm" : "ok";
}

function share(link) {
  return link.capacity && link.demand !== null ? link.demand / link.capacity : null;
}

/** Both directions of each switch pair, in order. */
function pairs(links) {
  const out = new Map();
  for (const l of links) {
    const key = [l.src, l.dst].sort().join(" ");
    if (!out.has(key)) out.set(key, []);
    out.get(key).push(l);
  }
  return out;
}

function place(names, radius, cx, cy) {
  const at = new Map();
  names.forEach((n, i) => {
    const a = (2 * Math.PI * i) / names.length - Math.PI / 2;
    at.set(n, { x: cx + radius * Math.cos(a), y: cy + radius * Math.sin(a), a });
  });
  return at;
}

function hostsBySwitch(networks) {
  const out = new Map();
  const add = (sw, item) => { if (!out.has(sw)) out.set(sw, []); out.get(sw).push(item); };
  for (const n of networks) {
    for (const host of n.hosts) add(host.switch, { name: host.name, twin: false, net: n.name, host });
    for (const t of n.shadow?.twins || []) add(t.switch, { name: t.name, twin: true, net: n.name, of: t.twin });
  }
  return out;
}

function graph(snap, th) {
  const names = snap.fabric.switches.map((x) => x.name);
  const radius = Math.max(120, names.length * 26);
  const size = 2 * (radius + 110);
  const at = place(names, radius, size / 2, size / 2);
  const svg = s("svg", { viewBox: `0 0 ${size} ${size}`, class: "fabric", role: "img",
    "aria-label": `${names.length} switches and their links` });
  for (const [key, both] of pairs(snap.fabric.links)) {
    const [a, b] = key.split(" ").map((n) => at.get(n));
    if (!a || !b) continue;
    const worst = Math.max(...both.map((l) => share(l) ?? -1));
    const failed = both.some((l) => l.failed);
    const cls = heat(worst < 0 ? null : worst, failed, th);
    const tip = both.map((l) => `${l.src}→${l.dst}: ${rate(l.demand)} of ${rate(l.capacity)}` +
      ` (${pct(share(l))}), held ${rate(l.held)}${l.failed ? ", FAILED" : ""}`).join("\n");
    svg.append(s("g", { class: `link ${cls}` }, s("title", {}, tip),
      s("line", { x1: a.x, y1: a.y, x2: b.x, y2: b.y }),
      s("text", { x: (a.x + b.x) / 2, y: (a.y + b.y) / 2 - 6, "text-anchor": "middle" },
        failed ? "✕ failed" : pct(worst < 0 ? null : worst))));
  }
  paths.overlay(svg, at);
  const hosts = hostsBySwitch(snap.networks);
  for (const sw of snap.fabric.switches) {
    const p = at.get(sw.name);
    const list = hosts.get(sw.name) || [];
    list.forEach((item, i) => {
      const a = p.a + (i - (list.length - 1) / 2) * 0.45; // about 30 px apart
      const x = p.x + 68 * Math.cos(a);
      const y = p.y + 68 * Math.sin(a);
      const where = item.twin ? `twin of ${item.of}` : `${item.host.path} path, ${item.host.service} service`;
      svg.append(s("g", { class: `host${item.twin ? " twin" : ""}` },
        s("title", {}, `${item.net}/${item.name}: ${where}`),
        s("line", { x1: p.x, y1: p.y, x2: x, y2: y }),
        s("circle", { cx: x, cy: y, r: 13 }),
        s("text", { x, y: y + 4, "text-anchor": "middle" }, item.name)));
    });
    const cls = !sw.connected ? "down" : sw.synced ? "up" : "unsynced";
    svg.append(s("g", { class: `switch ${cls}` },
      s("title", {}, `${sw.name} (dpid ${sw.dpid}): ${cls}, ${sw.flows} flows`),
      s("rect", { x: p.x - 22, y: p.y - 14, width: 44, height: 28, rx: 5 }),
      s("text", { x: p.x, y: p.y + 5, "text-anchor": "middle" }, sw.name)));
  }
  return svg;
}

function legend(th) {
  const item = (cls, text) => h("li", {}, h("span", { class: `swatch ${cls}` }), text);
  return h("ul", { class: "legend" },
    item("ok", `below ${pct(th.lower)}`), item("warm", `${pct(th.lower)}–${pct(th.upper)}`),
    item("hot", `${pct(th.upper)} and over (clients move off)`), item("failed", "failed"),
    item("unknown", "capacity unknown"), item("twin", "twin (shadow host)"), paths.legend(item));
}

/** Make the pair's picker and the place the fabric is drawn in (once). */
export function init(panel, state, ctx) {
  view = h("div", {});
  panel.replaceChildren(paths.controls(ctx), view);
}

/** Draw the fabric of the latest snapshot. */
export function render(panel, state, ctx) {
  paths.refresh(state, ctx);
  const { snap } = state;
  const th = state.thresholds || { upper: 0.8, lower: 0.6 };
  const sw = snap.fabric.switches;
  const up = sw.filter((x) => x.connected).length;
  const rows = snap.fabric.links.map((l) => [`${l.src} → ${l.dst}`, rate(l.demand),
    l.forecast ? rate(l.forecast.point) : "–", rate(l.capacity), pct(share(l)), rate(l.held),
    l.failed ? "failed" : "up"]);
  replace(view,
    h("p", { class: "summary" }, `${sw.length} switches (${up} connected), ` +
      `${pairs(snap.fabric.links).size} links, ${snap.routing.failed_links.length} failed`),
    paths.text(),
    h("div", { class: "fabric-wrap" }, graph(snap, th), legend(th)),
    h("details", { "data-key": "links" }, h("summary", { "data-key": "links-summary" }, "Links each way"),
      table("Links", ["link", "measured", "forecast", "capacity", "utilisation", "held", "state"], rows)));
}
