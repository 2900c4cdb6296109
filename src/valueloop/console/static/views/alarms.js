/* #/alarms: the ISA-18.2 alarm list with filters; acknowledge with a comment, shelve until a time,
 * unshelve; changes arrive live from the event stream. */
import { api, ask, button, can, el, field, number, panel, send, table, toast, when } from "../lib/core.js";
import * as events from "../lib/events.js";

const STATES = ["", "unack", "acked", "rtn_unack", "normal"];
const PRIORITIES = ["", "critical", "high", "medium", "low"];

function select(name, label, values) {
  return el("label", { class: "filter" }, label + " ",
    el("select", { name }, values.map((v) => el("option", { value: v, text: v || "all" }))));
}

function acknowledge(alarm) {
  ask(`Acknowledge ${alarm.name} on ${alarm.asset}`,
    [field("Comment (kept in the audit trail)", { name: "comment", tag: "textarea", rows: 3, maxLength: 2000 })],
    "Acknowledge", async (form) => {
      await send(`api/alarms/${encodeURIComponent(alarm.alarm_id)}/acknowledge`, { comment: form.elements.comment.value });
      toast(`${alarm.name} on ${alarm.asset} acknowledged`);
    });
}

function shelve(alarm) {
  const until = new Date(Date.now() + 8 * 3600000).toISOString().slice(0, 16);
  ask(`Shelve ${alarm.name} on ${alarm.asset}`,
    [field("Shelved until (UTC)", { name: "until", type: "datetime-local", value: until, required: true }),
      field("Comment", { name: "comment", tag: "textarea", rows: 2, maxLength: 2000 })],
    "Shelve", async (form) => {
      await send(`api/alarms/${encodeURIComponent(alarm.alarm_id)}/shelve`,
        { until: form.elements.until.value + ":00Z", comment: form.elements.comment.value });
      toast(`${alarm.name} on ${alarm.asset} shelved`);
    });
}

function actions(alarm) {
  if (!can("operator")) return "";
  const id = { "data-alarm": alarm.alarm_id };
  return el("div", { class: "actions" },
    ["unack", "rtn_unack"].includes(alarm.state) ? button("Acknowledge", () => acknowledge(alarm), Object.assign({ "data-action": "acknowledge" }, id)) : null,
    alarm.shelved
      ? button("Unshelve", async () => { await send(`api/alarms/${encodeURIComponent(alarm.alarm_id)}/unshelve`, {}); toast("Unshelved"); }, Object.assign({ "data-action": "unshelve" }, id))
      : button("Shelve", () => shelve(alarm), Object.assign({ "data-action": "shelve" }, id)));
}

function row(alarm) {
  const state = alarm.shelved ? `shelved until ${new Date(alarm.shelved_until).toISOString().slice(0, 16)}Z` : alarm.state.replace("_", " ");
  return el("tr", { "data-alarm": alarm.alarm_id, class: "alarm " + alarm.state },
    el("td", {}, el("span", { class: "priority " + alarm.priority, text: alarm.priority })),
    el("td", {}, el("span", { class: "status " + alarm.state, text: state })),
    el("td", {}, el("a", { href: "#/assets/" + encodeURIComponent(alarm.asset), text: alarm.asset })),
    el("td", { text: `${alarm.name} (${alarm.level})`, title: alarm.description }),
    el("td", {}, when(alarm.raised_at)),
    el("td", { class: "num", text: number(alarm.value_at_raise, 3) }),
    el("td", { text: alarm.acked_by ? `${alarm.acked_by}: ${alarm.ack_comment || ""}` : "" }),
    el("td", {}, actions(alarm)));
}

export async function render(root) {
  const filters = el("form", { class: "toolbar", "aria-label": "Filters" },
    select("state", "State", STATES), select("priority", "Priority", PRIORITIES),
    el("label", { class: "filter" }, "Asset ", el("input", { name: "asset", type: "search", size: 14 })),
    el("label", { class: "filter" }, el("input", { name: "include_normal", type: "checkbox" }), " closed too"));
  const holder = el("div", { id: "alarm-list" });
  const draw = async () => {
    const query = new URLSearchParams();
    for (const name of ["state", "priority", "asset"]) {
      const value = filters.elements[name].value.trim();
      if (value) query.set(name, value);
    }
    if (filters.elements.include_normal.checked) query.set("include_normal", "true");
    const alarms = await api("api/alarms?" + query);
    holder.replaceChildren(alarms.length
      ? table(["Priority", "State", "Asset", "Alarm", "Raised", "Value", "Acknowledged", "Actions"], alarms.map(row))
      : el("p", { class: "empty", text: "No alarms." }));
  };
  filters.addEventListener("change", () => draw());
  filters.addEventListener("submit", (event) => { event.preventDefault(); draw(); });
  root.append(el("h1", { text: "Alarms" }), panel("ISA-18.2 alarm list", filters, holder));
  await draw();
  return events.on("alarm", () => draw());
}
