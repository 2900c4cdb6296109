/* #/trends[/id,id,...]: any signals on one chart, one y-axis per unit, over a picked time range;
 * zooming refetches the range at the chart's pixel width, gaps and bad-quality points show as
 * such, and a live tail appends new points every few seconds. */
import { api, button, el, panel, siteTime } from "../lib/core.js";
import * as events from "../lib/events.js";
import { trendOption } from "../lib/trendchart.js";

const RANGES = { "1 h": 3600e3, "24 h": 86400e3, "7 d": 7 * 86400e3, "30 d": 30 * 86400e3 };
const TAIL_MS = 5000;

function localInput(ms) {
  return new Date(ms).toISOString().slice(0, 16);
}

/* The series picker: an asset, then one of its signals. */
async function picker(onPick) {
  const assets = await api("api/assets");
  const asset = el("select", { id: "trend-asset" }, el("option", { value: "", text: "asset…" }),
    assets.map((a) => el("option", { value: a.asset, text: a.asset })));
  const signal = el("select", { id: "trend-signal", disabled: true });
  asset.addEventListener("change", async () => {
    signal.replaceChildren();
    if (!asset.value) return;
    const series = await api(`api/assets/${encodeURIComponent(asset.value)}/series`);
    signal.append(...series.map((s) => el("option", { value: s.series_id, text: `${s.signal} (${s.unit})` })));
    signal.disabled = false;
  });
  return el("div", { class: "toolbar" },
    el("label", { for: "trend-asset", text: "Asset" }), asset,
    el("label", { for: "trend-signal", text: "Signal" }), signal,
    button("Add to chart", () => signal.value && onPick(Number(signal.value)), { id: "trend-add" }));
}

export async function render(root, params) {
  const state = { ids: (params[0] || "").split(",").filter(Boolean).map(Number), span: RANGES["24 h"],
    end: null, start: null, data: null, live: true, timer: null, busy: false };
  const holder = el("div", { class: "chart trend", id: "trend-chart" });
  const status = el("p", { class: "muted", id: "trend-status", "aria-live": "polite" });
  const chart = window.echarts.init(holder, null, { renderer: "canvas" });
  const chosen = el("ul", { class: "chips", "aria-label": "Signals on the chart" });

  const setHash = () => window.history.replaceState(null, "", "#/trends/" + state.ids.join(","));
  const draw = () => {
    chosen.replaceChildren(...(state.data ? state.data.series : []).map((s) => el("li", {}, `${s.path} (${s.unit}) `,
      button("Remove", () => { state.ids = state.ids.filter((i) => i !== s.series_id); setHash(); load(); },
        { "aria-label": `Remove ${s.path}`, class: "link" }))));
    if (!state.data) return chart.clear();
    chart.setOption(trendOption(state.data, document.documentElement.dataset.theme === "dark", siteTime), true);
  };

  async function load(start, end) {
    if (!state.ids.length) {
      state.data = null;
      status.textContent = "Pick a signal to draw.";
      return draw();
    }
    state.end = end ?? (state.live ? Date.now() : state.end);
    state.start = start ?? state.end - state.span;
    const query = new URLSearchParams({ start: new Date(state.start).toISOString(), end: new Date(state.end).toISOString(),
      width: String(Math.max(100, Math.min(10000, Math.round(holder.clientWidth || 800)))) });
    for (const id of state.ids) query.append("series", String(id));
    const began = performance.now();
    state.data = await api("api/trends?" + query);
    const points = state.data.series.reduce((sum, s) => sum + s.points.length, 0);
    status.textContent = `${points} points from ${siteTime(state.start)} to ${siteTime(state.end)}; ` +
      `server ${state.data.server_ms.toFixed(0)} ms, round trip ${(performance.now() - began).toFixed(0)} ms.`;
    draw();
  }

  /* The live tail: the minutes since the last point, appended, the window moved on. */
  async function tail() {
    if (!state.live || !state.data || state.busy) return;
    state.busy = true;
    try {
      const last = Math.max(...state.data.series.map((s) => (s.points.length ? s.points[s.points.length - 1][0] : state.start)));
      const now = Date.now();
      const query = new URLSearchParams({ start: new Date(last + 1).toISOString(), end: new Date(now).toISOString(), width: "100" });
      for (const id of state.ids) query.append("series", String(id));
      const fresh = await api("api/trends?" + query);
      state.start = now - state.span;
      state.end = now;
      for (const series of state.data.series) {
        const more = fresh.series.find((f) => f.series_id === series.series_id);
        series.points = series.points.filter((p) => p[0] >= state.start).concat(more ? more.points.filter((p) => p[0] > last) : []);
      }
      state.data.start = new Date(state.start).toISOString();
      state.data.end = new Date(state.end).toISOString();
      draw();
    } finally {
      state.busy = false;
    }
  }

  chart.on("datazoom", () => {
    clearTimeout(state.zoomTimer);
    state.zoomTimer = setTimeout(() => {
      const zoom = chart.getOption().dataZoom[0];
      if (zoom.start === 0 && zoom.end === 100) return;
      const span = state.end - state.start;
      const start = state.start + (span * zoom.start) / 100;
      const end = state.start + (span * zoom.end) / 100;
      state.live = false;
      state.span = end - start;
      load(start, end);
    }, 250);
  });

  const rangeButtons = Object.entries(RANGES).map(([label, span]) => button("Last " + label, () => {
    state.span = span;
    state.live = true;
    load();
  }, { "data-range": label }));
  const from = el("input", { type: "datetime-local", id: "trend-from", "aria-label": "From (UTC)" });
  const to = el("input", { type: "datetime-local", id: "trend-to", "aria-label": "To (UTC)" });
  const custom = button("Show range", () => {
    const start = Date.parse(from.value + ":00Z");
    const end = Date.parse(to.value + ":00Z");
    if (!(end > start)) return;
    state.live = false;
    state.span = end - start;
    load(start, end);
  });
  const shift = (fraction) => () => {
    state.live = false;
    const step = (state.end - state.start) * fraction;
    load(state.start + step, state.end + step);
  };
  from.value = localInput(Date.now() - RANGES["24 h"]);
  to.value = localInput(Date.now());

  root.append(el("h1", { text: "Trends" }),
    panel("Signals", await picker((id) => { if (!state.ids.includes(id)) state.ids.push(id); setHash(); load(); }), chosen),
    panel("Chart",
      el("div", { class: "toolbar", role: "group", "aria-label": "Time range" }, rangeButtons,
        from, to, custom, button("Earlier", shift(-0.5)), button("Later", shift(0.5))),
      holder, status));
  chart.resize();
  const resize = () => chart.resize();
  const theme = () => draw();
  window.addEventListener("resize", resize);
  window.addEventListener("themechange", theme);
  state.timer = setInterval(() => tail().catch(() => {}), TAIL_MS);
  const off = events.on("alarm", () => tail().catch(() => {}));
  await load();
  return () => {
    clearInterval(state.timer);
    off();
    window.removeEventListener("resize", resize);
    window.removeEventListener("themechange", theme);
    chart.dispose();
  };
}
