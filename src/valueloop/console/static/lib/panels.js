/* The panels a dashboard holds: trend, KPI, gauge, alarm list, table of latest values, Gantt of
 * a plan; each drawn into its body from the API. */
import { api, el, number, siteTime, table, when } from "./core.js";
import { trendOption } from "./trendchart.js";

export const KINDS = ["trend", "kpi", "gauge", "alarms", "table", "gantt"];
const DAY_MS = 86400e3;
const dark = () => document.documentElement.dataset.theme === "dark";

/* The series' last day at the body's width (the last points are the latest values). */
function lastDay(series, width) {
  const query = new URLSearchParams({ start: new Date(Date.now() - DAY_MS).toISOString(),
    end: new Date().toISOString(), width: String(Math.max(100, Math.min(10000, Math.round(width || 400)))) });
  for (const id of series) query.append("series", String(id));
  return api("api/trends?" + query);
}

const latest = (s) => {
  const good = s.points.filter((p) => p[1] !== null);
  return good.length ? good[good.length - 1] : null;
};

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

export async function drawPanel(body, p, node) {
  const series = p.config.series || [];
  if (p.kind === "trend") {
    if (!series.length) return body.append(el("p", { class: "empty", text: "No series chosen." }));
    return chartIn(body, trendOption(await lastDay(series, body.clientWidth), dark(), siteTime), node);
  }
  if (p.kind === "kpi" || p.kind === "gauge") {
    if (!series.length) return body.append(el("p", { class: "empty", text: "No series chosen." }));
    const s = (await lastDay(series.slice(0, 1), 100)).series[0];
    const point = latest(s);
    if (p.kind === "kpi") {
      return body.append(el("div", { class: "kpi-value", text: point ? `${number(point[1], 2)} ${s.unit}` : "–" }),
        el("div", { class: "muted" }, s.path, point ? ", " : "", point ? when(point[0]) : ""));
    }
    return chartIn(body, { series: [{ type: "gauge", min: p.config.min ?? 0, max: p.config.max ?? 100,
      detail: { formatter: `{value} ${s.unit}`, fontSize: 16, color: dark() ? "#d8dee6" : "#1f2933" },
      data: [{ value: point ? Math.round(point[1] * 100) / 100 : 0, name: s.path }] }] }, node);
  }
  if (p.kind === "alarms") {
    const alarms = await api("api/alarms?limit=10");
    return body.append(table(["Priority", "Asset", "Alarm", "State", "Raised"],
      alarms.map((a) => [a.priority, a.asset, a.name, a.state, when(a.raised_at)])));
  }
  if (p.kind === "table") {
    if (!series.length) return body.append(el("p", { class: "empty", text: "No series chosen." }));
    const data = await lastDay(series, 100);
    return body.append(table(["Signal", "Latest", "Unit", "At"], data.series.map((s) => {
      const point = latest(s);
      return [s.path, point ? number(point[1], 3) : "–", s.unit, point ? when(point[0]) : "–"];
    })));
  }
  if (p.kind === "gantt") {
    if (!p.config.plan) return body.append(el("p", { class: "empty", text: "No plan chosen." }));
    const plan = await api(`api/plans/${encodeURIComponent(p.config.plan)}/rows`);
    return chartIn(body, window.ValueloopCharts.ganttOption(plan.rows), node);
  }
  return body.append(el("p", { class: "empty", text: `Unknown panel kind ${p.kind}.` }));
}
