// Timeline: the controller's events, newest first, filtered by topic, kind and text. Routing
// changes, LDAP mirror rounds (those that changed, found drift, failed or recovered) and
// configuration changes (a file reload, or a network or mirror session changed over the API).

import { clock, h, replace } from "./dom.js";

/** Topics the first filter offers: each a name and the kinds it holds. */
const TOPICS = {
  routing: ["move", "steer", "takeover", "restore", "failover", "failback", "activate",
    "deactivate", "role_swap", "shadow_serving", "primary_serving"],
  directory: ["ldap"],
  configuration: ["config"],
  alerts: ["alert", "alert_closed", "watch_lost", "response"],
  scaling: ["scale"],
};
const TOPIC_NAMES = { routing: "routing and failover", directory: "LDAP mirror rounds",
  configuration: "configuration changes", alerts: "alerts and responses", scaling: "scaling" };
const BAD = new Set(["failed", "rejected", "undone"]); // results worth a second look
const BY_API = /^(network|mirror session) (\S+) (created|replaced|deleted) by ([^:]+)/;

let topics = null;
let kinds = null;
let text = null;
let list = null;

/** Where a configuration change came from: over the API (by whom) or the file. */
function origin(e) {
  const api = BY_API.exec(e.reason ?? "");
  if (api) return `over the API: ${api[1]} ${api[2]} ${api[3]} by ${api[4]}`;
  if (e.result === "undone") return "";
  return "from the configuration file";
}

function subject(e) {
  const client = `${e.network ?? "?"}/${e.client ?? e.host ?? "?"}`;
  switch (e.kind) {
    case "move": return `${client} → ${e.path} path`;
    case "steer": return `${client} new connections → ${e.service === "twin" ? "twins" : "hosts"}`;
    case "failover": case "failback": case "scale": return `link ${e.link}`;
    case "takeover": return `${client} served by its twin`;
    case "restore": return `${client} serves itself`;
    case "ldap": return `LDAP mirror of ${e.network ?? "?"}: round ${e.result ?? ""}`;
    case "config": return `configuration ${e.result ?? ""} ${origin(e)}`.trim();
    default: return e.network ? `network ${e.network}` : "";
  }
}

function topic(kind) {
  return Object.keys(TOPICS).find((name) => TOPICS[name].includes(kind)) ?? "other";
}

/** Make the filter controls (once). */
export function init(panel, state, ctx) {
  topics = h("select", { id: "timeline-topic" }, h("option", { value: "" }, "everything"),
    ...Object.keys(TOPICS).map((t) => h("option", { value: t }, TOPIC_NAMES[t])),
    h("option", { value: "other" }, "other"));
  kinds = h("select", { id: "timeline-kind" }, h("option", { value: "" }, "every kind"));
  text = h("input", { id: "timeline-text", type: "search", placeholder: "host, link, reason…" });
  list = h("ol", { class: "timeline", reversed: true });
  for (const el of [topics, kinds]) el.addEventListener("change", () => ctx.redraw());
  text.addEventListener("input", () => ctx.redraw());
  panel.append(h("p", { class: "filters" },
    h("label", { for: "timeline-topic" }, "Show "), topics, " ",
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
  const about = topics.value;
  const want = kinds.value;
  const needle = text.value.trim().toLowerCase();
  const shown = state.events.filter((e) => (!about || topic(e.kind) === about) &&
    (!want || e.kind === want) &&
    (!needle || `${subject(e)} ${JSON.stringify(e)}`.toLowerCase().includes(needle)))
    .slice(-500).reverse();
  replace(list, shown.length ? shown.map((e) => h("li", {
    class: `kind-${e.kind}${BAD.has(e.result) ? " bad" : ""}`, "data-id": e.id,
    "data-kind": e.kind, "data-result": e.result },
  h("time", {}, clock(e.t)), " ", h("strong", {}, e.kind), " ", subject(e),
  e.reason ? h("span", { class: "reason" }, ` — ${e.reason}`) : null))
    : h("li", { class: "empty" }, "no events"));
}
