// devloop dev's dashboard: one page fed by /api/stream (server-sent events:
// devloop's own events and the pods' log lines), /api/resources and
// /api/artifacts. No framework, no build step.
"use strict";

const PHASES = ["detect", "hash", "build", "deliver", "apply", "ready", "sync"];
const COLORS = { detect: "#8250df", hash: "#bf8700", build: "#0969da", deliver: "#1a7f37", apply: "#cf222e", ready: "#57606a", sync: "#e16f24" };
const MAX_CYCLES = 30, MAX_LOGS = 10000, LINE = 16;

const $ = (id) => document.getElementById(id);
const el = (tag, attrs = {}, ...kids) => {
  const n = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") n.className = v;
    else if (k === "text") n.textContent = v;
    else if (k === "style") { // through the CSSOM: the page's CSP refuses inline style attributes
      for (const decl of v.split(";")) {
        const i = decl.indexOf(":");
        if (i > 0) n.style.setProperty(decl.slice(0, i).trim(), decl.slice(i + 1).trim());
      }
    } else n.setAttribute(k, v);
  }
  for (const k of kids) n.append(k);
  return n;
};

// errors are the loop's (a failed phase; a cycle done clears them); panel
// errors are the page's own (a panel that could not load, a script error):
// they stay until that panel loads again.
const state = {
  cycles: [], current: null, errors: new Map(), panelErrors: new Map(), forwards: new Map(),
  builds: new Map(), buildsFresh: true, logs: [], pods: new Set(), follow: true,
};

// ---- events -------------------------------------------------------------

function phaseOf(p) {
  if (p === "render" || p === "apply" || p === "prune") return "apply";
  if (p === "status") return "ready";
  return PHASES.includes(p) ? p : null;
}

function onEvent(e) {
  if (e.phase === "cycle") {
    if (e.status === "start") {
      state.current = { n: e.cycle, phases: {}, status: "running", changes: e.changes || [], started: Date.parse(e.time) };
      state.buildsFresh = true; // this cycle's first build event replaces the last build's lines
      if (e.durationMs) state.current.phases.detect = e.durationMs;
      state.cycles.push(state.current);
      if (state.cycles.length > MAX_CYCLES) state.cycles.shift();
    } else if (state.current && (e.cycle === undefined || e.cycle === state.current.n)) {
      state.current.status = e.status;
      state.current.total = e.durationMs;
      state.current.message = e.message || "";
      if (e.status === "done") state.errors.clear();
      state.current = null;
    }
    renderCycle(); renderChart();
  } else if (e.status !== "start" && e.status !== "info") {
    const p = phaseOf(e.phase);
    if (p && state.current && e.durationMs) {
      state.current.phases[p] = (state.current.phases[p] || 0) + e.durationMs;
      renderChart();
    }
  }
  if (e.phase === "build") onBuild(e);
  if (e.phase === "portforward") onForward(e);
  if (e.status === "failed") {
    state.errors.set(e.phase + "/" + (e.artifact || e.object || ""), `${e.phase}${e.artifact ? " " + e.artifact : ""}: ${e.message || "failed"}`);
    renderErrors();
  }
  if (state.current) $("cycle").textContent = `cycle ${state.current.n}: ${e.phase} ${e.status}${e.artifact ? " (" + e.artifact + ")" : ""}`;
  if (e.phase === "status" || e.phase === "apply" || e.phase === "cycle") scheduleResources(200);
}

// tagOf is the tag of an image reference (name:tag or name@digest).
function tagOf(ref) {
  if (!ref) return "";
  const at = ref.indexOf("@");
  if (at >= 0) return ref.slice(at + 1);
  const slash = ref.lastIndexOf("/"), colon = ref.lastIndexOf(":");
  return colon > slash ? ref.slice(colon + 1) : "";
}

// onBuild keeps what happened to each artifact in the last cycle that
// built or checked any: building, built, already present, or failed.
function onBuild(e) {
  if (!e.artifact) return;
  if (state.buildsFresh) { state.builds.clear(); state.buildsFresh = false; }
  const tag = tagOf(e.image), secs = ((e.durationMs || 0) / 1000).toFixed(1);
  const b = { status: e.status, text: "", output: "" };
  if (e.status === "start") b.text = `building${tag ? " (tag " + tag + ")" : ""}…`;
  else if (e.status === "done") b.text = `${e.message || "built"} in ${secs} s`;
  else if (e.status === "skipped") {
    const where = /already in the (cluster|engine|registry)/.exec(e.message || "");
    b.text = where ? `already in the ${where[1]} (tag ${tag}), nothing to build` : `not built: ${e.message || "skipped"}`;
  } else if (e.status === "failed") {
    // The failing step first: buildx's error, then the rest.
    const lines = (e.message || "").split("\n");
    const i = lines.findIndex((l) => /ERROR|error:|failed to solve/.test(l));
    b.text = `failed after ${secs} s`;
    b.output = (i > 0 ? [...lines.slice(i), "", ...lines.slice(0, i)] : lines).join("\n");
  } else return;
  state.builds.set(e.artifact, b);
  renderBuilds();
}

function onForward(e) {
  const key = e.object || e.url || e.message;
  const f = state.forwards.get(key) || {};
  if (e.url) f.url = e.url;
  f.object = e.object || f.object || "";
  if (e.status === "done" || (e.status === "info" && /serving|forwarding|ready/i.test(e.message || ""))) f.state = "serving";
  else if (e.status === "failed") f.state = /give up|dead|stopped/i.test(e.message || "") ? "dead" : "reconnecting";
  else if (e.status === "info") f.state = /reconnect|retry|lost|waiting/i.test(e.message || "") ? "reconnecting" : (f.state || "serving");
  f.message = e.message || f.message || "";
  state.forwards.set(key, f);
  renderForwards();
}

// ---- rendering ----------------------------------------------------------

function renderCycle() {
  const c = state.current || state.cycles[state.cycles.length - 1];
  if (!c) return;
  $("cycle").textContent = state.current ? `cycle ${c.n} in flight` :
    `cycle ${c.n} ${c.status}${c.total ? " in " + (c.total / 1000).toFixed(2) + " s" : ""}${c.message ? ": " + c.message : ""}`;
}

function renderChart() {
  const max = Math.max(1, ...state.cycles.map((c) => Object.values(c.phases).reduce((a, b) => a + b, 0)));
  const rows = state.cycles.slice().reverse().map((c) => {
    const sum = Object.values(c.phases).reduce((a, b) => a + b, 0);
    const bar = el("div", { class: "bar" });
    for (const p of PHASES) {
      const ms = c.phases[p];
      if (!ms) continue;
      bar.append(el("div", { class: "seg", style: `width:${(100 * ms) / max}%;background:${COLORS[p]}`, title: `${p} ${ms} ms` }));
    }
    return el("div", { class: "row " + c.status, "data-cycle": String(c.n) },
      el("span", { class: "label", text: `#${c.n} ${c.status} ${(sum / 1000).toFixed(2)} s` }), bar);
  });
  $("chart").replaceChildren(...rows);
}

function renderErrors() {
  const all = [...state.panelErrors.values(), ...state.errors.values()];
  const box = $("errors");
  box.hidden = all.length === 0;
  box.textContent = all.join("\n");
}

// panelError shows (msg set) or clears (msg empty) the error of one panel.
function panelError(key, msg) {
  if (msg) state.panelErrors.set(key, msg);
  else if (!state.panelErrors.delete(key)) return;
  renderErrors();
}

function renderBuilds() {
  const items = [...state.builds.entries()].map(([name, b]) =>
    el("div", { class: "artifact " + b.status, "data-artifact": name, "data-status": b.status },
      el("b", { text: name }), ": ", b.text, ...(b.output ? [el("pre", { text: b.output })] : [])));
  $("build").replaceChildren(...(items.length ? items : [el("span", { class: "muted", text: "no build yet" })]));
}

function renderForwards() {
  const items = [...state.forwards.values()].map((f) =>
    el("li", {}, f.url ? el("a", { href: f.url, target: "_blank", rel: "noopener", text: f.url }) : "",
      " ", el("span", { class: "state-" + (f.state || "serving"), text: f.state || "serving" }),
      " ", el("span", { class: "muted", text: f.object + (f.message ? " — " + f.message : "") })));
  $("forwards").replaceChildren(...(items.length ? items : [el("li", { class: "muted", text: "none yet" })]));
}

let resourcesTimer = null;
function scheduleResources(ms) {
  if (resourcesTimer) return;
  resourcesTimer = setTimeout(() => { resourcesTimer = null; loadResources(); }, ms);
}

// getJSON fetches one of devloop's answers; any failure (devloop gone, an
// HTTP error, not JSON) is an Error saying which.
async function getJSON(path) {
  let r;
  try { r = await fetch(path, { cache: "no-store" }); } catch (err) { throw new Error(`${path}: devloop did not answer (${err.message})`); }
  const body = await r.text();
  if (!r.ok) throw new Error(`${path}: ${r.status} ${body.trim()}`);
  try { return JSON.parse(body); } catch (err) { throw new Error(`${path}: not JSON (${err.message})`); }
}

// The answers of overlapping loads may arrive out of order: only the newest
// request's is drawn.
let resourcesSeq = 0;
async function loadResources() {
  const seq = ++resourcesSeq;
  try {
    const r = await getJSON("/api/resources");
    if (seq !== resourcesSeq) return;
    if (!Array.isArray(r.resources)) throw new Error("/api/resources: the answer has no list of resources");
    const rows = r.resources.map((x) => el("tr", { "data-kind": String(x.kind), "data-name": String(x.name), "data-namespace": String(x.namespace || "") },
      el("td", { text: x.kind }), el("td", { text: x.name }), el("td", { text: x.namespace || "" }),
      el("td", { class: "status-" + x.status, text: x.status }), el("td", { text: x.ready || "" }),
      el("td", { text: String(x.restarts ?? "") }), el("td", { text: x.status === "Current" ? "" : (x.reason || "") }),
      el("td", { text: x.age || "" })));
    $("resources").tBodies[0].replaceChildren(...rows);
    panelError("resources", r.error ? `resources: ${r.error}` : "");
  } catch (err) {
    if (seq === resourcesSeq) panelError("resources", `resources: ${err.message}`);
  }
}

// ---- logs: bounded, filtered, virtualized ---------------------------------

function onLog(l) {
  state.logs.push(l);
  if (state.logs.length > MAX_LOGS) state.logs.splice(0, state.logs.length - MAX_LOGS);
  if (l.pod && !state.pods.has(l.pod)) {
    state.pods.add(l.pod);
    $("logpod").append(el("option", { value: l.pod, text: l.pod }));
  }
  scheduleLogs();
}

let logsFrame = 0;
function scheduleLogs() { if (!logsFrame) logsFrame = requestAnimationFrame(renderLogs); }

function visibleLogs() {
  const pod = $("logpod").value, text = $("logtext").value.toLowerCase();
  if (!pod && !text) return state.logs;
  return state.logs.filter((l) => (!pod || l.pod === pod) && (!text || l.text.toLowerCase().includes(text)));
}

function renderLogs() {
  logsFrame = 0;
  const view = $("logview"), lines = visibleLogs();
  $("logspacer").style.height = lines.length * LINE + "px";
  if (state.follow) view.scrollTop = view.scrollHeight;
  const first = Math.max(0, Math.floor(view.scrollTop / LINE) - 5);
  const count = Math.ceil(view.clientHeight / LINE) + 10;
  const out = lines.slice(first, first + count).map((l) =>
    el("div", {}, el("span", { class: "who", text: l.pod ? `${l.pod}/${l.container} ` : "" }), l.text));
  const box = $("loglines");
  box.style.transform = `translateY(${first * LINE}px)`;
  box.replaceChildren(...out);
  $("logcount").textContent = `${lines.length} of ${state.logs.length} lines`;
}

// ---- buttons --------------------------------------------------------------

async function post(path) {
  try {
    const r = await fetch(path, { method: "POST", headers: { "X-Devloop": "1" } });
    panelError("button", r.ok ? "" : `${path}: ${r.status} ${(await r.text()).trim()}`);
  } catch (err) {
    panelError("button", `${path}: devloop did not answer (${err.message})`);
  }
}

async function loadArtifacts() {
  try {
    const a = await getJSON("/api/artifacts");
    if (!a.triggers || !Array.isArray(a.artifacts)) { $("actions").replaceChildren(); panelError("artifacts", ""); return; }
    const buttons = a.artifacts.map((name) => {
      const b = el("button", { "data-artifact": name, text: "rebuild " + name });
      b.onclick = () => post("/api/rebuild?artifact=" + encodeURIComponent(name));
      return b;
    });
    const d = el("button", { id: "redeploy", text: "redeploy" });
    d.onclick = () => post("/api/redeploy");
    $("actions").replaceChildren(...buttons, d);
    panelError("artifacts", "");
  } catch (err) {
    panelError("artifacts", `rebuild buttons: ${err.message}`);
  }
}

// ---- start ----------------------------------------------------------------

// reset forgets what the page was shown: every (re)connection starts with
// the server's whole backlog, so nothing is shown twice.
function reset() {
  state.cycles = []; state.current = null; state.errors.clear(); state.forwards.clear();
  state.builds.clear(); state.buildsFresh = true; state.panelErrors.delete("stream");
  state.logs = []; state.pods.clear();
  $("logpod").replaceChildren(el("option", { value: "", text: "every pod" }));
  renderChart(); renderErrors(); renderForwards(); renderBuilds(); scheduleLogs();
}

// handle runs one stream message's handler; a message it cannot take is
// shown in the error bar, and the stream goes on.
const handle = (kind, f) => (m) => {
  try { f(JSON.parse(m.data)); } catch (err) { panelError("stream", `a ${kind} from devloop could not be shown: ${err.message}`); }
};

function connect() {
  const src = new EventSource("/api/stream");
  src.onopen = reset;
  src.addEventListener("event", handle("event", onEvent));
  src.addEventListener("log", handle("log line", onLog));
  src.addEventListener("ready", () => { $("conn").textContent = "live"; $("conn").className = "badge live"; loadArtifacts(); loadResources(); });
  src.onerror = () => { $("conn").textContent = "devloop not answering"; $("conn").className = "badge down"; };
}

// Nothing the page's script does wrong goes unseen: it is shown in the
// error bar (and stays in the console).
window.addEventListener("error", (e) => panelError("script", `page script error: ${e.message}`));
window.addEventListener("unhandledrejection", (e) => panelError("script", `page script error: ${e.reason && e.reason.message || e.reason}`));

window.addEventListener("DOMContentLoaded", () => {
  const legend = PHASES.map((p) => el("span", {}, el("i", { style: "background:" + COLORS[p] }), p));
  $("legend").replaceChildren(...legend);
  $("logview").addEventListener("scroll", () => {
    const v = $("logview");
    const atEnd = v.scrollTop + v.clientHeight >= v.scrollHeight - LINE;
    if (!atEnd && state.follow) { state.follow = false; $("follow").checked = false; }
    scheduleLogs();
  });
  $("follow").addEventListener("change", (e) => { state.follow = e.target.checked; scheduleLogs(); });
  $("logpod").addEventListener("change", scheduleLogs);
  $("logtext").addEventListener("input", scheduleLogs);
  setInterval(loadResources, 2000);
  connect();
});
