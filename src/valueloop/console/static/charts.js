/* valueloop charts: ECharts options built from the API's JSON, shared by the console and the
 * static report. Plain script; exposes window.ValueloopCharts. */
(function () {
  "use strict";

  const RISK_COLORS = { high: "#d64545", medium: "#e09b2d", low: "#2f9e6b", unknown: "#9aa5b1" };
  const RISK_LABELS = { high: "High risk", medium: "Medium risk", low: "Low risk" };
  const POLICY_LABELS = {
    run_to_failure: "Run to failure",
    fixed_interval: "Fixed interval",
    predictive: "Predictive",
  };
  const INK = "#1f2933";
  const GRID_LINE = { lineStyle: { color: "#eef0f3" } };

  function formatMoney(value, currency, compact) {
    if (value === null || value === undefined || Number.isNaN(value)) return "–";
    const options = { maximumFractionDigits: compact ? 1 : 0 };
    if (compact) options.notation = "compact";
    if (currency) {
      options.style = "currency";
      options.currency = currency;
    }
    return new Intl.NumberFormat("en", options).format(value);
  }

  function formatNumber(value, digits) {
    if (value === null || value === undefined || Number.isNaN(value)) return "–";
    return new Intl.NumberFormat("en", { maximumFractionDigits: digits }).format(value);
  }

  function escapeHtml(text) {
    return String(text).replace(/[&<>"']/g, (c) => "&#" + c.charCodeAt(0) + ";");
  }

  /* A vertical interval [low, high] at x, with caps, for a custom series of [x, low, high]. */
  function intervalRenderer(capPixels) {
    return function (params, api) {
      const x = api.value(0);
      const low = api.coord([x, api.value(1)]);
      const high = api.coord([x, api.value(2)]);
      const half = (capPixels || Math.max(2, api.size([1, 0])[0] * 0.35)) / 2;
      const style = { stroke: INK, lineWidth: 1, opacity: 0.75 };
      return {
        type: "group",
        children: [
          { type: "line", shape: { x1: low[0], y1: low[1], x2: high[0], y2: high[1] }, style },
          { type: "line", shape: { x1: low[0] - half, y1: low[1], x2: low[0] + half, y2: low[1] }, style },
          { type: "line", shape: { x1: high[0] - half, y1: high[1], x2: high[0] + half, y2: high[1] }, style },
        ],
      };
    };
  }

  /* Fleet health: predicted remaining life per asset with its interval, coloured by risk. */
  function fleetOption(assets) {
    const rows = assets
      .filter((a) => a.prediction)
      .sort((a, b) => a.prediction.rul - b.prediction.rul);
    const names = rows.map((a) => a.asset);
    const bars = Object.keys(RISK_LABELS).map((risk) => ({
      name: RISK_LABELS[risk],
      type: "bar",
      barGap: "-100%",
      barCategoryGap: "25%",
      itemStyle: { color: RISK_COLORS[risk] },
      data: rows.map((a) => (a.risk === risk ? a.prediction.rul : "-")),
    }));
    const interval = {
      name: "Interval",
      type: "custom",
      renderItem: intervalRenderer(),
      encode: { x: 0, y: [1, 2] },
      data: rows.map((a, i) => [i, a.prediction.lower, a.prediction.upper]),
      z: 3,
    };
    return {
      grid: { left: 56, right: 16, top: 36, bottom: 70 },
      legend: { top: 0, data: Object.values(RISK_LABELS) },
      tooltip: {
        trigger: "item",
        formatter: (p) => {
          const a = rows[p.dataIndex];
          const pr = a.prediction;
          return (
            `<b>${escapeHtml(a.asset)}</b><br>RUL ${formatNumber(pr.rul, 1)} cycles<br>` +
            `${Math.round(pr.interval * 100)} % interval ${formatNumber(pr.lower, 1)}–` +
            `${formatNumber(pr.upper, 1)}<br>Risk: ${escapeHtml(a.risk)}`
          );
        },
      },
      xAxis: {
        type: "category",
        data: names,
        axisLabel: { rotate: 60, fontSize: 10 },
        axisTick: { alignWithLabel: true },
      },
      yAxis: { type: "value", name: "cycles", min: 0, splitLine: GRID_LINE },
      series: [...bars, interval],
    };
  }

  /* The maintenance plan as a Gantt-like chart: one row per serviced asset, a bar on its day.
   * With visibleRows, longer plans scroll with a slider instead of growing. */
  function planOption(plan, visibleRows) {
    const rows = plan.assignments.filter((a) => a.day !== null);
    const scroll = visibleRows && rows.length > visibleRows;
    const names = rows.map((a) => a.asset);
    const maxProbability = Math.max(0.01, ...rows.map((a) => a.failure_probability));
    const lastDay = Math.max(1, ...rows.map((a) => a.day + 1));
    return {
      grid: { left: 96, right: scroll ? 48 : 24, top: 48, bottom: 40 },
      dataZoom: scroll
        ? [{ type: "slider", yAxisIndex: 0, right: 8, width: 16, startValue: 0,
            endValue: visibleRows - 1, showDetail: false, brushSelect: false }]
        : [],
      tooltip: {
        trigger: "item",
        formatter: (p) => {
          const a = rows[p.dataIndex];
          const date = a.starts_at ? a.starts_at.slice(0, 10) : "";
          return (
            `<b>${escapeHtml(a.asset)}</b><br>Day ${a.day} (${escapeHtml(date)})<br>` +
            `Failure probability ${formatNumber(a.failure_probability * 100, 1)} %<br>` +
            `Expected cost ${formatMoney(a.expected_cost, null, true)}`
          );
        },
      },
      visualMap: {
        type: "continuous",
        dimension: 2,
        min: 0,
        max: maxProbability,
        orient: "horizontal",
        right: 24,
        top: 0,
        itemWidth: 12,
        itemHeight: 120,
        text: ["failure probability", ""],
        calculable: false,
        inRange: { color: ["#2f9e6b", "#e09b2d", "#d64545"] },
      },
      xAxis: {
        type: "value",
        name: "day of plan",
        nameLocation: "middle",
        nameGap: 26,
        min: 0,
        max: lastDay,
        splitLine: GRID_LINE,
      },
      yAxis: {
        type: "category",
        data: names,
        inverse: true,
        axisLabel: { fontSize: 10 },
      },
      series: [
        {
          name: "Overhaul",
          type: "custom",
          encode: { x: 1, y: 0 },
          data: rows.map((a, i) => [i, a.day, a.failure_probability]),
          clip: true,
          renderItem: (params, api) => {
            const row = api.value(0);
            const start = api.coord([api.value(1), row]);
            const end = api.coord([api.value(1) + 1, row]);
            const height = Math.max(4, api.size([0, 1])[1] * 0.65);
            return {
              type: "rect",
              shape: { x: start[0], y: start[1] - height / 2, width: end[0] - start[0], height },
              style: api.style(),
            };
          },
        },
      ],
    };
  }

  /* Rows a plan chart needs, to size its container. */
  function planRows(plan) {
    return plan.assignments.filter((a) => a.day !== null).length;
  }

  /* Cost per maintenance policy, predictive highlighted. */
  function policyOption(summary) {
    const names = Object.keys(POLICY_LABELS).filter((name) => summary.policies[name]);
    const currency = summary.currency;
    return {
      grid: { left: 72, right: 16, top: 24, bottom: 32 },
      tooltip: {
        trigger: "item",
        formatter: (p) => {
          const o = summary.policies[names[p.dataIndex]];
          return (
            `<b>${escapeHtml(POLICY_LABELS[names[p.dataIndex]])}</b><br>` +
            `Cost ${formatMoney(o.cost, currency, false)}<br>Failures ${o.failures}, ` +
            `overhauls ${o.overhauls}<br>Availability ${formatNumber(o.availability * 100, 2)} %`
          );
        },
      },
      xAxis: { type: "category", data: names.map((name) => POLICY_LABELS[name]) },
      yAxis: {
        type: "value",
        name: currency,
        splitLine: GRID_LINE,
        axisLabel: { formatter: (v) => formatMoney(v, null, true) },
      },
      series: [
        {
          name: "Cost",
          type: "bar",
          barWidth: "45%",
          label: {
            show: true,
            position: "top",
            formatter: (p) => formatMoney(p.value, currency, true),
          },
          data: names.map((name) => ({
            value: summary.policies[name].cost,
            itemStyle: { color: name === "predictive" ? "#087e8b" : "#9aa5b1" },
          })),
        },
      ],
    };
  }

  /* Predicted against true remaining life, with the intervals and the line of perfect prediction. */
  function truthOption(points) {
    const highest = Math.max(10, ...points.map((p) => Math.max(p.true_rul, p.rul))) * 1.1;
    const step = Math.pow(10, Math.floor(Math.log10(highest))) / 2;
    const top = Math.ceil(highest / step) * step;
    return {
      grid: { left: 56, right: 24, top: 36, bottom: 48 },
      legend: { top: 0, data: ["Prediction", "Perfect prediction"] },
      tooltip: {
        trigger: "item",
        formatter: (p) => {
          if (p.seriesType !== "scatter") return "";
          const q = points[p.dataIndex];
          return (
            `<b>${escapeHtml(q.asset)}</b><br>True ${formatNumber(q.true_rul, 1)} cycles<br>` +
            `Predicted ${formatNumber(q.rul, 1)} (${formatNumber(q.lower, 1)}–` +
            `${formatNumber(q.upper, 1)})`
          );
        },
      },
      xAxis: {
        type: "value", name: "true RUL (cycles)", nameLocation: "middle", nameGap: 28,
        min: 0, max: top, splitLine: GRID_LINE,
      },
      yAxis: { type: "value", name: "predicted RUL (cycles)", min: 0, max: top, splitLine: GRID_LINE },
      series: [
        {
          name: "Interval",
          type: "custom",
          renderItem: intervalRenderer(6),
          encode: { x: 0, y: [1, 2] },
          clip: true,
          data: points.map((p) => [p.true_rul, p.lower, p.upper]),
          silent: true,
        },
        {
          name: "Prediction",
          type: "scatter",
          symbolSize: 7,
          itemStyle: { color: "#087e8b" },
          data: points.map((p) => [p.true_rul, p.rul]),
        },
        {
          name: "Perfect prediction",
          type: "line",
          symbol: "none",
          silent: true,
          lineStyle: { color: "#d64545", type: "dashed" },
          data: [[0, 0], [top, top]],
        },
      ],
    };
  }

  /* Draw an option into an element (re-using its chart), or a message when there is no data. */
  const SERIES_PALETTE = ["#2f6fb1", "#d9822b", "#3a9d5d", "#b03a48", "#7d5ba6", "#8a6d3b",
    "#1f8a8a", "#c15f9b", "#5b7083", "#9c9c2e"];

  /* A shop schedule (rows: job, operation, machine, start, end) as a Gantt chart, one lane a
     machine, one colour a job. */
  function ganttOption(rows) {
    const machines = Array.from(new Set(rows.map((r) => r.machine))).sort((a, b) => a - b);
    const lane = new Map(machines.map((m, i) => [m, i]));
    const data = rows.map((r) => ({
      value: [lane.get(r.machine), r.start, r.end, r.job, r.operation],
      itemStyle: { color: SERIES_PALETTE[r.job % SERIES_PALETTE.length] },
    }));
    return {
      tooltip: {
        formatter: (p) => `job ${p.value[3]}, operation ${p.value[4]}<br>` +
          `machine ${machines[p.value[0]]}: ${p.value[1]} to ${p.value[2]}`,
      },
      grid: { left: 90, right: 24, top: 16, bottom: 40 },
      xAxis: { type: "value", name: "time", nameLocation: "middle", nameGap: 26, min: 0 },
      yAxis: { type: "category", data: machines.map((m) => `machine ${m}`), inverse: true },
      series: [{
        type: "custom",
        encode: { x: [1, 2], y: 0 },
        data,
        renderItem: (params, api) => {
          const start = api.coord([api.value(1), api.value(0)]);
          const end = api.coord([api.value(2), api.value(0)]);
          const height = api.size([0, 1])[1] * 0.7;
          return {
            type: "rect",
            shape: { x: start[0], y: start[1] - height / 2, width: end[0] - start[0], height },
            style: api.style({ stroke: "#ffffff", lineWidth: 0.5 }),
          };
        },
      }],
    };
  }

  /* Vehicle routes (rows: vehicle, stop, customer, x, y; the depot first, vehicle null) as a
     map: one coloured line a route, from the depot and back. */
  function routesOption(rows) {
    const depot = rows.find((r) => r.vehicle === null);
    const vehicles = Array.from(new Set(rows.filter((r) => r.vehicle !== null).map((r) => r.vehicle)));
    const routes = vehicles.map((vehicle, i) => {
      const stops = rows.filter((r) => r.vehicle === vehicle).sort((a, b) => a.stop - b.stop);
      const path = [[depot.x, depot.y], ...stops.map((r) => [r.x, r.y]), [depot.x, depot.y]];
      return { type: "line", name: `vehicle ${vehicle}`, data: path, symbolSize: 5,
        lineStyle: { width: 1.5 }, color: SERIES_PALETTE[i % SERIES_PALETTE.length] };
    });
    return {
      tooltip: { trigger: "item" },
      grid: { left: 48, right: 24, top: 16, bottom: 32 },
      xAxis: { type: "value", scale: true },
      yAxis: { type: "value", scale: true },
      series: [...routes, { type: "scatter", name: "depot", data: [[depot.x, depot.y]],
        symbol: "rect", symbolSize: 12, color: "#222222" }],
    };
  }

  function render(element, option, settings) {
    const chosen = settings || {};
    const existing = echarts.getInstanceByDom(element);
    if (!option) {
      if (existing) existing.dispose();
      element.innerHTML = "";
      const note = document.createElement("p");
      note.className = "empty";
      note.textContent = chosen.empty || "No data yet.";
      element.appendChild(note);
      return null;
    }
    if (!existing) element.innerHTML = "";
    const chart = existing || echarts.init(element, null, { renderer: chosen.renderer || "canvas" });
    chart.setOption(Object.assign({ animation: chosen.animation !== false }, option), true);
    return chart;
  }

  window.ValueloopCharts = {
    RISK_COLORS,
    POLICY_LABELS,
    escapeHtml,
    formatMoney,
    formatNumber,
    fleetOption,
    planOption,
    planRows,
    ganttOption,
    routesOption,
    policyOption,
    truthOption,
    render,
  };
})();
