/* #/assets: the site's ISA-95 asset tree, searchable; #/assets/{asset}: one asset's signals,
 * set-points, alarms, predictions, forecasts, work orders and value. */
import { api, button, can, el, number, optional, panel, table, when } from "../lib/core.js";
import * as events from "../lib/events.js";
import { orderTable, proposeSetpoint, proposeTask } from "../lib/orders.js";
import { sparkline } from "../lib/spark.js";
import { actionTable } from "./value.js";

const QUALITY = { 0: "good", 1: "uncertain", 2: "bad" };

/* The tree's nodes; a server without the tree route gives the flat asset list. */
async function treeNodes() {
  const tree = await optional("api/assets/tree");
  if (tree) return tree.nodes;
  const assets = await api("api/assets");
  return assets.map((a) => ({ path: a.asset, name: a.asset, level: "asset", type: null, children: [] }));
}

function branch(node, query) {
  const matches = (n) => n.name.toLowerCase().includes(query) || (n.children || []).some(matches);
  if (query && !matches(node)) return null;
  const children = (node.children || []).map((c) => branch(c, query)).filter(Boolean);
  const label = node.level === "asset"
    ? el("a", { href: "#/assets/" + encodeURIComponent(node.name), text: node.name })
    : el("span", { class: "level", text: node.name });
  const type = node.type ? el("span", { class: "muted", text: " " + node.type }) : null;
  return el("li", { role: "treeitem", "aria-expanded": children.length ? "true" : undefined },
    label, type, children.length ? el("ul", { role: "group" }, children) : null);
}

async function renderTree(root) {
  const nodes = await treeNodes();
  const list = el("ul", { class: "tree", role: "tree", "aria-label": "Assets" });
  const search = el("input", { type: "search", id: "asset-search", placeholder: "Search assets",
    "aria-label": "Search assets" });
  const draw = () => list.replaceChildren(...nodes.map((n) => branch(n, search.value.trim().toLowerCase())).filter(Boolean));
  search.addEventListener("input", draw);
  draw();
  root.append(el("h1", { text: "Assets" }), panel("Asset tree", search, list));
}

function signalRow(signal) {
  const latest = signal.latest;
  const quality = latest ? QUALITY[latest.quality] || String(latest.quality) : "–";
  return el("tr", { "data-series": signal.series_id },
    el("td", {}, el("a", { href: "#/trends/" + signal.series_id, text: signal.signal })),
    el("td", { class: "num", text: latest ? number(latest.value, 3) : "–" }),
    el("td", { text: signal.unit }),
    el("td", {}, el("span", { class: "quality " + quality, text: quality })),
    el("td", {}, latest ? when(latest.ts) : "–"),
    el("td", {}, sparkline(signal.sparkline || [], `${signal.signal}, last 24 hours`)));
}

/* A forecast binding's rows: its newest forecast (at the horizon's end), with a trend of its
 * forecast and interval series. Forecasters write ``<binding>_forecast``, ``_lower`` and ``_upper``. */
function forecastRows(signals) {
  const named = new Map(signals.map((s) => [s.signal, s]));
  return signals.filter((s) => s.signal.endsWith("_forecast")).map((forecast) => {
    const binding = forecast.signal.slice(0, -"_forecast".length);
    const ids = [forecast, named.get(binding + "_lower"), named.get(binding + "_upper")]
      .filter(Boolean).map((s) => s.series_id);
    const latest = forecast.latest;
    return [binding, latest ? `${number(latest.value, 3)} ${forecast.unit}` : "–",
      latest ? when(latest.ts) : "–", el("a", { href: "#/trends/" + ids.join(","), text: "Trend" })];
  });
}

async function renderAsset(root, asset) {
  const draw = async () => {
    const [view, values] = await Promise.all([
      api(`api/assets/${encodeURIComponent(asset)}/overview`),
      api(`api/value/actions?asset=${encodeURIComponent(asset)}`)]);
    if (!root.isConnected) return; // left while loading
    const forecasts = forecastRows(view.signals);
    const setpoints = view.setpoints.map((s) => el("tr", {},
      el("td", { text: s.name }), el("td", { class: "num", text: number(s.current) }), el("td", { text: s.unit }),
      el("td", { text: `${number(s.min)} – ${number(s.max)}` + (s.max_step ? `, step ≤ ${number(s.max_step)}` : "") }),
      el("td", {}, can("operator") ? button("Propose change", () => proposeSetpoint(asset, s, draw),
        { "data-setpoint": s.name }) : "")));
    const alarms = view.alarms.map((a) => [a.priority, a.state, a.name, when(a.raised_at), number(a.value_at_raise)]);
    const predictions = view.predictions.map((p) => [when(p.as_of), number(p.rul, 1),
      `${number(p.lower, 1)} – ${number(p.upper, 1)}`, p.model_version || "–"]);
    root.replaceChildren(
      el("p", {}, el("a", { href: "#/assets", text: "Assets" }), " / " + asset),
      el("h1", {}, asset, view.type ? el("span", { class: "muted", text: " " + view.type }) : null),
      panel("Signals", table(["Signal", "Latest", "Unit", "Quality", "At", "Last 24 h"], view.signals.map(signalRow))),
      panel("Set-points", setpoints.length ? table(["Set-point", "Now", "Unit", "Limits", ""], setpoints)
        : el("p", { class: "empty", text: "No set-points." })),
      panel("Active alarms", alarms.length ? table(["Priority", "State", "Alarm", "Raised", "Value"], alarms)
        : el("p", { class: "empty", text: "No active alarms." })),
      panel("Predictions", predictions.length ? table(["At", "Remaining life", "Interval", "Model"], predictions)
        : el("p", { class: "empty", text: "No predictions." })),
      panel("Forecasts", forecasts.length ? table(["Forecast", "Furthest ahead", "At", ""], forecasts)
        : el("p", { class: "empty", text: "No forecasts." })),
      panel("Work orders",
        can("operator") ? el("div", { class: "toolbar" }, button("Propose maintenance task", () => proposeTask(asset, draw))) : null,
        orderTable(view.workorders, draw)),
      panel("Value", actionTable(values)));
  };
  await draw();
  const off = [events.on("alarm", (a) => { if (a.asset === asset) draw(); }),
    events.on("workorder", (o) => { if (o.asset === asset) draw(); })];
  return () => off.forEach((f) => f());
}

export function render(root, params) {
  return params.length ? renderAsset(root, params.join("/")) : renderTree(root);
}
