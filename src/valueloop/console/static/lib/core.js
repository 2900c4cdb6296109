/* The console's shared pieces: the signed-in session, API calls, DOM helpers, times, dialogs. */

export const TOKEN_KEY = "valueloop.token";
export const session = { token: null, me: null, site: { name: "", timezone: undefined, currency: null } };

export class HttpError extends Error {
  constructor(status, detail) {
    super(detail);
    this.status = status;
  }
}

/* A call to the server's API (``path`` relative to the page, e.g. "api/alarms"); JSON in and out. */
export async function api(path, init) {
  const headers = { Accept: "application/json", Authorization: "Bearer " + session.token };
  if (init && init.body) headers["Content-Type"] = "application/json";
  const response = await fetch(path, Object.assign({}, init, { headers }));
  const body = await response.json().catch(() => null);
  if (!response.ok) {
    const detail = body && typeof body.detail === "string" ? body.detail : response.statusText;
    throw new HttpError(response.status, detail);
  }
  return body;
}

/* ``api`` with a JSON body sent by POST (or ``method``). */
export function send(path, body, method) {
  return api(path, { method: method || "POST", body: JSON.stringify(body || {}) });
}

/* ``api`` that answers null where the server has no such thing (404). */
export async function optional(path) {
  try {
    return await api(path);
  } catch (error) {
    if (error.status === 404) return null;
    throw error;
  }
}

export const $ = (id) => document.getElementById(id);

/* An element: ``attrs`` set as properties (``class``, ``text``, ``on<event>`` handled), then children. */
export function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key.startsWith("data-") || key.startsWith("aria-") || key === "for" || key === "role") node.setAttribute(key, value);
    else node[key] = value;
  }
  node.append(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
  return node;
}

export const button = (text, onclick, attrs) => el("button", Object.assign({ type: "button", text, onclick }, attrs));

/* A table with a header row; each row is a list of cells (text or nodes). */
export function table(headers, rows, caption) {
  const head = el("tr", {}, headers.map((h) => el("th", { scope: "col", text: h })));
  const body = rows.map((cells) => (cells instanceof Node ? cells :
    el("tr", {}, cells.map((c) => el("td", {}, c instanceof Node ? c : String(c ?? "–"))))));
  return el("div", { class: "table-wrap" },
    el("table", { class: "data" }, caption ? el("caption", { text: caption }) : null,
      el("thead", {}, head), el("tbody", {}, body)));
}

export function panel(title, ...children) {
  return el("section", { class: "panel" }, el("h2", { text: title }), ...children);
}

const formats = new Map();
function formatter(options) {
  const key = JSON.stringify(options);
  if (!formats.has(key)) {
    formats.set(key, new Intl.DateTimeFormat("en-GB", Object.assign({ timeZone: session.site.timezone }, options)));
  }
  return formats.get(key);
}

/* A time in the site's time zone; ``withSeconds`` adds seconds. */
export function siteTime(value, withSeconds) {
  const date = value instanceof Date ? value : new Date(value);
  return formatter({ dateStyle: "short", timeStyle: withSeconds ? "medium" : "short" }).format(date);
}

/* A <time> shown in the site's time zone, with UTC in its title. */
export function when(value) {
  if (!value) return el("span", { class: "muted", text: "–" });
  const date = new Date(value);
  return el("time", { dateTime: date.toISOString(), title: date.toISOString().replace(".000", "") + " UTC",
    text: siteTime(date) });
}

export function number(value, digits) {
  if (value === null || value === undefined || Number.isNaN(value)) return "–";
  return new Intl.NumberFormat("en", { maximumFractionDigits: digits ?? 2 }).format(value);
}

export function money(value) {
  return window.ValueloopCharts.formatMoney(value, session.site.currency, false);
}

export function toast(message, isError) {
  const node = $("toast");
  node.textContent = message;
  node.classList.toggle("error", Boolean(isError));
  node.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { node.hidden = true; }, 5000);
}

export const can = (role) => {
  const ranks = ["viewer", "operator", "approver", "admin"];
  return session.me && ranks.indexOf(session.me.role) >= ranks.indexOf(role);
};

/* A modal form: ``fields`` are nodes; ``submit`` gets the form and may throw an HttpError, whose
 * detail is shown as the reason and keeps the dialog open. */
export function ask(title, fields, confirm, submit) {
  $("dialog-title").textContent = title;
  $("dialog-body").replaceChildren(...fields);
  $("dialog-confirm").textContent = confirm;
  $("dialog-error").hidden = true;
  const dialog = $("dialog");
  const form = $("dialog-form");
  form.onsubmit = async (event) => {
    event.preventDefault();
    $("dialog-confirm").disabled = true;
    try {
      await submit(form);
      dialog.close();
    } catch (error) {
      $("dialog-error").textContent = error.message;
      $("dialog-error").hidden = false;
    } finally {
      $("dialog-confirm").disabled = false;
    }
  };
  $("dialog-cancel").onclick = () => dialog.close();
  dialog.showModal();
}

/* A labelled input for a dialog. */
export function field(label, attrs, ...options) {
  const id = "f-" + attrs.name;
  const input = el(attrs.tag || "input", Object.assign({ id }, attrs, { tag: undefined }), ...options);
  return el("div", { class: "field" }, el("label", { for: id, text: label }), input);
}
