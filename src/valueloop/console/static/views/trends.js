/* #/trends[/id,id,...[/start/end]]: any signals on one chart, one y-axis per unit, over a picked
 * time range (the last 24 hours, live, unless the link names a start and an end, ISO 8601);
 * zooming refetches the range at the chart's pixel width, gaps and bad-quality points show as
 * such, and a live tail appends new points every few seconds. Each time ECharts has painted new
 * data, #trend-chart's data-painted says when (performance.now(), ms since navigation) and
 * data-paints counts the paints. */
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

/* The time of the newest reading of any of ``traces`` (from a trend: each path ends
 * ".../asset/signal"), as their assets' overviews give it; null when none has a reading. */
async function newest(traces) {
  const assets = [...new Set(traces.map((t) => t.path.split("/").slice(-2)[0]))];
  const overviews = await Promise.all(assets.map((a) => api(`api/assets/${encodeURIComponent(a)}/overview`)));
  const ids = new Set(traces.map((t) => t.series_id));
  const stamps = overviews.flatMap((o) => o.signals).filter((s) => ids.has(s.series_id) && s.latest)
    .map((s) => Date.parse(s.latest.ts));
  return stamps.length ? Math.max(...stamps) : null;
}

export async function render(root, params) {
  const state = { ids: (params[0] || "").split(",").filter(Boolean).map(Number), span: RANGES["24 h"],
    end: null, start: null, data: null, live: true, timer: null, busy: false,
    asked: 0, painting: false, zoomTo: null, zooming: false, held: false, heldRange: null };
  const [linkStart, linkEnd] = [Date.parse(params[1]), Date.parse(params[2])];
  if (linkEnd > linkStart) Object.assign(state, { live: false, start: linkStart, end: linkEnd, span: linkEnd - linkStart });
  const holder = el("div", { class: "chart trend", id: "trend-chart" });
  const status = el("p", { class: "muted", id: "trend-status", "aria-live": "polite" });
  const chart = window.echarts.init(holder, null, { renderer: "canvas" });
  const chosen = el("ul", { class: "chips", "aria-label": "Signals on the chart" });
  const from = el("input", { type: "datetime-local", id: "trend-from" });
  const to = el("input", { type: "datetime-local", id: "trend-to" });

  const setHash = () => window.history.replaceState(null, "", "#/trends/" + state.ids.join(",") + (state.live ? ""
    : `/${new Date(state.start).toISOString()}/${new Date(state.end).toISOString()}`));
  const draw = () => {
    chosen.replaceChildren(...(state.data ? state.data.series : []).map((s) => el("li", {}, `${s.path} (${s.unit}) `,
      button("Remove", () => { state.ids = state.ids.filter((i) => i !== s.series_id); load(); },
        { "aria-label": `Remove ${s.path}`, class: "link" }))));
    if (!state.data) return chart.clear();
    state.painting = true;
    chart.setOption(trendOption(state.data, document.documentElement.dataset.theme === "dark", siteTime), true);
  };

  /* The range from ``start`` to ``end`` (ms; by default the span up to now when live), at the
   * chart's width; an answer that a later load has overtaken is dropped. */
  async function load(start, end) {
    const asked = ++state.asked;
    if (!state.ids.length) {
      setHash();
      state.data = null;
      status.textContent = "Pick a signal to draw.";
      return draw();
    }
    state.end = end ?? (state.live ? Date.now() : state.end);
    state.start = start ?? state.end - state.span;
    setHash();
    from.value = localInput(state.start);
    to.value = localInput(state.end);
    const query = new URLSearchParams({ start: new Date(state.start).toISOString(), end: new Date(state.end).toISOString(),
      width: String(Math.max(100, Math.min(10000, Math.round(holder.clientWidth || 800)))) });
    for (const id of state.ids) query.append("series", String(id));
    const began = performance.now();
    const data = await api("api/trends?" + query);
    if (asked !== state.asked) return;
    state.data = data;
    const points = data.series.reduce((sum, s) => sum + s.points.length, 0);
    status.textContent = `${points} points from ${siteTime(state.start)} to ${siteTime(state.end)}; ` +
      `server ${data.server_ms.toFixed(0)} ms, round trip ${(performance.now() - began).toFixed(0)} ms.`;
    draw();
  }

  /* The live tail: the minutes since the last point, appended, the window moved on. */
  async function tail() {
    const asked = state.asked;
    if (!state.live || !state.data || state.busy) return;
    state.busy = true;
    try {
      const last = Math.max(...state.data.series.map((s) => (s.points.length ? s.points[s.points.length - 1][0] : state.start)));
      const now = Date.now();
      const query = new URLSearchParams({ start: new Date(last + 1).toISOString(), end: new Date(now).toISOString(), width: "100" });
      for (const id of state.ids) query.append("series", String(id));
      const fresh = await api("api/trends?" + query);
      if (asked !== state.asked || !state.live) return;
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

  chart.on("finished", () => {
    if (!state.painting) return;
    state.painting = false;
    holder.dataset.painted = performance.now().toFixed(1);
    holder.dataset.paints = String(Number(holder.dataset.paints || 0) + 1);
  });

  /* A zoom asks for the zoomed range at once; while that request is out, further zooms (a wheel
   * keeps turning) leave only their latest range, asked for when the answer is in. */
  async function zoomTo(range) {
    state.zoomTo = range;
    if (state.zooming) return;
    state.zooming = true;
    try {
      while (state.zoomTo) {
        const [start, end] = state.zoomTo;
        state.zoomTo = null;
        state.live = false;
        state.span = end - start;
        await load(start, end);
      }
    } finally {
      state.zooming = false;
    }
  }

  /* A pan or a slider dragged with a pointer asks once it is let go: a redraw under the pointer
   * would end the drag. */
  const zoomed = (range) => zoomTo(range).catch((error) => { status.textContent = "Could not load the range: " + error.message; });
  holder.addEventListener("pointerdown", () => { state.held = true; });
  const release = () => {
    const range = state.heldRange;
    Object.assign(state, { held: false, heldRange: null });
    if (range) zoomed(range);
  };
  window.addEventListener("pointerup", release);

  chart.on("datazoom", () => {
    const zoom = chart.getOption().dataZoom[0];
    if (!state.data || (zoom.start === 0 && zoom.end === 100)) return;
    const [first, last] = [Date.parse(state.data.start), Date.parse(state.data.end)];
    const range = [first + ((last - first) * zoom.start) / 100, first + ((last - first) * zoom.end) / 100];
    if (state.held) state.heldRange = range;
    else zoomed(range);
  });

  /* A live range without a single point (a site replaying history, a device gone quiet) moves
   * to the same span up to the newest reading: on opening, on adding a signal, on a range button. */
  async function latestIfEmpty() {
    if (!state.live || !state.data || state.data.series.some((t) => t.points.length)) return;
    const last = await newest(state.data.series);
    if (last === null || !state.live) return;
    state.live = false;
    await load(last + 1 - state.span, last + 1);
    status.textContent = `No reading in this span up to now; shown up to the newest reading, ${siteTime(last)}. ` + status.textContent;
  }

  const rangeButtons = Object.entries(RANGES).map(([label, span]) => button("Last " + label, () => {
    state.span = span;
    state.live = true;
    load().then(latestIfEmpty);
  }, { "data-range": label }));
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

  const signals = panel("Signals", chosen);
  root.append(el("h1", { text: "Trends" }), signals,
    panel("Chart",
      el("div", { class: "toolbar", role: "group", "aria-label": "Time range" }, rangeButtons,
        el("label", { for: "trend-from", text: "From (UTC)" }), from, el("label", { for: "trend-to", text: "To (UTC)" }), to,
        custom, button("Earlier", shift(-0.5)), button("Later", shift(0.5))),
      holder, status));
  chart.resize();
  const resize = () => chart.resize();
  const theme = () => draw();
  window.addEventListener("resize", resize);
  window.addEventListener("themechange", theme);
  state.timer = setInterval(() => tail().catch(() => {}), TAIL_MS);
  const off = events.on("alarm", () => tail().catch(() => {}));
  await Promise.all([load(),
    picker((id) => { if (!state.ids.includes(id)) state.ids.push(id); load().then(latestIfEmpty); }).then((node) => chosen.before(node))]);
  await latestIfEmpty();
  return () => {
    state.asked += 1;
    clearInterval(state.timer);
    off();
    window.removeEventListener("resize", resize);
    window.removeEventListener("themechange", theme);
    window.removeEventListener("pointerup", release);
    chart.dispose();
  };
}
