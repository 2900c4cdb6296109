/* #/dashboards: the user's own and shared dashboards; #/dashboards/{id}: one, its panels on a
 * 12-column grid, edited by dragging and resizing (or arrow keys: move; shift+arrows: resize), the
 * other panels making way and rising into the rows left free. */
import { api, ask, button, el, field, panel, send, session, table, toast } from "../lib/core.js";
import { drawPanel, KINDS } from "../lib/panels.js";

const COLUMNS = 12;
const ROW_PX = 70;

function place(node, p) {
  node.style.gridColumn = `${p.x + 1} / span ${p.w}`;
  node.style.gridRow = `${p.y + 1} / span ${p.h}`;
}

function clamp(p) {
  p.w = Math.max(2, Math.min(COLUMNS, p.w));
  p.h = Math.max(2, Math.min(12, p.h));
  p.x = Math.max(0, Math.min(COLUMNS - p.w, p.x));
  p.y = Math.max(0, p.y);
}

const overlaps = (a, b) => a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;

/* The panels laid out as a grid editor does: ``moved`` where it was put, every other one, from the
 * top down, as high as it goes without overlapping those laid out before it. */
function settle(panels, moved) {
  const placed = [moved];
  for (const p of panels.filter((q) => q !== moved).sort((a, b) => a.y - b.y || a.x - b.x)) {
    p.y = 0;
    while (placed.some((q) => overlaps(p, q))) p.y += 1;
    placed.push(p);
  }
}

/* Pointer drag on the panel's handle moves it, on its corner resizes it, and so do the arrow keys
 * (with shift: resize); ``arrange(p)`` lays the board out around the changed panel. */
function draggable(node, p, grid, handle, corner, arrange) {
  const start = (resize) => (event) => {
    event.preventDefault();
    const gaps = getComputedStyle(grid);
    const column = (grid.clientWidth + (parseFloat(gaps.columnGap) || 0)) / COLUMNS;
    const row = ROW_PX + (parseFloat(gaps.rowGap) || 0);
    const origin = { x: event.clientX, y: event.clientY, p: Object.assign({}, p) };
    const move = (e) => {
      const dx = Math.round((e.clientX - origin.x) / column);
      const dy = Math.round((e.clientY - origin.y) / row);
      if (resize) Object.assign(p, { w: origin.p.w + dx, h: origin.p.h + dy });
      else Object.assign(p, { x: origin.p.x + dx, y: origin.p.y + dy });
      clamp(p);
      arrange(p);
    };
    const up = () => {
      window.removeEventListener("pointermove", move);
      window.removeEventListener("pointerup", up);
      node.dispatchEvent(new Event("resized"));
    };
    window.addEventListener("pointermove", move);
    window.addEventListener("pointerup", up);
  };
  handle.addEventListener("pointerdown", start(false));
  corner.addEventListener("pointerdown", start(true));
  node.addEventListener("keydown", (event) => {
    const step = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] }[event.key];
    if (!step || event.target !== node) return;
    event.preventDefault();
    if (event.shiftKey) Object.assign(p, { w: p.w + step[0], h: p.h + step[1] });
    else Object.assign(p, { x: p.x + step[0], y: p.y + step[1] });
    clamp(p);
    arrange(p);
    node.dispatchEvent(new Event("resized"));
  });
}

const NEEDS_SERIES = ["trend", "kpi", "gauge", "table"];

/* The add-panel form's signal chooser: picking an asset adds its signals to the list, where any
 * of them, of any assets, are selected. */
async function signalFields() {
  const assets = await api("api/assets");
  const asset = field("Asset (adds its signals to the list)", { name: "asset", tag: "select" },
    el("option", { value: "", text: "asset…" }), assets.map((a) => el("option", { value: a.asset, text: a.asset })));
  const signals = field("Signals", { name: "series", tag: "select", multiple: true, size: 6 });
  const list = signals.querySelector("select");
  asset.querySelector("select").addEventListener("change", async (event) => {
    const name = event.target.value;
    if (!name || [...list.querySelectorAll("optgroup")].some((g) => g.label === name)) return;
    const series = await api(`api/assets/${encodeURIComponent(name)}/series`);
    list.append(el("optgroup", { label: name },
      series.map((s) => el("option", { value: s.series_id, "data-asset": name, text: `${name} ${s.signal} (${s.unit})` }))));
  });
  return [asset, signals];
}

async function addPanel(board, redraw) {
  const [signals, plans] = await Promise.all([signalFields(), api("api/plans")]);
  const kind = field("Kind", { name: "kind", tag: "select" }, KINDS.map((k) => el("option", { value: k, text: k })));
  const gauge = [field("Gauge minimum", { name: "min", type: "number", step: "any", value: "0" }),
    field("Gauge maximum", { name: "max", type: "number", step: "any", value: "100" })];
  const plan = field("Plan", { name: "plan", tag: "select" }, plans.length
    ? plans.map((p) => el("option", { value: p.plan_id, text: `${p.plan_id} (${p.kind}, ${p.status})` }))
    : el("option", { value: "", text: "no plan yet" }));
  const show = () => {
    const k = kind.querySelector("select").value;
    signals.forEach((f) => { f.hidden = !NEEDS_SERIES.includes(k); });
    gauge.forEach((f) => { f.hidden = k !== "gauge"; });
    plan.hidden = k !== "gantt";
  };
  kind.querySelector("select").addEventListener("change", show);
  show();
  ask("Add a panel", [kind, field("Title", { name: "title", maxLength: 100 }), ...signals, ...gauge, plan], "Add", async (form) => {
    const v = (name) => form.elements[name].value.trim();
    const k = v("kind");
    const chosen = [...form.elements.series.selectedOptions];
    const config = { title: v("title") || k };
    if (NEEDS_SERIES.includes(k)) {
      if (!chosen.length) throw new Error("Choose at least one signal.");
      Object.assign(config, { series: chosen.map((o) => Number(o.value)), assets: chosen.map((o) => o.dataset.asset) });
    }
    if (k === "gauge") {
      Object.assign(config, { min: Number(v("min")), max: Number(v("max")) });
      if (!(config.max > config.min)) throw new Error("The gauge's maximum must exceed its minimum.");
    }
    if (k === "gantt") {
      if (!v("plan")) throw new Error("There is no plan to show yet.");
      config.plan = v("plan");
    }
    const bottom = Math.max(0, ...board.panels.map((p) => p.y + p.h));
    board.panels.push({ id: "p" + Date.now().toString(36), kind: k, x: 0, y: bottom, w: 6, h: 4, config });
    redraw();
  });
}

async function save(board) {
  const body = { name: board.name, shared: board.shared, panels: board.panels };
  const saved = board.id ? await send(`api/dashboards/${encodeURIComponent(board.id)}`, body, "PUT") : await send("api/dashboards", body);
  toast(`Dashboard ${saved.name} saved`);
  if (!board.id) window.location.hash = "#/dashboards/" + encodeURIComponent(saved.id);
}

async function renderBoard(root, id) {
  const board = id === "new" ? { name: "New dashboard", shared: false, panels: [], owner: session.me.name }
    : await api(`api/dashboards/${encodeURIComponent(id)}`);
  if (!root.isConnected) return undefined; // left while loading
  const mine = !board.owner || board.owner === session.me.name;
  const grid = el("div", { class: "board", id: "board" });
  let editing = id === "new";
  let drawing = 0;
  const cleanups = [];
  const nodes = new Map();
  const arrange = (moved) => {
    settle(board.panels, moved);
    for (const [p, node] of nodes) place(node, p);
  };
  const redraw = () => {
    const drawn = ++drawing;
    cleanups.splice(0).forEach((f) => f());
    nodes.clear();
    grid.classList.toggle("editing", editing);
    grid.replaceChildren(...board.panels.map((p) => {
      const body = el("div", { class: "panel-body" });
      const handle = el("div", { class: "panel-handle" }, el("h2", { text: p.config.title || p.kind }));
      const corner = el("div", { class: "panel-corner", "aria-hidden": "true" });
      const node = el("section", { class: "panel board-panel", "data-panel": p.id, "aria-busy": "true", tabIndex: editing ? 0 : undefined,
        "aria-label": editing ? `${p.config.title || p.kind}: arrow keys move, shift and arrow keys resize` : undefined },
      handle, body, editing ? corner : null,
      editing ? button("Remove", () => { board.panels = board.panels.filter((q) => q !== p); redraw(); },
        { class: "link", "aria-label": `Remove panel ${p.config.title || p.kind}` }) : null);
      place(node, p);
      nodes.set(p, node);
      if (editing) draggable(node, p, grid, handle, corner, arrange);
      drawPanel(body, p, node).then((f) => f && (drawn === drawing ? cleanups.push(f) : f()))
        .catch((e) => body.append(el("p", { class: "error", text: e.message })))
        .finally(() => node.setAttribute("aria-busy", "false"));
      return node;
    }));
  };
  const name = el("input", { value: board.name, "aria-label": "Dashboard name", disabled: !mine });
  const title = el("h1", { text: board.name });
  name.addEventListener("input", () => { board.name = name.value; title.textContent = name.value; });
  const shared = el("input", { type: "checkbox", id: "board-shared", checked: board.shared, disabled: !mine });
  shared.addEventListener("change", () => { board.shared = shared.checked; });
  const link = board.id ? el("input", { readOnly: true, value: `${location.origin}${location.pathname}#/dashboards/${board.id}`,
    "aria-label": "Link to share" }) : null;
  root.append(title,
    ...(mine ? [] : [el("p", { class: "muted", id: "board-owner", text: `${board.owner}'s dashboard, shared with you to read.` })]),
    el("div", { class: "toolbar" }, name, el("label", { for: "board-shared" }, shared, " shared"), link,
      mine ? button("Edit", (event) => {
        editing = !editing;
        event.currentTarget.setAttribute("aria-pressed", String(editing));
        redraw();
      }, { "aria-pressed": String(editing) }) : null,
      mine ? button("Add panel", () => addPanel(board, redraw).catch((e) => toast(e.message, true))) : null,
      mine ? button("Save", () => save(board).catch((e) => toast(e.message, true)), { class: "primary" }) : null),
    grid);
  redraw();
  return () => {
    drawing += 1;
    cleanups.splice(0).forEach((f) => f());
  };
}

async function renderList(root) {
  const boards = await api("api/dashboards");
  if (!root.isConnected) return; // left while loading
  root.append(el("h1", { text: "Dashboards" }),
    el("div", { class: "toolbar" }, el("a", { class: "button primary", href: "#/dashboards/new", text: "New dashboard" })),
    panel("Yours and shared", boards.length ? table(["Dashboard", "Owner", "Shared", "Panels"], boards.map((b) => [
      el("a", { href: "#/dashboards/" + encodeURIComponent(b.id), text: b.name }), b.owner || "–", b.shared ? "yes" : "no",
      String(b.panels.length)])) : el("p", { class: "empty", text: "No dashboards yet." })));
}

export function render(root, params) {
  return params.length ? renderBoard(root, params[0]) : renderList(root);
}
