/* A sparkline: an inline SVG polyline of [ts_ms, value] pairs, scaled to its box. */
const SVG = "http://www.w3.org/2000/svg";

export function sparkline(points, label) {
  const width = 120;
  const height = 28;
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.setAttribute("class", "spark");
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", label);
  const values = points.filter((p) => p[1] !== null && p[1] !== undefined);
  if (values.length < 2) return svg;
  const t0 = values[0][0];
  const t1 = values[values.length - 1][0];
  const low = Math.min(...values.map((p) => p[1]));
  const high = Math.max(...values.map((p) => p[1]));
  const x = (t) => ((t - t0) / (t1 - t0 || 1)) * (width - 2) + 1;
  const y = (v) => height - 1 - ((v - low) / (high - low || 1)) * (height - 2);
  const line = document.createElementNS(SVG, "polyline");
  line.setAttribute("points", values.map((p) => `${x(p[0]).toFixed(1)},${y(p[1]).toFixed(1)}`).join(" "));
  svg.append(line);
  return svg;
}
