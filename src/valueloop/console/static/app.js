/* valueloop console: signs in with an API token and routes #/view/... to the view's module. */
import { $, HttpError, TOKEN_KEY, api, can, optional, session, toast } from "./lib/core.js";
import * as events from "./lib/events.js";

const VIEWS = {
  assets: () => import("./views/assets.js"),
  trends: () => import("./views/trends.js"),
  alarms: () => import("./views/alarms.js"),
  workorders: () => import("./views/workorders.js"),
  value: () => import("./views/value.js"),
  dashboards: () => import("./views/dashboards.js"),
  users: () => import("./views/users.js"),
  packs: () => import("./views/packs.js"),
};
const THEME_KEY = "valueloop.theme";
let leave = null;

/* The token comes once as ?token=..., is kept for the tab's session and leaves the URL. */
function takeToken() {
  const url = new URL(window.location.href);
  const given = url.searchParams.get("token");
  if (given) {
    sessionStorage.setItem(TOKEN_KEY, given);
    url.searchParams.delete("token");
    window.history.replaceState(null, "", url.pathname + url.search + url.hash);
  }
  return sessionStorage.getItem(TOKEN_KEY);
}

function showSignIn(message) {
  events.stop();
  for (const id of ["view", "user", "nav"]) $(id).hidden = true;
  $("signin").hidden = false;
  $("signin-error").hidden = !message;
  $("signin-error").textContent = message || "";
  $("signin-token").focus();
}

function signOut(message) {
  sessionStorage.removeItem(TOKEN_KEY);
  session.token = null;
  session.me = null;
  showSignIn(message);
}

async function countAlarms() {
  const unacked = await api("api/alarms?state=unack&limit=1000");
  $("alarm-count").textContent = String(unacked.length);
}

/* The view the address names, its module's loader and the rest of the address. */
function addressed() {
  const where = window.location.hash.replace(/^#\/?/, "") || "assets";
  const [name, ...rest] = where.split("/");
  return { where, name, rest, load: VIEWS[name] || VIEWS.assets };
}

async function route() {
  if (!session.me) return;
  if (leave) leave();
  leave = null;
  const { where, name, rest, load } = addressed();
  for (const link of $("nav").querySelectorAll("a")) {
    const current = link.getAttribute("href") === "#/" + name;
    if (current) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  const root = $("view");
  // each visit draws into a box of its own: a view still loading when it is left draws into a
  // box no longer on the page, never into the next view
  const box = document.createElement("div");
  root.replaceChildren(box);
  root.dataset.view = where;
  root.setAttribute("aria-busy", "true");
  try {
    const view = await load();
    leave = (await view.render(box, rest.map(decodeURIComponent))) || null;
  } catch (error) {
    if (error instanceof HttpError && error.status === 401) return signOut("Your token is no longer accepted.");
    toast("Could not show this view: " + error.message, true);
  } finally {
    if (root.dataset.view === where) root.setAttribute("aria-busy", "false");
  }
}

async function start() {
  addressed().load().catch(() => {});  // the first view's module loads while we sign in
  try {
    const [me, site] = await Promise.all([api("api/me"), optional("api/site")]);
    session.me = me;
    session.site = Object.assign(session.site, site || {});
  } catch (error) {
    if (error.status === 401) return signOut("The token was not accepted.");
    return toast("Could not reach the server: " + error.message, true);
  }
  $("signin").hidden = true;
  for (const id of ["view", "user", "nav"]) $(id).hidden = false;
  $("nav-users").hidden = !can("admin");
  $("user-name").textContent = session.me.name;
  $("user-role").textContent = session.me.role;
  if (session.site.name) $("site-name").textContent = session.site.name;
  events.start();
  countAlarms().catch(() => {});
  await route();
}

function applyTheme(theme) {
  const dark = theme ? theme === "dark" : window.matchMedia("(prefers-color-scheme: dark)").matches;
  document.documentElement.dataset.theme = dark ? "dark" : "light";
  $("theme").setAttribute("aria-pressed", String(dark));
  window.dispatchEvent(new Event("themechange"));
}

function wire() {
  $("signin-form").addEventListener("submit", (event) => {
    event.preventDefault();
    session.token = $("signin-token").value.trim();
    sessionStorage.setItem(TOKEN_KEY, session.token);
    $("signin-token").value = "";
    start();
  });
  $("sign-out").addEventListener("click", () => signOut());
  document.querySelector(".skip").addEventListener("click", (event) => {
    event.preventDefault();
    $("view").focus();
  });
  $("theme").addEventListener("click", () => {
    const theme = document.documentElement.dataset.theme === "dark" ? "light" : "dark";
    localStorage.setItem(THEME_KEY, theme);
    applyTheme(theme);
  });
  window.matchMedia("(prefers-color-scheme: dark)")
    .addEventListener("change", () => applyTheme(localStorage.getItem(THEME_KEY)));
  window.addEventListener("hashchange", route);
  events.on("alarm", () => countAlarms().catch(() => {}));
}

applyTheme(localStorage.getItem(THEME_KEY));
wire();
session.token = takeToken();
if (session.token) start();
else showSignIn();
