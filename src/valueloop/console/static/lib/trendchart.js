/* The trend chart's ECharts option: a line per series, one y-axis per unit, a break and a shaded
 * band over each gap, bad- and uncertain-quality points drawn apart, zoom inside and by slider. */
const PALETTE = ["#087e8b", "#d64545", "#5b6abf", "#e09b2d", "#2f9e6b", "#a23b72", "#3c6e71", "#8a6d3b"];
const QUALITY = { 1: { name: "uncertain", symbol: "triangle", color: "#e09b2d" }, 2: { name: "bad", symbol: "diamond", color: "#d64545" } };

/* Points of a series as [ts, value], null at each gap (so the line breaks) and at points of other
 * than good quality (drawn by their own series). */
function linePoints(series) {
  const out = [];
  let gap = 0;
  for (const [ts, value, quality] of series.points) {
    while (gap < series.gaps.length && series.gaps[gap][1] <= ts) {
      out.push([series.gaps[gap][0], null]);
      gap += 1;
    }
    out.push([ts, quality === 0 ? value : null]);
  }
  return out;
}

export function trendOption(data, dark, format) {
  const ink = dark ? "#d8dee6" : "#1f2933";
  const line = dark ? "#2e3a46" : "#eef0f3";
  const units = [...new Set(data.series.map((s) => s.unit || ""))];
  const yAxis = units.map((unit, index) => ({
    type: "value", name: unit, scale: true, position: index % 2 ? "right" : "left",
    offset: Math.floor(index / 2) * 56, axisLine: { show: true, lineStyle: { color: ink } },
    axisLabel: { color: ink }, nameTextStyle: { color: ink }, splitLine: { show: index === 0, lineStyle: { color: line } },
  }));
  const series = [];
  data.series.forEach((s, index) => {
    const color = PALETTE[index % PALETTE.length];
    const yAxisIndex = units.indexOf(s.unit || "");
    series.push({
      name: `${s.path} (${s.unit})`, type: "line", yAxisIndex, showSymbol: false, sampling: undefined,
      connectNulls: false, lineStyle: { width: 1.4, color }, itemStyle: { color }, data: linePoints(s),
      markArea: s.gaps.length ? { silent: true, itemStyle: { color: dark ? "rgba(255,255,255,0.06)" : "rgba(0,0,0,0.05)" },
        data: s.gaps.map(([a, b]) => [{ xAxis: a, name: "no data" }, { xAxis: b }]) } : undefined,
    });
    for (const [quality, look] of Object.entries(QUALITY)) {
      const points = s.points.filter((p) => p[2] === Number(quality)).map((p) => [p[0], p[1]]);
      if (points.length) {
        series.push({ name: `${s.path}: ${look.name} quality`, type: "scatter", yAxisIndex, symbol: look.symbol,
          symbolSize: 7, itemStyle: { color: look.color }, data: points });
      }
    }
  });
  return {
    animation: false,
    color: PALETTE,
    textStyle: { color: ink },
    legend: { type: "scroll", top: 0, textStyle: { color: ink } },
    tooltip: { trigger: "axis", valueFormatter: (v) => (v === null || v === undefined ? "–" : String(Math.round(v * 1000) / 1000)),
      axisPointer: { label: { formatter: (p) => (p.axisDimension === "x" ? format(p.value, true) : String(Math.round(p.value * 100) / 100)) } } },
    grid: { left: 16 + 56 * Math.ceil(units.length / 2), right: 16 + 56 * Math.floor(units.length / 2), top: 40, bottom: 70, containLabel: false },
    xAxis: { type: "time", min: Date.parse(data.start), max: Date.parse(data.end), axisLabel: { color: ink, hideOverlap: true,
      formatter: (v) => format(v) }, axisLine: { lineStyle: { color: ink } }, splitLine: { show: false } },
    yAxis,
    dataZoom: [{ type: "inside", xAxisIndex: 0, filterMode: "none" }, { type: "slider", xAxisIndex: 0, filterMode: "none", bottom: 16, height: 24 }],
    series,
  };
}
