/* #/workorders: work orders by status, with who proposed and approved them; approve, reject and
 * roll back as the user's role allows; state changes arrive live. */
import { el, panel } from "../lib/core.js";
import * as events from "../lib/events.js";
import { listOrders, orderTable } from "../lib/orders.js";

const STATUSES = ["", "proposed", "approved", "executing", "executed", "dispatched", "completed",
  "rejected", "failed", "rolled_back", "expired"];

export async function render(root) {
  const status = el("select", { id: "wo-status" },
    STATUSES.map((s) => el("option", { value: s, text: s ? s.replace("_", " ") : "all" })));
  const holder = el("div", { id: "wo-list" });
  const draw = async () => holder.replaceChildren(orderTable(await listOrders(status.value), draw));
  status.addEventListener("change", draw);
  root.append(el("h1", { text: "Work orders" }),
    el("p", { class: "muted", text: "Propose a set-point change or a maintenance task from an asset's page." }),
    panel("Orders", el("div", { class: "toolbar" }, el("label", { for: "wo-status", text: "Status " }), status), holder));
  await draw();
  return events.on("workorder", () => draw());
}
