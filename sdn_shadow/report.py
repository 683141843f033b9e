"""The demo's report: one self-contained HTML file (charts inlined, nothing fetched).

`render(record)` turns what a demo run recorded into a page: the forecast
against what was measured (the interval as a band, each forecast drawn at
the time it was for), the controller's events of each act on a timeline
(moves, failovers, takeovers, alerts, blocks), the alerts with their
responses, and each act's summary. The charting library is the dashboard's
vendored uPlot, inlined with its licence; a Content-Security-Policy
allows only the page's own inline scripts (by hash) and styles, so opening
the file asks nothing of any network.

A record is plain JSON-able data (see `new_record`, `add_act`): the demo
writes it beside the report, and tests render recorded or made-up ones.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import math
from pathlib import Path
from typing import Any

from sdn_shadow.timeline import describe

VENDOR = Path(__file__).resolve().parent / "dashboard" / "static" / "vendor" / "uplot"
#: lanes of the timeline, top to bottom; other kinds go to "other"
LANES = ("move", "steer", "failover", "failback", "takeover", "restore", "role_swap", "scale",
         "activate", "deactivate", "alert", "alert_closed", "response", "config", "other")
#: events drawn on the forecast charts as dashed lines
MARKED = ("move", "steer", "failover", "failback", "takeover", "restore", "alert", "response")


def new_record(title: str, started: float) -> dict[str, Any]:
    """An empty record of a demo run that began at `started` (epoch seconds)."""
    return {"title": title, "started": started, "finished": None, "ok": None, "acts": []}


def add_act(record: dict[str, Any], name: str, title: str, start: float,
            summary: list[str], problems: list[str], events: list[dict[str, Any]],
            series: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """Add one act (its events from `start` on, and any sampled `series`); the act.

    A series: `key`, `horizon` (s), `level`, `capacity` (bytes/s or None) and
    `samples`, each `[t, measured, lower, point, upper]` in bytes/s.
    """
    act = {"name": name, "title": title, "start": start, "summary": list(summary),
           "problems": list(problems),
           "events": [e for e in events if float(e.get("t", 0.0)) >= start],
           "series": list(series or [])}
    record["acts"].append(act)
    return act


# ------------------------------------------------------------------------- figures


def _mbps(value: float | None) -> float | None:
    if value is None or not math.isfinite(float(value)):
        return None
    return round(float(value) * 8 / 1e6, 3)


def aligned(series: dict[str, Any]) -> dict[str, list[float | None]]:
    """The series on one time axis: measured at each sample's time, each forecast (and its
    interval) at the time it was made for (`horizon` later). Rates in Mbit/s."""
    horizon = float(series.get("horizon") or 0.0)
    rows: dict[float, list[float | None]] = {}
    for t, measured, lower, point, upper in series["samples"]:
        row = rows.setdefault(round(float(t), 2), [None] * 4)
        row[0] = _mbps(measured)
        ahead = rows.setdefault(round(float(t) + horizon, 2), [None] * 4)
        ahead[1:] = [_mbps(lower), _mbps(point), _mbps(upper)]
    xs = sorted(rows)
    out: dict[str, list[float | None]] = {"x": [float(x) for x in xs]}
    for i, name in enumerate(("measured", "lower", "point", "upper")):
        out[name] = [rows[x][i] for x in xs]
    return out


def coverage(series: dict[str, Any]) -> tuple[int, int]:
    """(inside, compared): measured samples inside the interval forecast for their time (the
    forecast made closest to `horizon` earlier, within half the median sample gap)."""
    samples = sorted(series["samples"], key=lambda s: s[0])
    horizon = float(series.get("horizon") or 0.0)
    times = [float(s[0]) for s in samples]
    gaps = sorted(b - a for a, b in zip(times, times[1:], strict=False) if b > a)
    slack = gaps[len(gaps) // 2] / 2 if gaps else 0.0
    inside = compared = 0
    for t, measured, *_ in samples:
        if measured is None:
            continue
        made = min(samples, key=lambda s: abs(float(s[0]) - (float(t) - horizon)))
        lower, upper = made[2], made[4]
        if lower is None or upper is None or abs(float(made[0]) - (t - horizon)) > slack:
            continue
        compared += 1
        inside += lower <= measured <= upper
    return inside, compared


def counts(record: dict[str, Any]) -> dict[str, int]:
    """How many events of each kind the run had (blocks as `block`)."""
    out: dict[str, int] = {}
    for act in record["acts"]:
        for event in act["events"]:
            kind = event.get("kind", "other")
            if kind == "response":
                kind = str(event.get("action", "response"))
            out[kind] = out.get(kind, 0) + 1
    return dict(sorted(out.items()))


# ------------------------------------------------------------------------- markup


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _lane(event: dict[str, Any]) -> str:
    kind = str(event.get("kind", "other"))
    return kind if kind in LANES else "other"


def timeline_svg(act: dict[str, Any], width: int = 1000) -> str:
    """The act's events as marks on lanes by kind, seconds since the act began (inline SVG)."""
    events = sorted(act["events"], key=lambda e: float(e.get("t", 0.0)))
    lanes = [k for k in LANES if any(_lane(e) == k for e in events)]
    if not events:
        return '<p class="empty">No controller events in this act.</p>'
    start = float(act["start"])
    span = act_span(act)
    left, right, lane_h, top = 110, 20, 26, 10
    height = top + lane_h * len(lanes) + 30
    scale = (width - left - right) / span
    parts = [f'<svg class="timeline" data-events="{len(events)}" viewBox="0 0 {width} {height}"'
             f' role="img" aria-label="{_e(act["title"])}: {len(events)} events">']
    for i, lane in enumerate(lanes):
        y = top + lane_h * i + lane_h / 2
        parts.append(f'<text class="lane" x="{left - 8}" y="{y + 4:.1f}" '
                     f'text-anchor="end">{_e(lane)}</text>'
                     f'<line class="lane" x1="{left}" x2="{width - right}" y1="{y:.1f}" '
                     f'y2="{y:.1f}"/>')
    for tick in _ticks(span):
        x = left + tick * scale
        parts.append(f'<text class="tick" x="{x:.1f}" y="{height - 8}" '
                     f'text-anchor="middle">{tick:g} s</text>')
    for event in events:
        lane = _lane(event)
        x = left + (float(event["t"]) - start) * scale
        y = top + lane_h * lanes.index(lane) + lane_h / 2
        tip = (f'+{float(event["t"]) - start:.1f} s {event.get("kind")}: {describe(event)}'
               f'{" (" + str(event["reason"]) + ")" if event.get("reason") else ""}')
        parts.append(f'<g class="mark {_e(lane)}"><title>{_e(tip)}</title>'
                     f'<circle cx="{x:.1f}" cy="{y:.1f}" r="6"/></g>')
    parts.append("</svg>")
    return "".join(parts)


def act_span(act: dict[str, Any]) -> float:
    """Seconds from the act's start to its last event or sample (forecasts included)."""
    ends = [float(e["t"]) for e in act["events"]]
    for series in act["series"]:
        ends += [float(s[0]) + float(series.get("horizon") or 0.0) for s in series["samples"]]
    return max(1.0, max(ends, default=0.0) - float(act["start"]))


def _ticks(span: float) -> list[float]:
    step = next(s for s in (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 1e9) if span / s <= 10)
    return [i * step for i in range(int(span // step) + 1)]


def _events_table(act: dict[str, Any]) -> str:
    start = float(act["start"])
    rows = "".join(
        f'<tr><td>+{float(e["t"]) - start:.1f} s</td><td>{_e(e.get("kind"))}</td>'
        f'<td>{_e(describe(e))}</td><td>{_e(e.get("reason", ""))}</td></tr>'
        for e in sorted(act["events"], key=lambda e: float(e.get("t", 0.0))))
    return (f'<details><summary>{len(act["events"])} events as a table</summary><table>'
            '<thead><tr><th>when</th><th>kind</th><th>what</th><th>why</th></tr></thead>'
            f"<tbody>{rows}</tbody></table></details>")


def _alerts(record: dict[str, Any]) -> str:
    rows = []
    for act in record["acts"]:
        for e in act["events"]:
            if e.get("kind") == "alert":
                rows.append((act, e, "alert"))
            elif e.get("kind") == "response":
                rows.append((act, e, str(e.get("action", "response"))))
    if not rows:
        return '<p class="empty">No alert was raised.</p>'
    body = "".join(
        f'<tr class="{_e(what)}"><td>{_e(act["name"])}</td>'
        f'<td>+{float(e["t"]) - float(act["start"]):.1f} s</td><td>{_e(what)}</td>'
        f'<td>{_e(e.get("alert_kind") or "–")}</td>'
        f'<td>{_e(", ".join(map(str, e.get("sources") or [])) or e.get("source", ""))}</td>'
        f'<td>{_e(e.get("reason", ""))}</td></tr>' for act, e, what in rows)
    return ('<table class="alerts"><thead><tr><th>act</th><th>when</th><th>what</th>'
            '<th>kind</th><th>sources</th><th>details</th></tr></thead>'
            f"<tbody>{body}</tbody></table>")


def _numbers(record: dict[str, Any], plots: list[dict[str, Any]]) -> str:
    items = [f"<li><b>{n}</b> {_e(k)}</li>" for k, n in counts(record).items()]
    for plot in plots:
        inside, compared = plot["coverage"]
        if not compared:
            items.append(f'<li>no forecast of {_e(plot["label"])} to compare with what was '
                         "measured</li>")
            continue
        share = f"{100.0 * inside / compared:.0f}%"
        items.append(f'<li><b>{share}</b> of {compared} measured points of '
                     f'{_e(plot["label"])} inside the forecast\'s '
                     f'{float(plot["level"]):.0%} interval</li>')
    return f'<ul class="numbers">{"".join(items)}</ul>'


def _label(key: str) -> str:
    kind, _, rest = key.partition(":")
    return f"{kind} {rest.replace(':', ' → ' if kind == 'link' else ' ')}"


def _plots(record: dict[str, Any]) -> list[dict[str, Any]]:
    plots = []
    for act in record["acts"]:
        for series in act["series"]:
            if not series["samples"]:
                continue
            lines = aligned(series)
            top = max((v for k in ("measured", "point") for v in lines[k] if v is not None),
                      default=0.0)
            plots.append({"act": act["name"], "label": _label(series["key"]),
                          "top": round(max(top * 1.5, 1.0), 3), "start": float(act["start"]),
                          "span": act_span(act),
                          "level": series.get("level", 0.9),
                          "horizon": series.get("horizon", 0),
                          "capacity": _mbps(series.get("capacity")),
                          "coverage": coverage(series), **lines,
                          "marks": [{"t": float(e["t"]), "kind": str(e.get("kind"))}
                                    for e in act["events"] if e.get("kind") in MARKED]})
    return plots


def _script_hash(code: str) -> str:
    digest = hashlib.sha256(code.encode()).digest()
    return f"'sha256-{base64.b64encode(digest).decode()}'"


DRAW = """
const data = JSON.parse(document.getElementById("report-data").textContent);
const css = getComputedStyle(document.documentElement);
const c = (n) => css.getPropertyValue("--" + n).trim();
const fmt = (u, v) => v === null || v === undefined ? "–" : v.toFixed(2) + " Mbit/s";
for (const el of document.querySelectorAll("[data-plot]")) {
  const p = data.plots[Number(el.dataset.plot)];
  const line = (label, stroke, extra) => Object.assign(
    { label, stroke, width: 1.5, spanGaps: true, value: fmt }, extra || {});
  const opts = {
    width: Math.max(320, el.clientWidth || 900), height: 300,
    // rates are never negative; an interval that blows up (e.g. just after a failure) is
    // clipped at 1.5 x the highest measured rate or forecast, not allowed to flatten the rest
    scales: { x: { time: false, range: () => [0, p.span] }, y: { range: () => [0, p.top] } },
    series: [{ label: "seconds", value: (u, v) => v === null ? "–" : v.toFixed(1) + " s" },
      line("measured", c("measured"), { width: 2.5 }),
      line("lower", c("band"), { dash: [4, 4] }),
      line("forecast", c("forecast"), { width: 2 }),
      line("upper", c("band"), { dash: [4, 4] })],
    bands: [{ series: [4, 2], fill: c("band-fill") }],
    axes: [{ stroke: c("fg"), grid: { stroke: c("grid") },
      values: (u, v) => v.map((x) => x + " s") },
    { stroke: c("fg"), grid: { stroke: c("grid") }, size: 70,
      values: (u, v) => v.map((x) => x + " M") }],
  };
  const t0 = p.start; // seconds since the act began, as on its timeline
  opts.hooks = { draw: [(u) => { // the act's moves, failovers, alerts... as dashed lines
    const g = u.ctx;
    const dpr = window.devicePixelRatio || 1;
    g.save();
    g.strokeStyle = c("mark");
    g.fillStyle = c("fg");
    g.font = `${11 * dpr}px system-ui, sans-serif`;
    g.setLineDash([4 * dpr, 4 * dpr]);
    p.marks.forEach((m, i) => {
      const x = u.valToPos(m.t - t0, "x", true);
      if (x < u.bbox.left || x > u.bbox.left + u.bbox.width) return;
      g.beginPath();
      g.moveTo(x, u.bbox.top);
      g.lineTo(x, u.bbox.top + u.bbox.height);
      g.stroke();
      g.fillText(m.kind, x + 3 * dpr, u.bbox.top + (12 + 12 * (i % 3)) * dpr);
    });
    g.restore();
  }] };
  new uPlot(opts, [p.x.map((x) => x - t0), p.measured, p.lower, p.point, p.upper], el);
  el.dataset.drawn = String(p.x.length);
}
document.body.dataset.ready = "yes";
"""

STYLE = """
:root { color-scheme: light dark; --bg: #fff; --fg: #1b1f24; --muted: #57606a; --grid: #e2e5e9;
  --measured: #1f5fa8; --forecast: #7b3fc4; --band: #a77be0; --band-fill: rgba(167,123,224,.25);
  --ok: #1a7f37; --bad: #c4302b; --card: #f6f8fa; --mark: #b35c00; }
@media (prefers-color-scheme: dark) { :root { --bg: #0f1217; --fg: #e6edf3; --muted: #9aa5b1;
  --grid: #2b323b; --measured: #6cb6ff; --forecast: #d2a8ff; --band: #b988f5;
  --band-fill: rgba(185,136,245,.22); --ok: #57d37a; --bad: #ff7b72; --card: #161b22;
  --mark: #f0a040; } }
body { margin: 0 auto; max-width: 1100px; padding: 1rem 1.5rem 3rem; background: var(--bg);
  color: var(--fg); font: 15px/1.45 system-ui, sans-serif; }
h1 { font-size: 1.5rem; } h2 { margin-top: 2rem; border-bottom: 1px solid var(--grid); }
.ok { color: var(--ok); } .bad { color: var(--bad); } .empty, .note { color: var(--muted); }
.plot { background: var(--card); border-radius: 6px; padding: .5rem; margin: .75rem 0; }
ul.numbers { display: flex; flex-wrap: wrap; gap: .5rem 1.5rem; list-style: none; padding: 0; }
table { border-collapse: collapse; width: 100%; margin: .5rem 0; }
th, td { text-align: left; padding: .25rem .5rem; border-bottom: 1px solid var(--grid);
  vertical-align: top; }
svg.timeline { width: 100%; height: auto; background: var(--card); border-radius: 6px; }
svg.timeline text { fill: var(--fg); font-size: 12px; }
svg.timeline line.lane { stroke: var(--grid); }
svg.timeline circle { fill: var(--measured); stroke: var(--bg); stroke-width: 1.5; }
svg.timeline .alert circle, svg.timeline .response circle { fill: var(--bad); }
svg.timeline .failover circle, svg.timeline .takeover circle { fill: #d4830a; }
svg.timeline .move circle, svg.timeline .steer circle { fill: var(--forecast); }
pre { white-space: pre-wrap; background: var(--card); padding: .5rem; border-radius: 6px; }
"""


def render(record: dict[str, Any]) -> str:
    """The report of `record` as one HTML document that needs nothing else."""
    plots = _plots(record)
    uplot_js = (VENDOR / "uPlot.iife.min.js").read_text()
    uplot_css = (VENDOR / "uPlot.min.css").read_text()
    payload = json.dumps({"plots": plots}, separators=(",", ":")).replace("</", "<\\/")
    csp = (f"default-src 'none'; script-src {_script_hash(uplot_js)} {_script_hash(DRAW)}; "
           "style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'")
    ok = record.get("ok")
    verdict = ('<p class="ok">All checks passed.</p>' if ok else
               '<p class="bad">Some checks failed: ' +
               _e("; ".join(p for a in record["acts"] for p in a["problems"])) + "</p>"
               if ok is False else "")
    body = [f"<h1>{_e(record['title'])}</h1>", verdict,
            '<h2 id="numbers">The numbers</h2>', _numbers(record, plots),
            '<h2 id="forecast">Forecast against what was measured</h2>']
    if plots:
        body.append('<p class="note">Each forecast is drawn at the time it was for (its horizon'
                    ' after it was made), its interval as a band; the measured rate is the '
                    'thick line. The rate axis ends at 1.5 times the highest rate measured or '
                    'forecast: wider intervals are cut off there.</p>')
    else:
        body.append('<p class="empty">No series was sampled.</p>')
    for i, plot in enumerate(plots):
        body.append(f'<h3>{_e(plot["label"])} ({_e(plot["act"])} act, {plot["horizon"]:g} s '
                    f'ahead, {float(plot["level"]):.0%} interval)</h3>'
                    f'<div class="plot" data-plot="{i}" role="img" '
                    f'aria-label="{_e(plot["label"])}: forecast against measured"></div>')
    body.append('<h2 id="timeline">What the controller did, act by act</h2>')
    for act in record["acts"]:
        body.append(f'<h3>{_e(act["title"])}</h3>{timeline_svg(act)}{_events_table(act)}')
    body += ['<h2 id="alerts">Alerts and responses</h2>', _alerts(record),
             '<h2 id="summary">Each act\'s summary</h2>']
    for act in record["acts"]:
        body.append(f'<h3>{_e(act["title"])}</h3><pre>{_e(chr(10).join(act["summary"]))}</pre>')
    return ("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f'<meta http-equiv="Content-Security-Policy" content="{_e(csp)}">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            '<meta name="color-scheme" content="light dark">'
            f"<title>{_e(record['title'])}</title><style>{uplot_css}{STYLE}</style></head>"
            f"<body>{''.join(body)}<!-- uPlot, inlined below:\n"
            f"{_e((VENDOR / 'LICENSE').read_text())}-->"
            f'<script type="application/json" id="report-data">{payload}</script>'
            f"<script>{uplot_js}</script><script>{DRAW}</script></body></html>\n")


def write(record: dict[str, Any], path: Path) -> Path:
    """Write the report of `record` to `path` (and the record beside it, as JSON); `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(record))
    path.with_suffix(".json").write_text(json.dumps(record, indent=1, default=str))
    return path
