// Small DOM helpers and number formats shared by the views.

const SVG_NS = "http://www.w3.org/2000/svg";

function fill(el, attrs, children) {
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "text") el.textContent = v;
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

/** An HTML element: h("td", {class: "num"}, "42"). */
export function h(tag, attrs, ...children) {
  return fill(document.createElement(tag), attrs, children);
}

/** An SVG element. */
export function s(tag, attrs, ...children) {
  return fill(document.createElementNS(SVG_NS, tag), attrs, children);
}

/** A rate in bytes/s as bits per second with a unit. */
export function rate(bytesPerSecond) {
  if (bytesPerSecond === null || bytesPerSecond === undefined) return "–";
  let v = bytesPerSecond * 8;
  for (const unit of ["bit/s", "kbit/s", "Mbit/s", "Gbit/s"]) {
    if (Math.abs(v) < 1000 || unit === "Gbit/s") return `${v.toFixed(v < 10 ? 2 : 1)} ${unit}`;
    v /= 1000;
  }
  return "–";
}

/** A share as a percentage. */
export function pct(share) {
  return share === null || share === undefined ? "–" : `${Math.round(share * 100)} %`;
}

/** A controller time (seconds since the epoch) as local time of day. */
export function clock(t) {
  if (t === null || t === undefined) return "–";
  return new Date(t * 1000).toLocaleTimeString();
}

/** A table from a header row and rows of cells (strings or nodes). */
export function table(caption, heads, rows, empty = "none") {
  const body = rows.length ? rows.map((r) => h("tr", {}, r.map((c) => h("td", {}, c))))
    : [h("tr", {}, h("td", { colspan: heads.length, class: "empty" }, empty))];
  return h("table", {}, h("caption", {}, caption),
    h("thead", {}, h("tr", {}, heads.map((x) => h("th", { scope: "col" }, x)))),
    h("tbody", {}, body));
}

/** Replace `el`'s children, keeping focus and open <details> where data-key matches. */
export function replace(el, ...children) {
  const active = document.activeElement;
  const key = active && el.contains(active) ? active.dataset.key : undefined;
  const open = [...el.querySelectorAll("details[data-key][open]")].map((d) => d.dataset.key);
  el.replaceChildren(...children.flat().filter((c) => c));
  const find = (k) => el.querySelector(`[data-key="${CSS.escape(k)}"]`);
  for (const k of open) find(k)?.setAttribute("open", "");
  if (key) find(key)?.focus();
}
