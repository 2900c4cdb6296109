/* #/users (admin): add users, change roles, issue tokens with a lifetime, change when they expire
 * and revoke them. */
import { api, ask, button, el, field, panel, send, table, toast, when } from "../lib/core.js";

const ROLES = ["viewer", "operator", "approver", "admin"];

function showToken(issued) {
  ask(`Token for ${issued.name}`, [
    el("p", { text: "Shown this once; hand it to the user. It expires " + new Date(issued.expires_at).toISOString().slice(0, 10) + "." }),
    el("input", { id: "issued-token", readOnly: true, value: issued.token, "aria-label": "The new token" })],
  "Done", async () => {});
}

function addUser(after) {
  ask("Add a user", [field("Name", { name: "name", required: true, maxLength: 100 }),
    field("Role", { name: "role", tag: "select" }, ROLES.map((r) => el("option", { value: r, text: r }))),
    field("Token lifetime (e.g. 30d, 12h)", { name: "expires_in", value: "90d", maxLength: 20 })],
  "Add", async (form) => {
    const issued = await send("api/users", { name: form.elements.name.value.trim(), role: form.elements.role.value,
      expires_in: form.elements.expires_in.value.trim() || null });
    after();
    setTimeout(() => showToken(issued));
  });
}

function issue(user, after) {
  ask(`Issue a token for ${user.name}`, [field("Lifetime (e.g. 1h, 30d)", { name: "expires_in", value: "90d", maxLength: 20 })],
    "Issue", async (form) => {
      const issued = await send(`api/users/${encodeURIComponent(user.name)}/tokens`, { expires_in: form.elements.expires_in.value.trim() || null });
      after();
      setTimeout(() => showToken(issued));
    });
}

function changeExpiry(token, after) {
  ask(`Change when token ${token.token_id} expires`,
    [field("Expires in, from now (e.g. 12h, 30d)", { name: "expires_in", value: "30d", maxLength: 20, required: true })],
    "Change", async (form) => {
      const changed = await send(`api/tokens/${encodeURIComponent(token.token_id)}`,
        { expires_in: form.elements.expires_in.value.trim() }, "PATCH");
      toast(`Token ${token.token_id} now expires ${new Date(changed.expires_at).toISOString().slice(0, 16).replace("T", " ")} UTC`);
      after();
    });
}

function userPanel(user, after) {
  const role = el("select", { "aria-label": `Role of ${user.name}`, "data-user": user.name },
    ROLES.map((r) => el("option", { value: r, text: r, selected: r === user.role })));
  role.addEventListener("change", async () => {
    try {
      await send(`api/users/${encodeURIComponent(user.name)}`, { role: role.value }, "PATCH");
      toast(`${user.name} is now ${role.value}`);
    } catch (error) {
      toast(error.message, true);
    }
    after();
  });
  const now = Date.now();
  const tokens = user.tokens.map((t) => {
    const live = !t.revoked_at && new Date(t.expires_at).getTime() > now;
    const revoke = button("Revoke", async () => {
      try {
        await send(`api/tokens/${encodeURIComponent(t.token_id)}/revoke`, {});
        toast(`Token ${t.token_id} revoked`);
      } catch (error) {
        toast(error.message, true);
      }
      after();
    }, { "aria-label": `Revoke token ${t.token_id}` });
    const expiry = button("Change expiry", () => changeExpiry(t, after),
      { "aria-label": `Change expiry of token ${t.token_id}`, "data-expiry": t.token_id });
    const actions = t.revoked_at ? el("span", { class: "muted", text: "revoked" })
      : el("span", { class: "actions" }, live ? revoke : el("span", { class: "muted", text: "expired " }), expiry);
    return [t.token_id, when(t.created_at), when(t.expires_at), t.revoked_at ? when(t.revoked_at) : "–", actions];
  });
  return panel(user.name, el("div", { class: "toolbar" }, role, button("Issue token", () => issue(user, after))),
    table(["Token", "Issued", "Expires", "Revoked", ""], tokens));
}

export async function render(root) {
  const holder = el("div");
  const draw = async () => {
    const users = await api("api/users");
    holder.replaceChildren(...users.map((u) => userPanel(u, draw)));
  };
  root.append(el("h1", { text: "Users" }), el("div", { class: "toolbar" }, button("Add user", () => addUser(draw), { class: "primary" })), holder);
  await draw();
}
