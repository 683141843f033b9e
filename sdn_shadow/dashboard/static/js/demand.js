// Demand: each series' measured rate, forecast with its interval band, capacity held, thresholds.

import { h, pct, rate, replace, table } from "./dom.js";

const FIELDS = ["measured", "lower", "forecast", "upper", "capacity", "held"];
let chart = null;
let shown = null; // [series key, colour scheme] the chart was made for
let select = null;
let holder = null;
let list = null;

function label(key) {
  const [kind, ...rest] = key.split(":");
  return `${kind} ${rest.join(kind === "link" ? " → " : " ")}`;
}

function colours() {
  const css = getComputedStyle(document.documentElement);
  const c = (name) => css.getPropertyValue(`--${name}`).trim();
  return { text: c("fg"), grid: c("grid"), measured: c("measured"), forecast: c("forecast"),
    band: c("band"), bandFill: c("band-fill"), capacity: c("capacity"), held: c("held"),
    hot: c("hot"), warm: c("warm") };
}

function data(frames, key, th) {
  const xs = frames.map((f) => f.at);
  const col = (i) => frames.map((f) => f.series[key]?.[i] ?? null);
  const cap = col(4);
  return [xs, ...FIELDS.map((_, i) => col(i)),
    cap.map((c) => (c === null ? null : c * th.upper)), cap.map((c) => (c === null ? null : c * th.lower))];
}

function make(key, th) {
  const c = colours();
  const fmt = (u, v) => rate(v);
  const line = (name, stroke, extra = {}) => ({ label: name, stroke, width: 1.5, value: fmt, ...extra });
  const opts = {
    title: label(key), width: Math.max(320, holder.clientWidth - 8), height: 320,
    scales: { x: { time: true } },
    series: [{ label: "time" },
      line("measured", c.measured, { width: 2.5 }),
      line("lower", c.band, { dash: [4, 4] }),
      line("forecast", c.forecast, { width: 2 }),
      line("upper", c.band, { dash: [4, 4] }),
      line("capacity", c.capacity),
      line("held", c.held, { dash: [8, 4] }),
      line(`move off at ${pct(th.upper)}`, c.hot, { dash: [2, 4] }),
      line(`back under ${pct(th.lower)}`, c.warm, { dash: [2, 4] })],
    bands: [{ series: [4, 2], fill: c.bandFill }],
    axes: [{ stroke: c.text, grid: { stroke: c.grid } },
      { stroke: c.text, grid: { stroke: c.grid }, size: 90, values: (u, vals) => vals.map((v) => rate(v)) }],
  };
  // eslint-disable-next-line no-undef
  return new uPlot(opts, [[]], holder);
}

function keys(snap) {
  const order = { link: 0, network: 1, client: 2 };
  return Object.keys(snap.series).sort((a, b) =>
    order[a.split(":")[0]] - order[b.split(":")[0]] || a.localeCompare(b));
}

function busiest(snap) {
  let best = null;
  for (const [key, p] of Object.entries(snap.series)) {
    const u = p[4] ? (p[0] ?? 0) / p[4] : -1;
    if (!best || u > best[1]) best = [key, u];
  }
  return best?.[0] ?? null;
}

/** Make the series chooser and the chart's place (once). */
export function init(panel, state, ctx) {
  select = h("select", { id: "series", "aria-label": "Series" });
  holder = h("div", { class: "chart" });
  list = h("div", {});
  select.addEventListener("change", () => ctx.redraw());
  panel.append(h("p", {}, h("label", { for: "series" }, "Series "), select), holder, list);
  new ResizeObserver(() => chart?.setSize({ width: Math.max(320, holder.clientWidth - 8), height: 320 }))
    .observe(holder);
  matchMedia("(prefers-color-scheme: dark)").addEventListener("change", () => { shown = null; ctx.redraw(); });
}

/** Update the chooser, the chart and the table from the kept frames. */
export function render(panel, state, ctx) {
  const { snap, frames } = state;
  const th = state.thresholds || { upper: 0.8, lower: 0.6 };
  const all = keys(snap);
  if (select.options.length !== all.length || [...select.options].some((o, i) => o.value !== all[i])) {
    const was = select.value;
    select.replaceChildren(...all.map((k) => h("option", { value: k }, label(k))));
    select.value = all.includes(was) ? was : busiest(snap) ?? all[0] ?? "";
  }
  const key = select.value;
  const scheme = matchMedia("(prefers-color-scheme: dark)").matches;
  if (key && (!chart || !shown || shown[0] !== key || shown[1] !== scheme)) {
    chart?.destroy();
    chart = make(key, th);
    shown = [key, scheme];
  }
  if (chart) {
    const d = data(frames, key, th);
    chart.setData(d);
    // what is drawn, for a reader of the page's markup (and its tests): points with a band
    holder.dataset.series = key;
    holder.dataset.band = String(d[2].filter((v, i) => v !== null && d[4][i] !== null).length);
  }
  const rows = all.map((k) => {
    const p = snap.series[k];
    const pick = h("button", { type: "button", "data-key": `show-${k}`,
      onclick: () => { select.value = k; ctx.redraw(); } }, "chart");
    return [label(k), rate(p[0]), rate(p[2]), p[1] === null ? "–" : `${rate(p[1])} – ${rate(p[3])}`,
      rate(p[4]), rate(p[5]), p[4] && p[0] !== null ? pct(p[0] / p[4]) : "–", pick];
  });
  replace(list, table("Latest of every series", ["series", "measured", "forecast",
    "interval", "capacity", "held", "utilisation", ""], rows, "no series yet"));
}
