// Shadows: per network, active or standing by, where its clients go, takeovers and role swaps;
// operators move clients, activate, deactivate and swap roles (each confirmed).

import { h, rate, replace, table } from "./dom.js";

const enc = encodeURIComponent;

function count(events, kind, network) {
  return events.filter((e) => e.kind === kind && e.network === network).length;
}

function button(ctx, key, text, question, fn) {
  if (!ctx.operator) return null;
  return h("button", { type: "button", "data-key": key, onclick: () => ctx.act(question, fn) }, text);
}

function hostRow(net, host, takenOver, ctx) {
  const base = `/networks/${enc(net.name)}/clients/${enc(host.name)}`;
  const other = host.path === "shadow" ? "primary" : "shadow";
  const service = host.service === "twin" ? "primary" : "twin";
  const put = (body) => (reason) => ctx.api.put(base, { ...body, reason });
  const actions = h("span", { class: "actions" },
    button(ctx, `${net.name}/${host.name}/path`, `move to ${other}`,
      `Move ${net.name}/${host.name} to its ${other} path?`, put({ path: other })),
    net.shadow.services.length ? button(ctx, `${net.name}/${host.name}/service`,
      service === "twin" ? "steer to twins" : "serve from hosts",
      `Send ${net.name}/${host.name}'s new connections to the ${service === "twin" ? "twins" : "primary hosts"}?`,
      put({ service })) : null);
  return [host.name, `${host.switch}:${host.port}`, host.path, host.service, host.served_by,
    takenOver.has(`${net.name}/${host.name}`) ? "yes" : "no", host.role_swapped ? "yes" : "no",
    ctx.operator ? actions : "–"];
}

function card(net, state, ctx) {
  const sh = net.shadow;
  const routing = state.snap.routing;
  const takenOver = new Set(routing.taken_over);
  const base = `/networks/${enc(net.name)}/shadow`;
  const post = (what) => (reason) => ctx.api.post(`${base}/${what}`, { reason });
  const alloc = sh.allocation;
  const onShadow = net.hosts.filter((x) => x.path === "shadow").length;
  const steered = net.hosts.filter((x) => x.service === "twin").length;
  return h("article", { class: "card" },
    h("h3", {}, `${net.name} `, h("span", { class: `badge ${sh.active ? "hot" : "ok"}` },
      sh.active ? "shadow active" : "standing by")),
    h("p", {}, `${net.cidr}, shadow VLAN ${sh.vlan}; ${onShadow} of ${net.hosts.length} clients ` +
      `on the shadow path, ${steered} steered to twins; ${count(state.events, "takeover", net.name)} ` +
      `takeovers and ${count(state.events, "role_swap", net.name)} role swaps seen.`),
    alloc ? h("p", {}, `Capacity held: ${rate(alloc.held)} (${alloc.strategy}; forecast ` +
      `${rate(alloc.point)}, upper ${rate(alloc.upper)})`,
    alloc.recommendation ? h("br") : null, alloc.recommendation || null) : null,
    h("p", { class: "actions" },
      sh.active ? button(ctx, `${net.name}/deactivate`, "deactivate",
        `Deactivate ${net.name}'s shadow (the primary serves again)?`, post("deactivate"))
        : button(ctx, `${net.name}/activate`, "activate",
          `Activate ${net.name}'s shadow (the twins serve, the primary stands by)?`, post("activate")),
      button(ctx, `${net.name}/swap`, "swap roles",
        `Swap every host of ${net.name} with its twin?`, post("role-swap"))),
    table(`Clients of ${net.name}`, ["host", "at", "path", "service", "served by",
      "taken over", "role swapped", "change"], net.hosts.map((x) => hostRow(net, x, takenOver, ctx))),
    table(`Twins of ${net.name}`, ["twin", "of", "at", "ip"],
      sh.twins.map((t) => [t.name, t.twin, `${t.switch}:${t.port}`, t.ip])));
}

/** Each shadowed network as a card. */
export function render(panel, state, ctx) {
  const nets = state.snap.networks.filter((n) => n.shadow);
  replace(panel,
    ctx.operator ? null : h("p", { class: "note" }, "Read only: your role is viewer."),
    nets.length ? nets.map((n) => card(n, state, ctx)) : h("p", {}, "No network has a shadow."));
}
