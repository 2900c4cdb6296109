/* valueloop report: draws the charts of a static report from the JSON inlined in the page. */
(function () {
  "use strict";

  const C = window.ValueloopCharts;
  const data = JSON.parse(document.getElementById("report-data").textContent);
  const settings = (empty) => ({ renderer: "svg", animation: false, empty });
  const chart = (id) => document.getElementById(id);

  const predicted = data.assets.some((a) => a.prediction);
  C.render(chart("fleet-chart"), predicted ? C.fleetOption(data.assets) : null,
    settings("No predictions recorded."));

  C.render(chart("truth-chart"), data.truth.length ? C.truthOption(data.truth) : null,
    settings("No prediction made where the true remaining life is known."));

  const rows = data.plan ? C.planRows(data.plan) : 0;
  chart("plan-chart").style.height = Math.max(220, rows * 16 + 100) + "px";
  C.render(chart("plan-chart"), rows ? C.planOption(data.plan) : null,
    settings(data.plan ? "No overhaul planned." : "No plan recorded."));

  if (data.solution) {
    const shop = ["jsp", "fjsp"].includes(data.solution.plan.kind);
    C.render(chart("solution-chart"),
      shop ? C.ganttOption(data.solution.rows) : C.routesOption(data.solution.rows),
      settings("No schedule or routes recorded."));
  }

  const policies = data.summary && Object.keys(data.summary.policies).length;
  C.render(chart("policy-chart"), policies ? C.policyOption(data.summary) : null,
    settings("No policy comparison recorded."));
})();
