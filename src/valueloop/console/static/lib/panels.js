/* The panels a dashboard holds: trend, KPI, gauge, alarm list, table of latest values, Gantt of
 * a plan (a maintenance plan by asset and day, or a solved schedule by machine); each drawn into
 * its body from the API. A panel of signals keeps their series ids (config.series) and the asset
 * of each (config.assets), whose overview gives their latest values. */
import { api, el, number, optional, siteTime, table, when } from "./core.js";
import { trendOption } from "./trendchart.js";

export const KINDS = ["trend", "kpi", "gauge", "alarms", "table", "gantt"];
const C = window.ValueloopCharts;
const DAY_MS = 86400e3;
const dark = () => document.documentElement.dataset.theme === "dark";

/* The panel's signals as their assets' overviews show them (latest point, unit, path), in the
 * panel's order; a series its asset no longer has is left out. */
async function signalsOf(config) {
  const assets = [...new Set(config.assets || [])];
  const overviews = await Promise.all(assets.map((a) => api(`api/assets/${encodeURIComponent(a)}/overview`)));
  const found = new Map(overviews.flatMap((o) => o.signals.map((s) => [s.series_id, s])));
  return (config.series || []).map((id) => found.get(id)).filter(Boolean);
}

/* The day of data up to the newest reading of ``signals`` (up to now when none has one). */
async function lastDay(signals, width) {
  const stamps = signals.filter((s) => s.latest).map((s) => Date.parse(s.latest.ts));
  const end = stamps.length ? Math.max(...stamps) + 1 : Date.now();
  const query = new URLSearchParams({ start: new Date(end - DAY_MS).toISOString(), end: new Date(end).toISOString(),
    width: String(Math.max(100, Math.min(10000, Math.round(width || 400)))) });
  for (const s of signals) query.append("series", String(s.series_id));
  return api("api/trends?" + query);
}

function chartIn(body, option, node) {
  const holder = el("div", { class: "panel-chart" });
  body.append(holder);
  const chart = window.echarts.init(holder);
  chart.setOption(option);
  const resize = () => chart.resize();
  node.addEventListener("resized", resize);
  window.addEventListener("resize", resize);
  return () => { window.removeEventListener("resize", resize); chart.dispose(); };
}

const empty = (body, text) => body.append(el("p", { class: "empty", text }));

/* Draw panel ``p`` into ``body`` (of the panel's ``node``); returns a clean-up, if any. */
export async function drawPanel(body, p, node) {
  if (p.kind === "alarms") {
    const alarms = await api("api/alarms?limit=10");
    if (!alarms.length) return empty(body, "No active alarms.");
    return body.append(table(["Priority", "Asset", "Alarm", "State", "Raised"],
      alarms.map((a) => [a.priority, a.asset, a.name, a.state.replace("_", " "), when(a.raised_at)])));
  }
  if (p.kind === "gantt") {
    if (!p.config.plan) return empty(body, "No plan chosen.");
    const id = encodeURIComponent(p.config.plan);
    const plan = await api(`api/plans/${id}`);
    if (C.planRows(plan)) return chartIn(body, C.planOption(plan, Math.max(4, Math.floor((body.clientHeight - 90) / 16))), node);
    const solved = await optional(`api/plans/${id}/rows`);
    if (!solved || !solved.rows.length) return empty(body, `Plan ${p.config.plan} has nothing scheduled.`);
    return chartIn(body, C.ganttOption(solved.rows), node);
  }
  if (!KINDS.includes(p.kind)) return empty(body, `Unknown panel kind ${p.kind}.`);
  const signals = await signalsOf(p.config);
  if (!signals.length) return empty(body, "No signals chosen.");
  if (p.kind === "trend") return chartIn(body, trendOption(await lastDay(signals, body.clientWidth), dark(), siteTime), node);
  if (p.kind === "table") {
    return body.append(table(["Signal", "Latest", "Unit", "At"], signals.map((s) =>
      [s.path, s.latest ? number(s.latest.value, 3) : "–", s.unit, s.latest ? when(s.latest.ts) : "–"])));
  }
  const [s] = signals;
  if (p.kind === "kpi") {
    return body.append(el("div", { class: "kpi-value", text: s.latest ? `${number(s.latest.value, 2)} ${s.unit}` : "–" }),
      el("div", { class: "muted" }, s.path, s.latest ? ", " : "", s.latest ? when(s.latest.ts) : ""));
  }
  const ink = dark() ? "#d8dee6" : "#1f2933";
  return chartIn(body, { series: [{ type: "gauge", min: p.config.min ?? 0, max: p.config.max ?? 100,
    axisLabel: { color: ink }, title: { show: false },
    detail: { formatter: `{value} ${s.unit}`, fontSize: 16, color: ink, offsetCenter: [0, "60%"] },
    data: [{ value: s.latest ? Math.round(s.latest.value * 100) / 100 : 0, name: s.path }] }] }, node);
}
