/* #/value: the value ledger, expected beside verified, per action, asset and contract, and each
 * contract's statements to download. */
import { api, button, el, money, number, panel, session, table, toast, when } from "../lib/core.js";

/* Fetch a file with the token and hand it to the browser as a download. */
async function download(path, name) {
  const response = await fetch(path, { headers: { Authorization: "Bearer " + session.token } });
  if (!response.ok) return toast(`Could not download ${name}: ${response.status}`, true);
  const url = URL.createObjectURL(await response.blob());
  const link = el("a", { href: url, download: name });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

const verified = (v) => (v.verified === null ? "open" : v.verified ? "verified" : "not verified");
const totals = (rows) => rows.map((t) => [t.name, String(t.actions), String(t.verified), money(t.expected_value),
  money(t.verified_value), "± " + money(t.uncertainty)]);

async function statements(contract) {
  const periods = await api(`api/contracts/${encodeURIComponent(contract.id)}/statements`);
  const base = `api/contracts/${encodeURIComponent(contract.id)}/statement?period=`;
  return panel(`Contract ${contract.id}`,
    el("p", { class: "muted", text: `${contract.kind.replaceAll("_", " ")}: ${contract.provider} for ${contract.client}, ${contract.start} to ${contract.end}` }),
    periods.length ? table(["Period", "Actions", "Verified", "Verified value", "Statement"], periods.map((p) => [
      p.period, String(p.actions), String(p.verified), money(p.verified_value),
      el("div", { class: "actions" },
        button("HTML", () => download(base + encodeURIComponent(p.period) + "&format=html", `${contract.id}-${p.period}.html`)),
        button("PDF", () => download(base + encodeURIComponent(p.period) + "&format=pdf", `${contract.id}-${p.period}.pdf`),
          { "aria-label": `Download the ${p.period} statement of ${contract.id} as PDF` }))]))
      : el("p", { class: "empty", text: "No period with a statement yet." }));
}

/* The measured actions, expected value beside verified value, or a line saying there are none. */
export function actionTable(actions) {
  const rows = actions.map((a) => [a.order_id, a.asset, a.kpi, a.status, verified(a), money(a.expected_value),
    a.money === null ? "–" : money(a.money) + (a.money_uncertainty ? " ± " + money(a.money_uncertainty) : ""),
    a.saving === null ? "–" : `${number(a.saving)} ${a.unit}`, when(a.reporting_end)]);
  return rows.length
    ? table(["Order", "Asset", "KPI", "Window", "Saving", "Expected", "Verified", "Measured", "Reporting end"], rows)
    : el("p", { class: "empty", text: "No action measured yet." });
}

export async function render(root) {
  const [actions, assets, contracts, declared] = await Promise.all([
    api("api/value/actions"), api("api/value/assets"), api("api/value/contracts"), api("api/contracts")]);
  root.append(el("h1", { text: "Value" }),
    panel("Actions: expected and verified", actionTable(actions)),
    panel("Per asset", table(["Asset", "Actions", "Verified", "Expected", "Verified value", "Uncertainty"], totals(assets))),
    panel("Per contract", table(["Contract", "Actions", "Verified", "Expected", "Verified value", "Uncertainty"], totals(contracts))),
    ...(await Promise.all(declared.map(statements))));
}
