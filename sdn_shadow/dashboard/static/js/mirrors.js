// Mirror sessions: what each copies (filter, direction, sampling, truncation), where to,
// and its live counters with the rates since the previous snapshot. Operators create, edit
// and delete sessions (each confirmed); the form lives outside the redrawn table.

import { h, rate, replace, table } from "./dom.js";

const enc = encodeURIComponent;
let list = null;
let form = null;
let fields = null;
let editing = null; // [network, session, its spec] being edited, or null when creating
let mirrorsDone = null; // refreshes a network's sessions after a change (made in init)

function filterText(spec) {
  if (!spec) return "–";
  const match = spec.match ? Object.entries(spec.match).map(([k, v]) => `${k}=${v}`).join(" ") : "all";
  return `${(spec.hosts || spec.ports || []).join(", ") || "every host"}: ${match}`;
}

const words = (text) => text.split(/[\s,]+/).filter(Boolean);

function field(id, text, input, hint) {
  return h("p", {}, h("label", { for: id }, text), h("br"), input, hint ? h("small", {}, ` ${hint}`) : null);
}

// The spec's keys the form shows; an edit keeps the others (a session's `ports`) as they were.
const SHOWN = ["name", "hosts", "direction", "match", "sample", "truncate", "deliver", "to"];

/** The spec the form describes, as under `shadow.mirror` in the YAML config. */
function spec() {
  const f = fields;
  const out = { name: f.name.value.trim() };
  for (const [k, v] of Object.entries(editing?.[2] || {})) if (!SHOWN.includes(k)) out[k] = v;
  const hosts = words(f.hosts.value);
  if (hosts.length || !out.ports) { // sources are hosts or ports, not both
    delete out.ports;
    out.hosts = hosts;
  }
  out.direction = f.direction.value;
  out.to = words(f.to.value);
  const match = {};
  const proto = f.proto.value;
  if (proto) match.proto = /^\d+$/.test(proto) ? Number(proto) : proto;
  if (f.src.value.trim()) match.src = f.src.value.trim();
  if (f.dst.value.trim()) match.dst = f.dst.value.trim();
  if (f.srcPort.value.trim()) match.src_port = Number(f.srcPort.value);
  if (f.port.value.trim()) match.dst_port = Number(f.port.value);
  if (Object.keys(match).length) out.match = match;
  if (f.sample.value.trim()) out.sample = Number(f.sample.value);
  if (f.truncate.value.trim()) out.truncate = Number(f.truncate.value);
  if (f.deliver.value !== "port") out.deliver = f.deliver.value;
  return out;
}

function fill(network, x) {
  const s = x?.spec || {};
  fields.network.value = network;
  fields.name.value = x?.name || "";
  fields.name.readOnly = Boolean(x);
  fields.hosts.value = (s.hosts || []).join(", ");
  fields.hosts.placeholder = s.ports ? `ports ${s.ports.join(", ")}` : "";
  fields.direction.value = x?.direction || s.direction || "both";
  setProto(s.match?.proto);
  fields.src.value = s.match?.src ?? "";
  fields.dst.value = s.match?.dst ?? "";
  fields.srcPort.value = s.match?.src_port ?? "";
  fields.port.value = s.match?.dst_port ?? "";
  fields.sample.value = s.sample ?? "";
  fields.truncate.value = s.truncate ?? "";
  fields.deliver.value = x?.deliver || s.deliver || "port";
  fields.to.value = (x?.to || s.to || []).join(", ");
  editing = x ? [network, x.name, s] : null;
  fields.network.disabled = Boolean(x);
  fields.submit.textContent = x ? `Save ${x.name}` : "Create session";
  fields.cancel.hidden = !x;
}

/** Select protocol `value` (a name or number), offering it when the list lacks it. */
function setProto(value) {
  const want = String(value ?? "").trim().toLowerCase();
  for (const o of [...fields.proto.options]) if (o.dataset.extra) o.remove();
  if (![...fields.proto.options].some((o) => o.value === want)) {
    fields.proto.append(h("option", { value: want, "data-extra": "yes" }, want));
  }
  fields.proto.value = want;
}

/** Make the table's place and the operators' form (once). */
export function init(panel, state, ctx) {
  list = h("div", {});
  const input = (id, attrs = {}) => h("input", { id, ...attrs });
  const select = (id, options) => h("select", { id },
    options.map(([v, t]) => h("option", { value: v }, t)));
  fields = {
    network: select("mirror-network", []),
    name: input("mirror-name", { required: true, maxlength: 64, autocomplete: "off" }),
    hosts: input("mirror-hosts", { autocomplete: "off" }),
    direction: select("mirror-direction", [["both", "both"], ["in", "in (what the hosts receive)"],
      ["out", "out (what the hosts send)"]]),
    proto: select("mirror-proto", [["", "any"], ["tcp", "tcp"], ["udp", "udp"], ["icmp", "icmp"]]),
    src: input("mirror-src", { autocomplete: "off" }),
    srcPort: input("mirror-src-port", { type: "number", min: 1, max: 65535 }),
    dst: input("mirror-dst", { autocomplete: "off" }),
    port: input("mirror-port", { type: "number", min: 1, max: 65535 }),
    sample: input("mirror-sample", { type: "number", min: 0, max: 1, step: "any" }),
    truncate: input("mirror-truncate", { type: "number", min: 1, step: 1 }),
    deliver: select("mirror-deliver", [["port", "port (copies to a twin skip its stack)"],
      ["stack", "stack (byte-exact)"]]),
    to: input("mirror-to", { autocomplete: "off" }),
    submit: h("button", { type: "submit", class: "primary" }, "Create session"),
    cancel: h("button", { type: "button", hidden: true }, "Stop editing"),
  };
  fields.cancel.addEventListener("click", () => fill(fields.network.value, null));
  form = h("form", { class: "mirror-form", "aria-labelledby": "mirror-form-title" },
    h("h3", { id: "mirror-form-title" }, "Create or edit a session"),
    h("div", { class: "grid" },
      field("mirror-network", "Network", fields.network),
      field("mirror-name", "Name", fields.name),
      field("mirror-hosts", "Hosts", fields.hosts, "comma-separated"),
      field("mirror-direction", "Direction", fields.direction),
      field("mirror-proto", "Protocol", fields.proto),
      field("mirror-src", "Source", fields.src, "address or network; empty: any"),
      field("mirror-src-port", "Source port", fields.srcPort, "empty: any"),
      field("mirror-dst", "Destination", fields.dst, "address or network; empty: any"),
      field("mirror-port", "Destination port", fields.port, "empty: any"),
      field("mirror-sample", "Sample", fields.sample, "share 0–1; empty: every packet"),
      field("mirror-truncate", "Truncate to", fields.truncate, "bytes; empty: whole"),
      field("mirror-deliver", "Delivery", fields.deliver),
      field("mirror-to", "To (twins)", fields.to, "comma-separated")),
    h("p", { class: "actions" }, fields.submit, fields.cancel));
  const done = (net) => async () => { // the table shows the change now, not at the next snapshot
    if (state.snap) state.snap.sessions[net] = await ctx.api.get(`/networks/${enc(net)}/mirror-sessions`);
    fill(net, null);
  };
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const body = spec();
    if (editing) {
      const [net, name] = editing;
      ctx.act(`Replace mirror session ${name} of ${net}?`,
        () => ctx.api.put(`/networks/${enc(net)}/mirror-sessions/${enc(name)}`, body).then(done(net)));
    } else {
      const net = fields.network.value;
      ctx.act(`Create mirror session ${body.name} in ${net}?`,
        () => ctx.api.post(`/networks/${enc(net)}/mirror-sessions`, body).then(done(net)));
    }
  });
  mirrorsDone = done;
  panel.append(list, form);
}

function actions(network, x, ctx) {
  if (!ctx.operator) return "–";
  const key = `${network}/${x.name}`;
  return h("span", { class: "actions" },
    h("button", { type: "button", "data-key": `edit-${key}`,
      onclick: () => { fill(network, x); fields.hosts.focus(); } }, "edit"),
    h("button", { type: "button", "data-key": `delete-${key}`,
      onclick: () => ctx.act(`Delete mirror session ${x.name} of ${network} (its flows and groups go)?`,
        () => ctx.api.delete(`/networks/${enc(network)}/mirror-sessions/${enc(x.name)}`)
          .then(mirrorsDone(network))) },
    "delete"));
}

/** Every network's sessions with their counters (and the form, for operators). */
export function render(panel, state, ctx) {
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
        packets === null ? "–" : `${packets.toFixed(1)} pkt/s`, rate(bytes), actions(network, x, ctx)]);
    }
  }
  replace(list, table("Mirror sessions", ["session", "network", "copies", "direction",
    "sample", "truncate to", "to", "packets", "bytes", "packet rate", "rate", ""], rows,
  "no mirror sessions"), h("p", { class: "note" },
    "Counters are summed over the switches; rates are since the previous snapshot."));
  const nets = Object.keys(snap.sessions);
  form.hidden = !ctx.operator || !nets.length;
  if ([...fields.network.options].map((o) => o.value).join() !== nets.join()) {
    const was = fields.network.value;
    fields.network.replaceChildren(...nets.map((n) => h("option", { value: n }, n)));
    fields.network.value = nets.includes(was) ? was : nets[0] || "";
  }
}
