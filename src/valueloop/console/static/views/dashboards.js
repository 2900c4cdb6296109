/* #/dashboards: the user's own and shared dashboards; #/dashboards/{id}: one, its panels on a
 * 12-column grid, edited by dragging and resizing (or arrow keys: move; shift+arrows: resize). */
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

/* Pointer drag on the panel's handle moves it; on its corner, resizes it. */
function draggable(node, p, grid, handle, corner) {
  const start = (resize) => (event) => {
    event.preventDefault();
    const cell = grid.clientWidth / COLUMNS;
    const origin = { x: event.clientX, y: event.clientY, p: Object.assign({}, p) };
    const move = (e) => {
      const dx = Math.round((e.clientX - origin.x) / cell);
      const dy = Math.round((e.clientY - origin.y) / ROW_PX);
      if (resize) Object.assign(p, { w: origin.p.w + dx, h: origin.p.h + dy });
      else Object.assign(p, { x: origin.p.x + dx, y: origin.p.y + dy });
      clamp(p);
      place(node, p);
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
    place(node, p);
    node.dispatchEvent(new Event("resized"));
  });
}

function addPanel(board, redraw) {
  ask("Add a panel", [
    field("Kind", { name: "kind", tag: "select" }, KINDS.map((k) => el("option", { value: k, text: k }))),
    field("Title", { name: "title", maxLength: 100 }),
    field("Series ids (comma separated; trend, KPI, gauge, table)", { name: "series" }),
    field("Gauge range min,max", { name: "range", value: "0,100" }),
    field("Plan id (Gantt)", { name: "plan" })],
  "Add", async (form) => {
    const v = (name) => form.elements[name].value.trim();
    const [min, max] = v("range").split(",").map(Number);
    const bottom = Math.max(0, ...board.panels.map((p) => p.y + p.h));
    board.panels.push({ id: "p" + Date.now().toString(36), kind: v("kind"), x: 0, y: bottom, w: 6, h: 4,
      config: { title: v("title") || v("kind"), series: v("series").split(",").filter(Boolean).map(Number),
        min: min || 0, max: max || 100, plan: v("plan") } });
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
  const mine = !board.owner || board.owner === session.me.name;
  const grid = el("div", { class: "board", id: "board" });
  let editing = id === "new";
  const cleanups = [];
  const redraw = () => {
    cleanups.splice(0).forEach((f) => f());
    grid.classList.toggle("editing", editing);
    grid.replaceChildren(...board.panels.map((p) => {
      const body = el("div", { class: "panel-body" });
      const handle = el("div", { class: "panel-handle" }, el("h2", { text: p.config.title || p.kind }));
      const corner = el("div", { class: "panel-corner", "aria-hidden": "true" });
      const node = el("section", { class: "panel board-panel", "data-panel": p.id, tabIndex: editing ? 0 : undefined,
        "aria-label": editing ? `${p.config.title || p.kind}: arrow keys move, shift and arrow keys resize` : undefined },
      handle, body, editing ? corner : null,
      editing ? button("Remove", () => { board.panels = board.panels.filter((q) => q !== p); redraw(); },
        { class: "link", "aria-label": `Remove panel ${p.config.title || p.kind}` }) : null);
      place(node, p);
      if (editing) draggable(node, p, grid, handle, corner);
      drawPanel(body, p, node).then((f) => f && cleanups.push(f)).catch((e) => body.append(el("p", { class: "error", text: e.message })));
      return node;
    }));
  };
  const name = el("input", { value: board.name, "aria-label": "Dashboard name", disabled: !mine });
  name.addEventListener("change", () => { board.name = name.value; });
  const shared = el("input", { type: "checkbox", id: "board-shared", checked: board.shared, disabled: !mine });
  shared.addEventListener("change", () => { board.shared = shared.checked; });
  const link = board.id ? el("input", { readOnly: true, value: `${location.origin}${location.pathname}#/dashboards/${board.id}`,
    "aria-label": "Link to share" }) : null;
  root.append(el("h1", { text: board.name }),
    el("div", { class: "toolbar" }, name, el("label", { for: "board-shared" }, shared, " shared"), link,
      mine ? button("Edit", (event) => {
        editing = !editing;
        event.currentTarget.setAttribute("aria-pressed", String(editing));
        redraw();
      }, { "aria-pressed": String(editing) }) : null,
      mine ? button("Add panel", () => addPanel(board, redraw)) : null,
      mine ? button("Save", () => save(board).catch((e) => toast(e.message, true)), { class: "primary" }) : null),
    grid);
  redraw();
  return () => cleanups.splice(0).forEach((f) => f());
}

async function renderList(root) {
  const boards = await api("api/dashboards");
  root.append(el("h1", { text: "Dashboards" }),
    el("div", { class: "toolbar" }, el("a", { class: "button primary", href: "#/dashboards/new", text: "New dashboard" })),
    panel("Yours and shared", boards.length ? table(["Dashboard", "Owner", "Shared", "Panels"], boards.map((b) => [
      el("a", { href: "#/dashboards/" + encodeURIComponent(b.id), text: b.name }), b.owner || "–", b.shared ? "yes" : "no",
      String(b.panels.length)])) : el("p", { class: "empty", text: "No dashboards yet." })));
}

export function render(root, params) {
  return params.length ? renderBoard(root, params[0]) : renderList(root);
}
