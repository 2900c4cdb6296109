/* #/packs: the pack views this site has data for (the aviation pack's runs leave the site's run
 * summary, which its view shows); #/packs/aviation: the aviation pack's dashboard: fleet health
 * (remaining life with its interval by risk), the maintenance plan and the cost of each
 * maintenance policy. */
import { api, el, money, number, optional, panel } from "../lib/core.js";

const C = window.ValueloopCharts;
const PLAN_ROWS = 30;

function chart(id, option, empty, height) {
  const holder = el("div", { class: "chart", id });
  if (height) holder.style.height = height + "px";
  requestAnimationFrame(() => C.render(holder, option, { empty }));
  return holder;
}

function kpi(label, value, note) {
  return el("div", { class: "kpi" }, el("div", { class: "kpi-label", text: label }),
    el("div", { class: "kpi-value", text: value }), note ? el("div", { class: "kpi-note", text: note }) : null);
}

async function aviation(root) {
  const [summary, assets, plans] = await Promise.all([optional("api/summary"), api("api/assets"), api("api/plans")]);
  const maintenance = plans.find((p) => p.kind === "maintenance");
  const planId = (summary && summary.plan_id) || (maintenance ? maintenance.plan_id : null);
  const plan = planId ? await optional("api/plans/" + encodeURIComponent(planId)) : null;
  if (!root.isConnected) return; // left while loading
  const rows = plan ? C.planRows(plan) : 0;
  const kpis = summary ? [
    kpi("RUL error (RMSE)", number(summary.rul_rmse, 1) + " cycles", "PHM08 score " + number(summary.rul_phm_score, 0)),
    kpi("Plan", summary.plan_status || "–", plan ? "gap " + number(plan.plan.gap * 100, 2) + " %" : ""),
    ...Object.entries(summary.savings || {}).map(([name, saving]) =>
      kpi("Saving vs " + (C.POLICY_LABELS[name] || name).toLowerCase(), money(saving.money),
        number(saving.percent, 1) + " % below its cost")),
  ] : [el("p", { class: "notice", text: "No run has finished yet; the figures appear after the first run." })];
  root.append(el("h1", { text: "Aviation fleet" }),
    el("section", { class: "kpis", id: "kpis", "aria-label": "Headline numbers" }, kpis),
    el("div", { class: "grid" },
      panel("Fleet health", el("p", { class: "muted", text: "Predicted remaining life (cycles) with its interval, by risk" }),
        chart("fleet-chart", assets.some((a) => a.prediction) ? C.fleetOption(assets) : null, "No predictions yet.")),
      panel("Maintenance plan", el("p", { class: "muted", text: plan ? `${plan.plan.plan_id}: ${rows} overhauls planned` : "" }),
        chart("plan-chart", rows ? C.planOption(plan, PLAN_ROWS) : null, "No plan yet.",
          Math.max(220, Math.min(rows, PLAN_ROWS) * 16 + 100))),
      panel("Cost per policy", el("p", { class: "muted", text: "Played against the true failure times" }),
        chart("policy-chart", summary && Object.keys(summary.policies || {}).length ? C.policyOption(summary) : null,
          "No policy comparison yet."))));
}

export async function render(root, params) {
  if (params[0] === "aviation") return aviation(root);
  const summary = await optional("api/summary");
  if (!root.isConnected) return undefined; // left while loading
  root.append(el("h1", { text: "Packs" }), summary
    ? el("ul", {}, el("li", {}, el("a", { href: "#/packs/aviation", text: "Aviation fleet" }),
      ": remaining life of each engine, the maintenance plan and the cost of each maintenance policy"))
    : el("p", { class: "empty", text: "No pack of this site has a view of its own. Build dashboards of its signals under Dashboards." }));
  return undefined;
}
