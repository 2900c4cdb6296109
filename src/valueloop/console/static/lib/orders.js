/* Work orders: their table with the decisions the signed-in user may take, and the forms that
 * propose a set-point change or a maintenance task. */
import { api, ask, button, can, el, field, money, number, send, session, table, toast, when } from "./core.js";

const path = (order, step) => `api/workorders/${encodeURIComponent(order.order_id)}/${step}`;

function decide(order, step, verb, after) {
  const comment = field("Comment (kept in the audit trail)", { name: "comment", tag: "textarea", rows: 3, maxLength: 2000 });
  const text = el("p", { class: "muted", text: `${order.task || order.action} on ${order.asset}` +
    (order.expected_value ? `, expected value ${money(order.expected_value)}` : "") + "." });
  ask(`${verb} work order ${order.order_id}`, [text, comment], verb, async (form) => {
    const body = step === "rollback" ? { reason: form.elements.comment.value } : { comment: form.elements.comment.value };
    const changed = await send(path(order, step), body);
    const left = changed.approvals_needed - changed.approved_by.length;
    toast(step === "approve" && changed.status === "proposed"
      ? `${changed.order_id}: approval by ${session.me.name} recorded; ${left} more needed`
      : `${changed.order_id} ${changed.status} by ${changed.updated_by}`);
    after();
  });
}

/* Who proposed, who approved so far and who may still approve, in words. */
function approvals(order) {
  const done = order.approved_by.length ? order.approved_by.join(", ") : "nobody yet";
  const left = Math.max(0, order.approvals_needed - order.approved_by.length);
  const text = `by ${order.created_by || order.updated_by}; approved by ${done}` +
    (order.status === "proposed" ? `; ${left} more from an approver other than ${order.created_by || "the proposer"}` : "");
  return el("span", { class: "muted", text });
}

/* The actions on ``order`` open to the signed-in user. */
function actions(order, after) {
  const me = session.me.name;
  const buttons = [];
  const decided = order.approved_by.includes(me) || order.created_by === me;
  if (order.status === "proposed" && can("approver") && !decided) {
    buttons.push(button("Approve", () => decide(order, "approve", "Approve", after),
      { class: "approve", "data-order": order.order_id, "data-decision": "approve" }));
    buttons.push(button("Reject", () => decide(order, "reject", "Reject", after),
      { class: "reject", "data-order": order.order_id, "data-decision": "reject" }));
  }
  if (order.status === "executed" && order.kind === "setpoint" && !order.rollback_of && can("operator")) {
    buttons.push(button("Roll back", () => decide(order, "rollback", "Roll back", after),
      { "data-order": order.order_id, "data-decision": "rollback" }));
  }
  return el("div", { class: "actions" }, buttons);
}

/* A table of work orders; ``after`` reloads it once a decision is taken. */
export function orderTable(orders, after) {
  if (!orders.length) return el("p", { class: "empty", text: "No work orders." });
  const rows = orders.map((order) => el("tr", { "data-order": order.order_id },
    el("td", { text: order.order_id }),
    el("td", {}, el("a", { href: "#/assets/" + encodeURIComponent(order.asset), text: order.asset })),
    el("td", { text: order.task || order.action }),
    el("td", {}, when(order.due_at)),
    el("td", {}, el("span", { class: "status " + order.status, text: order.status.replace("_", " ") })),
    el("td", {}, approvals(order)),
    el("td", { class: "num", text: order.expected_value ? money(order.expected_value) : "–" }),
    el("td", {}, actions(order, after))));
  return table(["Order", "Asset", "Task", "Due", "Status", "Proposed / approved", "Expected value", "Actions"], rows);
}

/* The form proposing a change of ``setpoint`` (from the asset overview: limits and current value). */
export function proposeSetpoint(asset, setpoint, after) {
  const limits = el("p", { class: "muted", text: `Limits: ${number(setpoint.min)} to ${number(setpoint.max)} ${setpoint.unit}` +
    (setpoint.max_step ? `, at most ${number(setpoint.max_step)} ${setpoint.unit} a step` : "") +
    `; now ${setpoint.current === null || setpoint.current === undefined ? "unknown" : number(setpoint.current) + " " + setpoint.unit}.` });
  const fields = [limits,
    field(`Target (${setpoint.unit})`, { name: "target", type: "number", step: "any", required: true }),
    field("Reason", { name: "reason", tag: "textarea", rows: 2, maxLength: 2000 }),
    field("Expected value (money saved)", { name: "expected_value", type: "number", step: "any", value: "0" })];
  ask(`Change ${setpoint.name} of ${asset}`, fields, "Propose", async (form) => {
    const order = await send("api/workorders", {
      kind: "setpoint", asset, setpoint: setpoint.name, target: Number(form.elements.target.value),
      reason: form.elements.reason.value, expected_value: Number(form.elements.expected_value.value || 0),
    });
    toast(`${order.order_id} proposed: ${order.approvals_needed} approval(s) needed`);
    after();
  });
}

/* The form proposing a maintenance task on ``asset``. */
export function proposeTask(asset, after) {
  const start = new Date(Date.now() + 86400000).toISOString().slice(0, 16);
  const fields = [
    field("Task", { name: "task", required: true, maxLength: 2000 }),
    field("Window start (UTC)", { name: "window_start", type: "datetime-local", value: start, required: true }),
    field("Crew", { name: "crew", maxLength: 200 }),
    field("Expected value (money saved)", { name: "expected_value", type: "number", step: "any", value: "0" })];
  ask(`Maintenance task on ${asset}`, fields, "Propose", async (form) => {
    const order = await send("api/workorders", {
      kind: "maintenance", asset, task: form.elements.task.value,
      window_start: form.elements.window_start.value + ":00Z", crew: form.elements.crew.value,
      expected_value: Number(form.elements.expected_value.value || 0),
    });
    toast(`${order.order_id} proposed`);
    after();
  });
}

export const listOrders = (status) => api("api/workorders" + (status ? "?status=" + status : ""));
