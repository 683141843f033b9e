// Timeline: the controller's events, newest first, filtered by kind and text.

import { clock, h, replace } from "./dom.js";

let kinds = null;
let text = null;
let list = null;

function subject(e) {
  const client = `${e.network ?? "?"}/${e.client ?? e.host ?? "?"}`;
  switch (e.kind) {
    case "move": return `${client} → ${e.path} path`;
    case "steer": return `${client} new connections → ${e.service === "twin" ? "twins" : "hosts"}`;
    case "failover": case "failback": case "scale": return `link ${e.link}`;
    case "takeover": return `${client} served by its twin`;
    case "restore": return `${client} serves itself`;
    case "config": return `configuration ${e.result ?? ""}`;
    default: return e.network ? `network ${e.network}` : "";
  }
}

/** Make the filter controls (once). */
export function init(panel, state, ctx) {
  kinds = h("select", { id: "timeline-kind" }, h("option", { value: "" }, "every kind"));
  text = h("input", { id: "timeline-text", type: "search", placeholder: "host, link, reason…" });
  list = h("ol", { class: "timeline", reversed: true });
  kinds.addEventListener("change", () => ctx.redraw());
  text.addEventListener("input", () => ctx.redraw());
  panel.append(h("p", { class: "filters" },
    h("label", { for: "timeline-kind" }, "Kind "), kinds, " ",
    h("label", { for: "timeline-text" }, "Contains "), text), list);
}

/** The events kept, filtered. */
export function render(panel, state) {
  const seen = [...new Set(state.events.map((e) => e.kind))].sort();
  const have = [...kinds.options].slice(1).map((o) => o.value);
  if (seen.join() !== have.join()) {
    const was = kinds.value;
    kinds.replaceChildren(h("option", { value: "" }, "every kind"),
      ...seen.map((k) => h("option", { value: k }, k)));
    kinds.value = seen.includes(was) ? was : "";
  }
  const want = kinds.value;
  const needle = text.value.trim().toLowerCase();
  const shown = state.events.filter((e) => (!want || e.kind === want) &&
    (!needle || JSON.stringify(e).toLowerCase().includes(needle))).slice(-500).reverse();
  replace(list, shown.length ? shown.map((e) => h("li", { class: `kind-${e.kind}` },
    h("time", {}, clock(e.t)), " ", h("strong", {}, e.kind), " ", subject(e),
    e.reason ? h("span", { class: "reason" }, ` — ${e.reason}`) : null))
    : h("li", { class: "empty" }, "no events"));
}
