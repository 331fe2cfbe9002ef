// The mrun dashboard page. Everything it shows comes from the server as JSON and is put into
// the page with textContent, never as HTML: guests write the errors and outputs it displays.
"use strict";

const STATES = ["waiting", "running", "done", "cached", "failed", "cancelled"];
const $ = (id) => document.getElementById(id);
let state = null;
let offset = 0; // server clock minus this page's clock, in ms
let spans = []; // [slot, group, start, end, state], ms since state.begin
const MAX_SPANS = 20000;
const MAX_WINDOW_MS = 30000;
let shape = ""; // the groups' structure the graph was drawn for
let nodes = []; // group index -> its node element
let failuresShown = -1;
let selected = -1;

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

function fmt(n) { return Number(n).toLocaleString("en-US"); }

function bytes(n) {
  if (!n) return "0 B";
  const u = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
  return (i ? n.toFixed(1) : n) + " " + u[i];
}

function dur(ms) {
  if (ms < 1000) return Math.round(ms) + " ms";
  if (ms < 60000) return (ms / 1000).toFixed(1) + " s";
  return Math.floor(ms / 60000) + " min " + Math.round((ms % 60000) / 1000) + " s";
}

// hue gives each group a colour of its own in the timeline, from blue to green: red and grey
// mean failed and cancelled.
function hue(i) { return 90 + (i * 67) % 160; }

function counts(c) {
  return { waiting: c.waiting, running: c.running, done: c.done, cached: c.cached, failed: c.failed, cancelled: c.cancelled };
}

function fillBar(bar, c) {
  const total = c.planned || 1;
  bar.replaceChildren();
  for (const s of STATES) {
    const n = c[s];
    if (!n) continue;
    const seg = el("div", "seg-" + s);
    seg.style.width = (100 * n / total) + "%";
    seg.title = s + ": " + fmt(n);
    bar.appendChild(seg);
  }
}

// stateOf is the state a group is drawn in.
function stateOf(c) {
  if (c.failed) return "failed";
  if (c.running) return "running";
  if (c.planned && c.done + c.cached === c.planned) return c.cached === c.planned ? "cached" : "done";
  if (c.cancelled && !c.waiting) return "cancelled";
  if (c.done || c.cached) return "running";
  return "waiting";
}

function render(st) {
  state = st;
  offset = st.now - Date.now();
  for (const s of st.spans) spans.push(s);
  if (spans.length > MAX_SPANS) spans = spans.slice(spans.length - MAX_SPANS);
  $("title").textContent = st.title || "mrun";
  document.title = (st.title || "mrun") + " — dashboard";
  const t = st.total;
  $("status").textContent = st.ended ? "ended: " + st.result : "running";
  $("status").dataset.ended = st.ended ? "1" : "0";
  const all = Object.assign({ waiting: st.waiting }, t);
  fillBar($("bar"), all);
  $("n-done").textContent = fmt(t.done);
  $("n-planned").textContent = fmt(t.planned);
  $("n-running").textContent = fmt(t.running);
  $("n-waiting").textContent = fmt(st.waiting);
  $("n-cached").textContent = fmt(t.cached);
  $("n-failed").textContent = fmt(t.failed);
  $("n-cancelled").textContent = fmt(t.cancelled);
  $("n-rate").textContent = fmt(Math.round(st.rate));
  $("n-retries").textContent = fmt(st.retries);
  $("elapsed").textContent = dur(st.now - st.begin) + " since start";
  if (st.slots > MAX_LANES) {
    pack(st);
    $("lanes").textContent = "calls in flight, packed";
  } else {
    packed = null;
    $("lanes").textContent = "slots";
  }
  renderGraph(st);
  renderRunning(st);
  renderWorkers(st);
  renderFailures(st);
}

// levels places each top-level group one column right of its deepest dependency.
function levels(groups) {
  const lv = new Array(groups.length).fill(-1);
  const visit = (i, depth) => {
    if (lv[i] >= 0) return lv[i];
    if (depth > groups.length) return 0; // a cycle cannot happen; be safe anyway
    let l = 0;
    for (const d of groups[i].deps) if (groups[d].parent < 0) l = Math.max(l, visit(d, depth + 1) + 1);
    lv[i] = l;
    return l;
  };
  groups.forEach((g, i) => { if (g.parent < 0) visit(i, 0); });
  return lv;
}

function makeNode(g, i) {
  const n = el("div", "node");
  n.dataset.group = g.name;
  n.dataset.index = i;
  n.appendChild(el("div", "name", g.name));
  n.appendChild(el("div", "fn", g.func || ""));
  n.appendChild(el("div", "bar"));
  const cnt = el("div", "cnt");
  for (const s of STATES) {
    const c = el("span", "c-" + s);
    c.title = s;
    cnt.appendChild(c);
  }
  n.appendChild(cnt);
  n.appendChild(el("div", "children"));
  return n;
}

function renderGraph(st) {
  const groups = st.groups;
  const sh = groups.map((g) => g.name + ">" + g.parent + ":" + g.deps.join(",")).join(";");
  if (sh !== shape) {
    shape = sh;
    const lv = levels(groups);
    const cols = $("columns");
    cols.replaceChildren();
    nodes = groups.map((g, i) => makeNode(g, i));
    const columns = [];
    groups.forEach((g, i) => {
      if (g.parent >= 0) {
        nodes[g.parent].querySelector(":scope > .children").appendChild(nodes[i]);
        return;
      }
      while (columns.length <= lv[i]) columns.push(cols.appendChild(el("div", "column")));
      columns[lv[i]].appendChild(nodes[i]);
    });
  }
  groups.forEach((g, i) => {
    const n = nodes[i];
    const c = counts(g);
    c.planned = g.planned;
    n.className = "node st-" + stateOf(c);
    fillBar(n.querySelector(":scope > .bar"), c);
    const cnt = n.querySelector(":scope > .cnt");
    for (const s of STATES) {
      const e = cnt.querySelector(".c-" + s);
      e.textContent = c[s] ? fmt(c[s]) + " " + s : "";
      e.dataset.n = c[s];
    }
  });
  drawEdges(groups);
}

function drawEdges(groups) {
  const svg = $("edges");
  const box = $("graph").getBoundingClientRect();
  svg.setAttribute("width", $("columns").scrollWidth);
  svg.setAttribute("height", $("columns").scrollHeight);
  svg.replaceChildren();
  if (groups.length > 300) return;
  const ns = "http://www.w3.org/2000/svg";
  groups.forEach((g, i) => {
    if (g.parent >= 0) return;
    const to = nodes[i].getBoundingClientRect();
    for (const d of g.deps) {
      const from = nodes[d].getBoundingClientRect();
      const x1 = from.right - box.left, y1 = from.top + 14 - box.top;
      const x2 = to.left - box.left, y2 = to.top + 14 - box.top;
      const p = document.createElementNS(ns, "path");
      const mx = (x1 + x2) / 2;
      p.setAttribute("d", `M${x1},${y1} C${mx},${y1} ${mx},${y2} ${x2},${y2}`);
      svg.appendChild(p);
    }
  });
}

function renderRunning(st) {
  const tb = $("running").tBodies[0];
  const now = Date.now() + offset - st.begin;
  const rows = st.running.slice(0, 32).map((r) => {
    const tr = el("tr");
    tr.appendChild(el("td", "", String(r.slot)));
    tr.appendChild(el("td", "", st.groups[r.group] ? st.groups[r.group].name : "?"));
    tr.appendChild(el("td", "", dur(Math.max(now - r.start, 0))));
    return tr;
  });
  if (st.running.length > 32) rows.push(el("tr", "", "… " + (st.running.length - 32) + " more"));
  tb.replaceChildren(...rows);
}

function renderWorkers(st) {
  $("cluster-view").hidden = !st.cluster;
  const we = $("workers-error");
  we.hidden = !st.workers_error;
  we.textContent = st.workers_error || "";
  const tb = $("workers").tBodies[0];
  tb.replaceChildren(...st.workers.map((w) => {
    const tr = el("tr");
    tr.dataset.worker = w.id;
    for (const v of [w.id, w.host, w.pid, w.slots, w.running, fmt(w.done), fmt(w.failed),
      w.rate.toFixed(1), w.memory ? bytes(w.memory) : "–", dur(w.last_seen) + " ago"]) {
      tr.appendChild(el("td", "", String(v)));
    }
    return tr;
  }));
}

function renderFailures(st) {
  const more = st.more_failures ? "(and " + fmt(st.more_failures) + " more, not kept)" : "";
  $("more-failures").textContent = more;
  if (st.failures.length === failuresShown) return;
  failuresShown = st.failures.length;
  const ul = $("failures");
  if (!st.failures.length) {
    ul.replaceChildren(el("li", "none", "none"));
    return;
  }
  ul.replaceChildren(...st.failures.map((f) => {
    const li = el("li");
    li.dataset.id = f.id;
    if (f.id === selected) li.classList.add("selected");
    li.appendChild(el("span", "g", f.group));
    li.appendChild(el("span", "error", firstLine(f.error)));
    li.addEventListener("click", () => showTask(f.id));
    return li;
  }));
  if (selected < 0) showTask(st.failures[0].id);
}

function firstLine(s) {
  const i = s.indexOf("\n");
  return i < 0 ? s : s.slice(0, i) + " …";
}

async function showTask(id) {
  selected = id;
  for (const li of $("failures").children) li.classList.toggle("selected", li.dataset.id === String(id));
  const r = await fetch("api/task?id=" + encodeURIComponent(id));
  const d = await r.json();
  if (!r.ok) return;
  $("detail").hidden = false;
  $("d-title").textContent = "Failed: " + d.label;
  $("d-function").textContent = d.function;
  $("d-args").textContent = d.args || "(not kept: only the failed calls of mrun run in process are)";
  $("d-key").textContent = d.key;
  $("d-error").textContent = d.error;
  $("d-chain").replaceChildren(...d.chain.map((c) => el("li", "mono", c)));
  $("d-stdout").textContent = d.stdout || "(nothing)";
  $("d-stderr").textContent = d.stderr || "(nothing)";
  const u = d.usage;
  const parts = [];
  if (u.wall_ms) parts.push("wall " + dur(u.wall_ms));
  if (u.guest_ms) parts.push("guest " + dur(u.guest_ms));
  if (u.peak_memory) parts.push("peak memory " + bytes(u.peak_memory));
  if (u.arg_bytes) parts.push("arguments " + bytes(u.arg_bytes));
  if (u.result_bytes) parts.push("result " + bytes(u.result_bytes));
  if (u.spawned) parts.push(fmt(u.spawned) + " spawned");
  if (u.attempts) parts.push(fmt(u.attempts) + " attempt" + (u.attempts === 1 ? "" : "s"));
  if (u.worker) parts.push("on worker " + u.worker);
  $("d-usage").textContent = parts.length ? parts.join(", ") : "not measured";
  const btn = $("d-replay");
  btn.hidden = !d.replay;
  btn.dataset.id = d.id;
  $("d-replay-out").textContent = d.replay ? "" : d.replay_hint || "";
}

$("d-replay").addEventListener("click", async () => {
  const out = $("d-replay-out");
  out.textContent = "writing…";
  try {
    const r = await fetch("api/replay?id=" + encodeURIComponent($("d-replay").dataset.id), { method: "POST", headers: { "X-Mrun-Dashboard": "1" } });
    const d = await r.json();
    out.textContent = r.ok ? "wrote " + d.path + " — run: " + d.command : d.error;
  } catch (e) {
    out.textContent = String(e);
  }
});

// MAX_LANES is the most slots drawn as lanes of their own. Beyond (a cluster's coordinator
// has a thousand slots), the calls are packed into as few lanes as they need, at most
// MAX_PACKED.
const MAX_LANES = 32;
const MAX_PACKED = 64;
let packed = null; // [lane, group, start, end, state] when packing, made at each update
let packedLanes = 0;

// pack lays the calls of the window out on the fewest lanes, in the order they started.
function pack(st) {
  const now = st.now - st.begin;
  const from = now - MAX_WINDOW_MS;
  const all = spans.filter((s) => s[3] >= from).map((s) => s.slice());
  for (const r of st.running) all.push([r.slot, r.group, r.start, Infinity, 3]);
  all.sort((a, b) => a[2] - b[2]);
  const ends = [];
  packed = [];
  for (const s of all) {
    let l = ends.findIndex((e) => e <= s[2]);
    if (l < 0) {
      if (ends.length >= MAX_PACKED) continue;
      l = ends.push(0) - 1;
    }
    ends[l] = s[3];
    s[0] = l;
    packed.push(s);
  }
  packedLanes = ends.length;
}

// drawTimeline draws the last MAX_WINDOW_MS of the calls, each slot a lane, scrolling.
function drawTimeline() {
  requestAnimationFrame(drawTimeline);
  const cv = $("timeline");
  if (!state) return;
  const w = cv.clientWidth, h = cv.clientHeight;
  if (cv.width !== w * devicePixelRatio) { cv.width = w * devicePixelRatio; cv.height = h * devicePixelRatio; }
  const ctx = cv.getContext("2d");
  ctx.setTransform(devicePixelRatio, 0, 0, devicePixelRatio, 0, 0);
  ctx.clearRect(0, 0, w, h);
  const lanes = Math.max(packed ? packedLanes : state.slots, 1);
  const lh = Math.max((h - 14) / lanes, 1);
  const now = state.ended ? state.now - state.begin : Date.now() + offset - state.begin;
  // The window grows with the run up to MAX_WINDOW_MS, then scrolls.
  const win = Math.min(Math.max(Math.ceil(now * 1.1 / 5000) * 5000, 5000), MAX_WINDOW_MS);
  $("window").textContent = String(win / 1000);
  const x0 = now - win;
  const L = 44; // the lanes' labels
  const X = (t) => L + ((t - x0) / win) * (w - L);
  const paint = (slot, g, a, b, st) => {
    if (b < x0) return;
    ctx.fillStyle = st === 1 ? "#d73a49" : st === 2 ? "#8a8f98" : `hsl(${hue(g)},55%,${st === 3 ? 60 : 45}%)`;
    const xa = Math.max(X(a), L), xb = Math.max(X(b), xa + 1);
    ctx.fillRect(xa, slot * lh + 1, xb - xa, Math.max(lh - 2, 1));
  };
  if (packed) {
    for (const s of packed) paint(s[0], s[1], s[2], Math.min(s[3], now), s[4]);
  } else {
    for (const s of spans) paint(s[0], s[1], s[2], s[3], s[4]);
    for (const r of state.running) paint(r.slot, r.group, r.start, now, 3);
  }
  ctx.fillStyle = "#57606a";
  ctx.font = "10px sans-serif";
  if (lh >= 10 && !packed) for (let s = 0; s < lanes; s++) ctx.fillText("slot " + s, 2, s * lh + lh / 2 + 4);
  const step = win > 10000 ? 5 : 1;
  for (let s = 0; s <= win / 1000; s += step) {
    const x = X(now - s * 1000);
    ctx.fillRect(x, h - 12, 1, 4);
    ctx.fillText(s ? "-" + s + "s" : "now", Math.min(x + 2, w - 24), h - 2);
  }
}

function connect() {
  const es = new EventSource("events");
  es.onmessage = (e) => render(JSON.parse(e.data));
  es.onerror = () => {
    if (state && state.ended) {
      es.close();
      $("status").textContent = "ended: " + state.result + " (the server stopped streaming)";
    } else {
      $("status").textContent = "reconnecting…";
    }
  };
}

connect();
requestAnimationFrame(drawTimeline);
