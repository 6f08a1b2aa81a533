// kubectl checklist dashboard: the fleet live from one stream of server-sent events, one
// release's sections on demand, and the plugin's actions. Every string from the cluster is put
// into the page as text (textContent, createTextNode), never as markup.
"use strict";

const SVG = "http://www.w3.org/2000/svg";
const ACTIVE = new Set(["Pending", "CheckingSecrets", "RunningHook", "Migrating", "RollingOut", "Verifying", "Paused"]);
const BAD = new Set(["Failed", "RolledBack", "Degraded"]);

const state = {
  token: null,
  rows: new Map(),
  all: false,
  sort: { key: "namespace", down: false },
  open: null,          // [namespace, name] of the release shown
  drawQueued: false,
  lines: new Map(),    // key -> { row, tr }: the rows' elements, kept while their row is
  fetchTimer: null,
  fetched: 0,          // the sequence number of the last release fetch; older answers are dropped
  synced: false,       // whether the first full list has arrived
  confirmed: null,
};

function $(id) { return document.getElementById(id); }

// An element with attributes and children; strings become text nodes.
function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v !== undefined && v !== null) node.setAttribute(k, v);
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(typeof child === "string" || typeof child === "number" ? String(child) : child);
  }
  return node;
}

function svg(tag, attrs, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

function keyOf(namespace, name) { return namespace + "/" + name; }

function banner(text) {
  const b = $("banner");
  b.textContent = text || "";
  b.hidden = !text;
}

function age(created) {
  if (!created) return "-";
  const s = Math.max(0, Math.floor((Date.now() - Date.parse(created)) / 1000));
  if (s < 120) return s + "s";
  if (s < 7200) return Math.floor(s / 60) + "m";
  if (s < 172800) return Math.floor(s / 3600) + "h";
  return Math.floor(s / 86400) + "d";
}

// ---- the fleet -------------------------------------------------------------------------

function follow() {
  const source = new EventSource("/api/stream?token=" + encodeURIComponent(state.token));
  source.onopen = () => { $("live").className = "live"; $("live").textContent = "live"; };
  source.onerror = () => {
    $("live").className = "live off";
    if (source.readyState === EventSource.CLOSED) {
      // Refused outright (a token of an earlier run): the browser will not try again.
      $("live").textContent = "stopped";
      banner("the dashboard refused this page: open the address kubectl checklist dashboard printed");
    } else {
      $("live").textContent = "reconnecting";
    }
  };
  source.onmessage = (event) => {
    let message;
    try { message = JSON.parse(event.data); } catch (_) { return; }
    switch (message.kind) {
      case "scope":
        state.all = message.allNamespaces;
        $("scope").textContent = message.allNamespaces ? "every namespace" : "namespace " + message.namespace;
        document.body.classList.toggle("hide-ns", !message.allNamespaces);
        break;
      case "snapshot":
        state.rows = new Map(message.rows.map((r) => [keyOf(r.namespace, r.name), r]));
        state.synced = message.synced;
        banner("");
        break;
      case "upsert":
        state.rows.set(keyOf(message.row.namespace, message.row.name), message.row);
        if (state.open && keyOf(...state.open) === keyOf(message.row.namespace, message.row.name)) {
          refetchSoon();
        }
        break;
      case "remove":
        state.rows.delete(keyOf(message.namespace, message.name));
        break;
      case "error":
        banner(message.message);
        break;
    }
    queueDraw();
  };
}

function queueDraw() {
  if (state.drawQueued) return;
  state.drawQueued = true;
  requestAnimationFrame(() => { state.drawQueued = false; drawFleet(); });
}

function matches(row, words, phase) {
  if (phase === "active" && !ACTIVE.has(row.phase)) return false;
  if (phase === "bad" && !BAD.has(row.phase)) return false;
  if (phase && phase !== "active" && phase !== "bad" && row.phase !== phase) return false;
  const text = [row.namespace, row.name, row.phase, row.image, row.serving || "", row.stage || ""].join(" ").toLowerCase();
  return words.every((w) => text.includes(w));
}

function sortValue(row, key) {
  switch (key) {
    case "step": return row.step == null ? -1 : row.step;
    case "weight": return row.weight == null ? -1 : row.weight;
    case "score": return row.total ? row.passed / row.total : -1;
    case "created": return row.created ? -Date.parse(row.created) : 0;
    default: return String(row[key] || "");
  }
}

function cells(row) {
  const weight = row.weight == null ? "-" :
    el("span", {}, el("span", { class: "weight" }, el("span", { style: null })), row.weight + "%");
  if (row.weight != null) {
    // The bar's width is set through the CSSOM, which the page's policy allows (no inline style).
    weight.firstChild.firstChild.style.width = Math.max(0, Math.min(100, row.weight)) + "%";
  }
  return [
    el("td", { class: "ns" }, row.namespace),
    el("td", {}, row.name),
    el("td", { class: "phase-" + row.phase, title: row.message || "" }, row.suspended ? row.phase + " (suspended)" : row.phase),
    el("td", { title: row.serving || "" }, row.serving || "-"),
    el("td", { title: row.image }, row.image === row.serving ? "-" : row.image),
    el("td", {}, row.step == null ? "-" : row.step + "/" + (row.steps || "?")),
    el("td", {}, weight),
    el("td", {}, row.score || "-"),
    el("td", { title: row.created || "" }, age(row.created)),
  ];
}

// The last draws' durations in milliseconds, for whoever measures the page (the browser tests).
window.checklistDashboard = { drawMs: [] };

function drawFleet() {
  const began = performance.now();
  const words = $("filter").value.toLowerCase().split(/\s+/).filter(Boolean);
  const phase = $("phase").value;
  const { key, down } = state.sort;
  const shown = [...state.rows.values()].filter((r) => matches(r, words, phase));
  shown.sort((a, b) => {
    const x = sortValue(a, key), y = sortValue(b, key);
    const order = x < y ? -1 : x > y ? 1 : keyOf(a.namespace, a.name).localeCompare(keyOf(b.namespace, b.name));
    return down ? -order : order;
  });
  // A row's element is built again only when its row changed (a new object from the stream),
  // so a change to one checklist of a thousand redraws one line, not the table.
  const built = new Map();
  const lines = shown.map((row) => {
    const key = keyOf(row.namespace, row.name);
    const cached = state.lines.get(key);
    const tr = cached && cached.row === row ? cached.tr :
      el("tr", { "data-key": key, tabindex: "0" }, ...cells(row));
    built.set(key, { row, tr });
    return tr;
  });
  for (const [key, line] of state.lines) {
    if (!built.has(key) && state.rows.get(key) === line.row) built.set(key, line);
  }
  state.lines = built;
  $("rows").tBodies[0].replaceChildren(...lines);
  $("count").textContent = shown.length + " of " + state.rows.size;
  $("empty").hidden = state.rows.size > 0;
  $("empty").textContent = state.synced ? "no checklist here yet" : "loading the checklists…";
  for (const th of document.querySelectorAll("th[data-sort]")) {
    th.classList.toggle("sorted", th.dataset.sort === key);
    th.classList.toggle("down", th.dataset.sort === key && down);
  }
  const draws = window.checklistDashboard.drawMs;
  draws.push(performance.now() - began);
  if (draws.length > 200) draws.shift();
}

// ---- one release -------------------------------------------------------------------------

function actionsEnabled(enabled) {
  for (const button of document.querySelectorAll("#actions button")) button.disabled = !enabled;
}

function route() {
  let parts = [];
  try {
    parts = location.hash.replace(/^#\/?/, "").split("/").filter(Boolean).map(decodeURIComponent);
  } catch (_) { /* a malformed address shows the fleet */ }
  if (parts.length === 2) {
    state.open = parts;
    $("fleet").hidden = true;
    $("release").hidden = false;
    $("title").textContent = parts[0] + " / " + parts[1];
    // Nothing of the release shown before stays under this one's title, and nothing can be
    // sent for it until its own answer is drawn.
    $("summary").textContent = "loading…";
    $("summary").className = "";
    $("result").textContent = "";
    $("result").className = "";
    $("revision").value = "";
    $("sections").replaceChildren();
    $("timeline").replaceChildren();
    actionsEnabled(false);
    fetchRelease();
  } else {
    state.open = null;
    $("fleet").hidden = false;
    $("release").hidden = true;
    queueDraw();
  }
}

function refetchSoon() {
  if (state.fetchTimer) return;
  state.fetchTimer = setTimeout(() => { state.fetchTimer = null; fetchRelease(); }, 300);
}

async function api(path, options) {
  const headers = Object.assign({ "x-checklist-token": state.token }, (options && options.headers) || {});
  let response;
  try {
    response = await fetch(path, Object.assign({}, options, { headers, cache: "no-store" }));
  } catch (_) {
    return { ok: false, status: 0, body: { error: "the dashboard does not answer (was it stopped?)" } };
  }
  let body = {};
  try { body = await response.json(); } catch (_) { /* an empty answer */ }
  return { ok: response.ok, status: response.status, body };
}

async function fetchRelease() {
  if (!state.open) return;
  const [namespace, name] = state.open;
  const path = "/api/checklists/" + encodeURIComponent(namespace) + "/" + encodeURIComponent(name);
  const sequence = ++state.fetched;
  const { ok, body } = await api(path);
  // A later fetch (another release, or a newer change) has been asked for: this answer is old.
  if (sequence !== state.fetched || !state.open || keyOf(...state.open) !== keyOf(namespace, name)) return;
  if (!ok) { $("summary").textContent = body.error || "cannot read the checklist"; return; }
  actionsEnabled(true);
  drawRelease(body);
}

function definitions(pairs) {
  const dl = el("dl");
  for (const [k, v] of pairs) {
    if (v === undefined || v === null || v === "") continue;
    dl.append(el("dt", {}, k), el("dd", {}, typeof v === "object" ? JSON.stringify(v) : String(v)));
  }
  return dl;
}

function table(headers, rows) {
  return el("table", {},
    el("thead", {}, el("tr", {}, ...headers.map((h) => el("th", {}, h)))),
    el("tbody", {}, ...rows.map((cells) => el("tr", {}, ...cells.map((c) =>
      c instanceof Node ? el("td", {}, c) : el("td", {}, c == null ? "-" : String(c)))))));
}

function result(text) { return el("span", { class: text }, text); }

function clock(iso) {
  if (!iso) return "-";
  const t = new Date(iso);
  return isNaN(t) ? iso : t.toLocaleString();
}

function section(title, ...content) {
  return el("section", { "data-section": title }, el("h3", {}, title), ...content);
}

function drawRelease(d) {
  const row = d.row;
  $("summary").textContent = [row.phase, row.rollout, row.message].filter(Boolean).join(" · ");
  $("summary").className = "phase-" + row.phase;
  // promote and abort move a BlueGreen or Canary release; the server refuses them otherwise.
  const sideBySide = row.strategy !== "RollingUpdate";
  for (const action of ["promote", "abort"]) {
    const button = document.querySelector('#actions button[data-action="' + action + '"]');
    button.disabled = !sideBySide;
    button.title = sideBySide ? "" : "BlueGreen and Canary only";
  }
  const rollout = (d.rollout && d.rollout.status) || {};
  const secretRows = [];
  for (const contract of (d.secrets.contract || [])) {
    for (const key of (contract.keys || [])) {
      const found = (d.secrets.results || []).find((r) => r.secret === contract.secretName && r.key === key.name);
      secretRows.push([contract.secretName, key.name,
        [key.minLength ? "min " + key.minLength : "", key.pattern ? "pattern " + key.pattern : "", key.optional ? "optional" : ""].filter(Boolean).join(", ") || "-",
        found ? result(found.result) : "-", found && found.message]);
    }
  }
  const migration = d.migration || {};
  const steps = (d.rollout.steps || []).map((s, i) => [
    i + 1, s.weight + "%", s.pauseSeconds == null ? "until promoted" : s.pauseSeconds + "s",
    rollout.step === i + 1 ? "← " + (rollout.stage || "") : "",
  ]);
  $("sections").replaceChildren(
    section("app", definitions([["image", d.app.image], ["serving", row.serving], ["replicas", d.app.replicas],
      ["strategy", d.app.strategy], ["suspended", d.app.suspended ? "yes" : null]])),
    section("secrets contract", secretRows.length ? table(["secret", "key", "rule", "result", "message"], secretRows) : el("p", {}, "no secret required")),
    section("migration", migration.spec ? definitions([["command", (migration.spec.command || []).join(" ")],
      ["image", migration.spec.image], ["timeout", migration.spec.timeoutSeconds + "s"],
      ["job", migration.status && migration.status.job], ["state", migration.status && migration.status.state],
      ["message", migration.status && migration.status.message]]) : el("p", {}, "no migration")),
    section("rollout", definitions([["strategy", rollout.strategy || d.app.strategy], ["stage", rollout.stage],
      ["step", rollout.step == null ? null : rollout.step + "/" + rollout.steps], ["weight", rollout.weight == null ? null : rollout.weight + "%"],
      ["summary", rollout.summary]]), steps.length ? table(["step", "weight", "pause", ""], steps) : null),
    section("checks", (d.checks || []).length ? table(["check", "kind", "result", "figure", "message"],
      d.checks.map((c) => [c.name + (c.severity === "Warning" ? " (warning)" : "") + (c.dryRun ? " (dry run)" : ""), c.kind,
        result(c.result), c.latencyMs == null ? "-" : c.latencyMs + " ms", c.message])) : el("p", {}, "no result yet")),
    section("history", (d.history || []).length ? table(["revision", "image", "outcome", "why", "started", "message"],
      d.history.slice().reverse().map((h) => [h.revision, h.image, result(h.outcome), h.trigger || h.reason, clock(h.startedAt), h.message])) : el("p", {}, "nothing rolled out yet")),
    section("events", (d.events || []).length ? table(["last", "type", "reason", "message"],
      d.events.map((e) => [clock(e.last), e.type, e.reason, e.message + (e.count > 1 ? " (×" + e.count + ")" : "")])) : el("p", {}, "no Event")),
  );
  drawTimeline(d.timeline);
}

function drawTimeline(t) {
  const chart = $("timeline");
  chart.replaceChildren();
  const W = 960, left = 60, right = 20, width = W - left - right;
  const start = Date.parse(t.start || t.end), end = Date.parse(t.end);
  const span = Math.max(1000, end - start);
  const x = (iso) => left + ((Date.parse(iso) - start) / span) * width;
  const time = (iso) => new Date(iso).toLocaleTimeString();
  // Lanes: revisions 10-50, weight 70-170, rounds 190.
  chart.append(svg("text", { x: 4, y: 34 }, "revisions"), svg("text", { x: 4, y: 124 }, "weight"), svg("text", { x: 4, y: 194 }, "rounds"));
  chart.append(svg("line", { class: "axis", x1: left, x2: W - right, y1: 170, y2: 170 }),
    svg("line", { class: "axis", x1: left, x2: W - right, y1: 70, y2: 70 }),
    svg("text", { x: left - 30, y: 74 }, "100%"), svg("text", { x: left - 22, y: 172 }, "0%"));
  for (let i = 0; i <= 4; i++) {
    const at = new Date(start + (span * i) / 4).toISOString();
    const tx = left + (width * i) / 4;
    chart.append(svg("line", { class: "axis", x1: tx, x2: tx, y1: 200, y2: 206 }),
      svg("text", { x: Math.min(tx - 25, W - right - 60), y: 222 }, time(at)));
  }
  for (const bar of t.revisions) {
    if (!bar.start) continue;
    const x1 = x(bar.start), x2 = Math.max(x1 + 3, x(bar.end || t.end));
    const g = svg("g", { "data-revision": bar.revision });
    g.append(svg("rect", { class: "bar-" + bar.outcome, x: x1, y: 14, width: x2 - x1, height: 30, rx: 3 }),
      svg("title", {}, "revision " + bar.revision + " " + bar.image + ": " + bar.outcome));
    if (x2 - x1 > 50) g.append(svg("text", { x: x1 + 4, y: 33 }, "r" + bar.revision + " " + bar.image));
    chart.append(g);
  }
  if (t.weights.length) {
    // A weight of null ends a release's line: no new version takes traffic until the next.
    let path = "", last = null;
    for (const p of t.weights) {
      const px = x(p.at);
      if (p.weight === null) {
        if (last !== null) path += " H" + px;
        last = null;
        continue;
      }
      const py = 170 - p.weight;
      path += last === null ? " M" + px + " " + py : " H" + px + " V" + py;
      last = py;
    }
    if (last !== null) path += " H" + (W - right);
    chart.append(svg("path", { class: "w", d: path.trim() }));
    for (const p of t.weights) {
      if (p.weight === null) continue;
      chart.append(svg("text", { x: x(p.at) + 3, y: 166 - p.weight }, (p.step ? "step " + p.step + ": " : "") + p.weight + "%"));
    }
  }
  for (const r of t.rounds) {
    const c = svg("circle", { class: r.passed ? "pass" : "fail", cx: x(r.at), cy: 190, r: 5, "data-round": r.passed ? "passed" : "failed" });
    c.append(svg("title", {}, (r.passed ? "round passed " : "round failed ") + time(r.at)));
    chart.append(c);
  }
  let lastLabel = -Infinity, row = 0;
  for (const m of t.marks) {
    const mx = x(m.at);
    const line = svg("line", { class: "mark " + m.kind, x1: mx, x2: mx, y1: 50, y2: 200, "data-mark": m.kind });
    line.append(svg("title", {}, m.label + " " + time(m.at)));
    chart.append(line);
    if (m.kind === "step") continue;
    // Labels of marks close together go one under the other rather than over each other.
    row = mx - lastLabel < 60 ? (row + 1) % 4 : 0;
    lastLabel = mx;
    chart.append(svg("text", { x: mx + 2, y: 62 + row * 11 }, m.kind));
  }
}

// ---- actions -------------------------------------------------------------------------------

function ask(question) {
  const dialog = $("confirm");
  $("question").textContent = question;
  dialog.showModal();
  return new Promise((resolve) => { state.confirmed = resolve; });
}

async function act(action) {
  if (!state.open) return;
  const [namespace, name] = state.open;
  const revision = $("revision").value.trim();
  const what = action === "rollback" ? "roll " + name + " back to " + (revision ? "revision " + revision : "the latest good revision") : action + " " + name;
  if (!(await ask(what + " in " + namespace + "?"))) return;
  const body = action === "rollback" && revision ? { revision: Number(revision) } : {};
  const path = "/api/checklists/" + encodeURIComponent(namespace) + "/" + encodeURIComponent(name) + "/" + action;
  const { ok, body: answer } = await api(path, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  const shown = $("result");
  shown.className = ok ? "done" : "error";
  shown.textContent = ok ? answer.said : (answer.error || "refused");
  refetchSoon();
}

// ---- start -----------------------------------------------------------------------------

function start() {
  const params = new URLSearchParams(location.search);
  if (params.get("token")) {
    sessionStorage.setItem("checklist-token", params.get("token"));
    // The token leaves the address bar (and so bookmarks and screen shares).
    history.replaceState(null, "", location.pathname + location.hash);
  }
  state.token = sessionStorage.getItem("checklist-token");
  $("filter").addEventListener("input", queueDraw);
  $("phase").addEventListener("change", queueDraw);
  for (const th of document.querySelectorAll("th[data-sort]")) {
    th.addEventListener("click", () => {
      const key = th.dataset.sort;
      state.sort = { key, down: state.sort.key === key ? !state.sort.down : false };
      queueDraw();
    });
  }
  $("rows").addEventListener("click", (event) => {
    const tr = event.target.closest("tr[data-key]");
    if (!tr) return;
    const [namespace, ...rest] = tr.dataset.key.split("/");
    location.hash = "#/" + encodeURIComponent(namespace) + "/" + encodeURIComponent(rest.join("/"));
  });
  $("rows").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && event.target.matches("tr[data-key]")) event.target.click();
  });
  for (const button of document.querySelectorAll("#actions button[data-action]")) {
    button.addEventListener("click", () => act(button.dataset.action));
  }
  $("yes").addEventListener("click", () => { $("confirm").close(); if (state.confirmed) state.confirmed(true); state.confirmed = null; });
  $("no").addEventListener("click", () => { $("confirm").close(); if (state.confirmed) state.confirmed(false); state.confirmed = null; });
  $("confirm").addEventListener("cancel", () => { if (state.confirmed) state.confirmed(false); state.confirmed = null; });
  window.addEventListener("hashchange", route);
  // Ages move on without the server: one full redraw a minute, whatever the fleet's size.
  setInterval(() => { state.lines = new Map(); queueDraw(); }, 60000);
  if (!state.token) {
    banner("no token: open the address kubectl checklist dashboard printed");
    return;
  }
  follow();
  route();
}

document.addEventListener("DOMContentLoaded", start);
