// A host pair's primary and shadow paths on the Fabric tab: the picker, the API's answer
// (GET /networks/{name}/paths), read again when routing changes, and the graph's overlay:
// both paths and, where a failover group on the way sends it elsewhere, the route taken.

import { h, s } from "./dom.js";

const enc = encodeURIComponent;
const pick = { network: "", src: "", dst: "" };
let boxes = null; // the three selects, made once
let found = null; // the answer for `asked`, or null
let failure = "";
let asked = ""; // the pair and routing state last asked about
let seq = 0; // answers to older questions are dropped

function select(id, text, key, ctx) {
  const el = h("select", { id, "data-key": `pair-${key}` });
  el.addEventListener("change", () => {
    pick[key] = el.value;
    if (key === "network") { pick.src = ""; pick.dst = ""; }
    ctx.redraw();
  });
  return [h("label", { for: id }, text), el];
}

/** The picker: network, source host, destination host (made once, kept across redraws). */
export function controls(ctx) {
  const [nl, network] = select("pair-network", "Network", "network", ctx);
  const [sl, src] = select("pair-src", "From host", "src", ctx);
  const [dl, dst] = select("pair-dst", "to host", "dst", ctx);
  boxes = { network, src, dst };
  return h("fieldset", { class: "pair filters" }, h("legend", {}, "Paths of a host pair"),
    nl, network, sl, src, dl, dst);
}

function options(el, values, chosen, blank) {
  const want = [blank === null ? [] : [["", blank]], values.map((v) => [v, v])].flat();
  const have = [...el.options].map((o) => [o.value, o.textContent]);
  if (JSON.stringify(want) !== JSON.stringify(have)) {
    el.replaceChildren(...want.map(([v, t]) => h("option", { value: v }, t)));
  }
  el.value = values.includes(chosen) ? chosen : "";
}

/** What a change of routing changes: failed links, moves, twins serving, and the events. */
function signature(state) {
  const r = state.snap.routing || {};
  const last = state.events.length ? state.events[state.events.length - 1].id : null;
  return JSON.stringify([r.failed_links, r.shadow_path, r.served_by_twins, r.roles_swapped,
    r.taken_over, last]);
}

/** Bring the picker to the snapshot's networks and ask for the pair's paths when the pair
 *  or the routing changed. */
export function refresh(state, ctx) {
  const nets = state.snap.networks.filter((n) => n.shadow);
  if (!nets.some((n) => n.name === pick.network)) pick.network = nets[0]?.name || "";
  const hosts = (nets.find((n) => n.name === pick.network)?.hosts || []).map((x) => x.name);
  if (!hosts.includes(pick.src)) pick.src = "";
  if (!hosts.includes(pick.dst)) pick.dst = "";
  options(boxes.network, nets.map((n) => n.name), pick.network, nets.length ? null : "no shadowed network");
  options(boxes.src, hosts, pick.src, "choose");
  options(boxes.dst, hosts, pick.dst, "choose");
  const { network, src, dst } = pick;
  if (!src || !dst || src === dst || !ctx.api) {
    found = null; failure = ""; asked = "";
    return;
  }
  const key = `${network}\n${src}\n${dst}\n${signature(state)}`;
  if (key === asked) return;
  asked = key;
  const mine = ++seq;
  ctx.api.get(`/networks/${enc(network)}/paths?src=${enc(src)}&dst=${enc(dst)}`)
    .then((answer) => { if (mine === seq) { found = answer; failure = ""; ctx.redraw(); } })
    .catch((err) => { if (mine === seq) { found = null; failure = err.message; ctx.redraw(); } });
}

function shown() { // the answer, if it is for the pair chosen now
  const f = found;
  return f && f.network === pick.network && f.src.host === pick.src && f.dst.host === pick.dst ? f : null;
}

/** Draw both paths over the links: primary solid, shadow dashed, the one taken thicker; a
 *  route that is neither (a transit switch's group turned it, or it is lost) dotted. */
export function overlay(svg, at) {
  const f = shown();
  if (!f) return;
  const g = s("g", { class: "paths", "data-primary": f.primary.join(" "),
    "data-shadow": f.shadow.join(" "), "data-current": f.current,
    "data-taken": (f.taken || []).join(" ") }, s("title", {}, line(f)));
  const ways = [["primary", -1, f.primary], ["shadow", 1, f.shadow]];
  if (!["primary", "shadow"].includes(f.current)) ways.push(["taken", 0, f.taken || []]);
  for (const [kind, side, path] of ways) {
    for (let i = 0; i + 1 < path.length; i += 1) {
      const [u, v] = [path[i], path[i + 1]].sort(); // the same side whichever way it goes
      const a = at.get(u);
      const b = at.get(v);
      if (!a || !b) continue;
      const len = Math.hypot(b.x - a.x, b.y - a.y) || 1;
      const dx = (-(b.y - a.y) / len) * 7 * side;
      const dy = ((b.x - a.x) / len) * 7 * side;
      const now = f.current === kind || kind === "taken";
      g.append(s("line", { class: `path ${kind}${now ? " current" : ""}`,
        "data-path": kind, "data-hop": `${path[i]}-${path[i + 1]}`,
        x1: a.x + dx, y1: a.y + dy, x2: b.x + dx, y2: b.y + dy }));
    }
  }
  svg.append(g);
}

function line(f) {
  const taken = (kind) => (f.current === kind ? " (traffic takes it now)" : "");
  const way = (f.taken || []).join(" → ");
  const other = { detour: `; traffic takes ${way} now`,
    lost: `; traffic is lost: it gets as far as ${way}` }[f.current] || "";
  return `${f.network}: ${f.src.host} → ${f.dst.host}: primary ${f.primary.join(" → ")}` +
    `${taken("primary")}; shadow ${f.shadow.join(" → ")}${taken("shadow")}${other} · ${f.reason}`;
}

/** The text line naming both paths (or why there are none). */
export function text() {
  const f = shown();
  const attrs = { id: "pair-paths", class: "pair-paths", "aria-live": "polite" };
  if (f) return h("p", { ...attrs, "data-current": f.current }, line(f));
  if (failure) return h("p", { ...attrs, class: "pair-paths bad" }, `No paths: ${failure}`);
  const why = pick.src && pick.src === pick.dst ? "Choose two different hosts."
    : "Choose a source and a destination host to highlight their paths.";
  return h("p", { ...attrs, class: "pair-paths note" }, why);
}

/** Legend entries for the overlay. */
export function legend(item) {
  return [item("path-primary", "primary path of the pair (solid)"),
    item("path-shadow", "shadow path of the pair (dashed)"),
    item("path-current", "thicker: the path traffic takes now"),
    item("path-taken", "dotted: where traffic goes when it is neither (or is lost)")];
}
