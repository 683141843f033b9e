// The dashboard: login, tabs, and the state the stream keeps current.

import { Api, ApiError, authorization } from "./api.js";
import { ask } from "./confirm.js";
import * as alerts from "./alerts.js";
import * as demand from "./demand.js";
import * as fabric from "./fabric.js";
import * as mirrors from "./mirrors.js";
import * as scaling from "./scaling.js";
import * as shadows from "./shadows.js";
import * as timeline from "./timeline.js";

const VIEWS = { fabric, demand, shadows, mirrors, alerts, scaling, timeline };
const MAX_FRAMES = 720;
const MAX_EVENTS = 2000;
const BACKLOG = 500; // events read back when the page opens
const KEY = "sdn-shadow-auth"; // sessionStorage: this tab only, never a cookie

const $ = (id) => document.getElementById(id);
const state = { snap: null, prev: null, frames: [], events: [], thresholds: null, who: null };
let api = null;
let view = "fabric";
let abort = null;
let drawing = false;
let started = false; // the views' controls are made once
let cursor = 0; // the next event the stream should send
let start = null; // the controller's start the cursor belongs to (a restart makes a new one)
let resynced = ""; // why the events were read again, shown beside the live clock

function status(text, kind = "") {
  const el = $("status");
  el.textContent = text;
  el.className = kind;
}

function outcome(text, kind = "") { // the last change's outcome: stays until the next one
  const el = $("outcome");
  el.textContent = text;
  el.className = kind;
}

function draw() { // at most once a frame, only the visible view
  if (drawing) return;
  drawing = true;
  requestAnimationFrame(() => {
    drawing = false;
    if (state.snap) VIEWS[view].render($(view), state, ctx);
  });
}

const ctx = {
  get api() { return api; },
  get operator() { return ["operator", "admin"].includes(state.who?.role); },
  /** Confirm, then run fn(reason); report its outcome and refresh the networks. */
  async act(text, fn) {
    const reason = await ask(text);
    if (reason === null) return;
    try {
      await fn(reason);
      outcome(`Done: ${text}`, "ok");
      if (state.snap) state.snap.networks = await api.get("/networks");
    } catch (err) {
      outcome(`Refused: ${err.message}`, "bad");
    }
    draw();
  },
  redraw: draw,
};

function on(kind, data) {
  if (kind === "hello") {
    state.who = { name: data.name, role: data.role };
    if (data.resync) { // a restarted controller: our events and cursor were of the old one
      state.events = [];
      resynced = ` · resynced: ${data.resync}`;
    }
    start = data.start;
    cursor = data.events_next;
  } else if (kind === "history") {
    state.frames = data.frames;
    state.thresholds = data.thresholds;
  } else if (kind === "snapshot") {
    state.prev = state.snap;
    state.snap = data;
    state.thresholds = data.thresholds;
    const last = state.frames[state.frames.length - 1];
    if (!last || last.at < data.at) state.frames.push({ at: data.at, series: data.series });
    if (state.frames.length > MAX_FRAMES) state.frames.splice(0, state.frames.length - MAX_FRAMES);
    status(`Live · ${new Date(data.at * 1000).toLocaleTimeString()}${resynced}`, "ok");
  } else if (kind === "event") {
    if (data.id < cursor) return; // seen before a reconnect
    cursor = data.id + 1;
    state.events.push(data);
    if (state.events.length > MAX_EVENTS) state.events.splice(0, state.events.length - MAX_EVENTS);
  } else if (kind === "bye") {
    cursor = data.events_next;
  } else if (kind === "gap") {
    cursor = data.to;
    status(`Skipped events ${data.from}–${data.to - 1} (see /api/v1/events)`, "warn");
  }
  draw();
}

async function watch(since) {
  const ctl = new AbortController(); // this loop's own: a later login makes another
  abort = ctl;
  cursor = since;
  start = null; // the first hello names it
  for (;;) {
    try {
      await api.stream(cursor, start, on, ctl.signal);
    } catch (err) {
      if (ctl.signal.aborted) return;
      if (err instanceof ApiError && err.status === 401) { logout(err.message); return; }
      status(`Reconnecting: ${err.message}`, "warn");
    }
    if (ctl.signal.aborted) return;
    await new Promise((r) => setTimeout(r, 2000));
    if (ctl.signal.aborted) return;
  }
}

async function login(auth) {
  api = new Api(auth);
  const who = await api.get("/whoami");
  state.who = who;
  sessionStorage.setItem(KEY, auth);
  $("login").hidden = true;
  $("app").hidden = false;
  $("logout").hidden = false;
  $("who").textContent = `${who.name} (${who.role})`;
  document.body.classList.toggle("viewer", !ctx.operator);
  const { events_next: next } = await api.get("/fabric");
  if (!started) for (const [name, v] of Object.entries(VIEWS)) v.init?.($(name), state, ctx);
  started = true;
  watch(Math.max(0, next - BACKLOG));
}

function logout(why = "") {
  if (abort) abort.abort();
  sessionStorage.removeItem(KEY);
  api = null;
  Object.assign(state, { snap: null, prev: null, frames: [], events: [], who: null });
  resynced = "";
  $("app").hidden = true;
  $("logout").hidden = true;
  $("who").textContent = "";
  $("login").hidden = false;
  $("login-error").textContent = why;
  status("");
  outcome("");
  $("token").focus();
}

/** Why a login failed, in words: the directory's answer for a user, the API's otherwise. */
function refusal(err, user) {
  if (!(err instanceof ApiError)) return `Cannot reach the controller: ${err.message}`;
  if (user && err.status === 401) {
    return `The directory refused ${user}: wrong user name or password, or no role here ` +
      `(${err.message}).`;
  }
  if (user && err.status === 503) return `The directory cannot be reached now: ${err.message}`;
  if (err.status === 401) return `The controller refused this token (${err.message}).`;
  return err.message;
}

function show(name) {
  view = name;
  for (const tab of document.querySelectorAll("[role=tab]")) {
    const on = tab.dataset.view === name;
    tab.setAttribute("aria-selected", String(on));
    tab.tabIndex = on ? 0 : -1;
    $(tab.dataset.view).hidden = !on;
  }
  draw();
}

function setup() {
  $("login-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const user = $("user").value.trim();
    const auth = authorization({ token: $("token").value.trim(), user, password: $("password").value });
    $("password").value = "";
    try {
      await login(auth);
      $("token").value = "";
    } catch (err) {
      $("login-error").textContent = refusal(err, user);
    }
  });
  $("logout").addEventListener("click", () => logout());
  const tabs = [...document.querySelectorAll("[role=tab]")];
  for (const [i, tab] of tabs.entries()) {
    tab.addEventListener("click", () => show(tab.dataset.view));
    tab.addEventListener("keydown", (e) => {
      const step = { ArrowRight: 1, ArrowLeft: -1 }[e.key];
      if (!step) return;
      const next = tabs[(i + step + tabs.length) % tabs.length];
      next.focus();
      show(next.dataset.view);
    });
  }
  show("fabric");
  const saved = sessionStorage.getItem(KEY);
  if (saved) login(saved).catch(() => logout("Log in again."));
  else $("token").focus();
}

setup();
