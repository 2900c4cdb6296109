/* valueloop console: signs in with an API token and shows the site's latest run. */
(function () {
  "use strict";

  const C = window.ValueloopCharts;
  const TOKEN_KEY = "valueloop.token";
  const DECIDERS = ["approver", "admin"];
  const PLAN_ROWS = 30;
  const state = { token: null, me: null, currency: null, charts: [], pending: null };
  const $ = (id) => document.getElementById(id);

  class HttpError extends Error {
    constructor(status, detail) {
      super(detail);
      this.status = status;
    }
  }

  /* The token comes once as ?token=..., is kept for the tab's session and leaves the URL. */
  function takeToken() {
    const url = new URL(window.location.href);
    const given = url.searchParams.get("token");
    if (given) {
      sessionStorage.setItem(TOKEN_KEY, given);
      url.searchParams.delete("token");
      window.history.replaceState(null, "", url.pathname + url.search + url.hash);
    }
    return sessionStorage.getItem(TOKEN_KEY);
  }

  async function api(path, init) {
    const headers = { Accept: "application/json", Authorization: "Bearer " + state.token };
    if (init && init.body) headers["Content-Type"] = "application/json";
    const response = await fetch(path, Object.assign({}, init, { headers }));
    const body = await response.json().catch(() => null);
    if (!response.ok) {
      const detail = body && typeof body.detail === "string" ? body.detail : response.statusText;
      throw new HttpError(response.status, detail);
    }
    return body;
  }

  async function optional(path) {
    try {
      return await api(path);
    } catch (error) {
      if (error.status === 404) return null;
      throw error;
    }
  }

  function toast(message, isError) {
    const element = $("toast");
    element.textContent = message;
    element.classList.toggle("error", Boolean(isError));
    element.hidden = false;
    clearTimeout(toast.timer);
    toast.timer = setTimeout(() => { element.hidden = true; }, 4000);
  }

  function showSignIn(message) {
    $("main").hidden = true;
    $("user").hidden = true;
    $("signin").hidden = false;
    $("signin-error").hidden = !message;
    $("signin-error").textContent = message || "";
    $("signin-token").focus();
  }

  function signOut(message) {
    sessionStorage.removeItem(TOKEN_KEY);
    state.token = null;
    state.me = null;
    showSignIn(message);
  }

  function element(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function plural(count, noun) {
    return `${count} ${noun}${count === 1 ? "" : "s"}`;
  }

  function percent(value, digits) {
    return value === null || value === undefined ? "–" : C.formatNumber(value * 100, digits) + " %";
  }

  // Headline numbers --------------------------------------------------------------------------

  function kpi(label, value, note, tone) {
    const card = element("div", "kpi" + (tone ? " " + tone : ""));
    card.append(element("div", "kpi-label", label), element("div", "kpi-value", value));
    if (note) card.append(element("div", "kpi-note", note));
    return card;
  }

  function renderKpis(summary, plan, deadLetters) {
    const cards = [];
    if (summary) {
      cards.push(kpi("RUL error (RMSE)", C.formatNumber(summary.rul_rmse, 1) + " cycles",
        "PHM08 score " + C.formatNumber(summary.rul_phm_score, 0)));
      cards.push(kpi("Interval coverage", percent(summary.rul_interval_coverage, 0),
        summary.rul_interval_nominal ? "nominal " + percent(summary.rul_interval_nominal, 0) : ""));
      const gap = plan ? "gap " + percent(plan.plan.gap, 2) : "";
      const tone = ["OPTIMAL", "FEASIBLE"].includes(summary.plan_status) ? "good" : "bad";
      cards.push(kpi("Plan", summary.plan_status || "–", gap, tone));
      for (const [name, saving] of Object.entries(summary.savings || {})) {
        cards.push(kpi("Saving vs " + (C.POLICY_LABELS[name] || name).toLowerCase(),
          C.formatMoney(saving.money, summary.currency, true),
          C.formatNumber(saving.percent, 1) + " % below its cost", saving.money >= 0 ? "good" : "bad"));
      }
      cards.push(kpi("Points ingested", C.formatNumber(summary.points_ingested, 0)));
    }
    cards.push(kpi("Dead letters", C.formatNumber(deadLetters.count, 0), "inputs not stored",
      deadLetters.count > 0 ? "bad" : "good"));
    $("kpis").replaceChildren(...cards);
  }

  // Charts --------------------------------------------------------------------------------------

  function keep(chart) {
    if (chart && !state.charts.includes(chart)) state.charts.push(chart);
  }

  function renderFleet(assets) {
    const withPrediction = assets.filter((a) => a.prediction);
    keep(C.render($("fleet-chart"), withPrediction.length ? C.fleetOption(assets) : null,
      { empty: "No predictions yet." }));
  }

  function renderPlan(plan) {
    const holder = $("plan-chart");
    if (!plan) {
      $("plan-caption").textContent = "";
      C.render(holder, null, { empty: "No plan yet." });
      return;
    }
    const rows = C.planRows(plan);
    const unserved = plan.assignments.length - rows;
    $("plan-caption").textContent =
      `${plan.plan.plan_id}: ${plural(rows, "overhaul")} planned from ` +
      plan.plan.starts_at.slice(0, 10) +
      (unserved ? `; ${plural(unserved, "asset")} not due within the horizon` : "");
    holder.style.height = Math.max(220, Math.min(rows, PLAN_ROWS) * 16 + 100) + "px";
    const option = rows ? C.planOption(plan, PLAN_ROWS) : null;
    const chart = C.render(holder, option, { empty: "No overhaul planned." });
    if (chart) chart.resize();
    keep(chart);
  }

  function renderPolicies(summary) {
    const has = summary && Object.keys(summary.policies || {}).length;
    keep(C.render($("policy-chart"), has ? C.policyOption(summary) : null,
      { empty: "No policy comparison yet." }));
  }

  function renderDeadLetters(deadLetters) {
    const parts = [element("div", "big-number", C.formatNumber(deadLetters.count, 0)),
      element("div", "muted", deadLetters.count === 1 ? "input dead-lettered" : "inputs dead-lettered")];
    if (deadLetters.items.length) {
      const table = element("table", "data");
      const head = element("tr");
      for (const title of ["Received", "Source", "Reason"]) head.append(element("th", "", title));
      table.append(head);
      for (const item of deadLetters.items) {
        const row = element("tr");
        row.append(element("td", "", item.received_at.slice(0, 19).replace("T", " ")),
          element("td", "", item.source), element("td", "", item.reason));
        table.append(row);
      }
      parts.push(table);
    }
    $("deadletters").replaceChildren(...parts);
  }

  function table(titles, rows) {
    const result = element("table", "data");
    const head = element("tr");
    for (const title of titles) head.append(element("th", "", title));
    result.append(head);
    for (const cells of rows) {
      const row = element("tr");
      row.append(...cells.map((text) => element("td", "", text)));
      result.append(row);
    }
    return result;
  }

  const when = (stamp) => (stamp ? stamp.slice(0, 19).replace("T", " ") : "never");

  function renderConnectors(connectors) {
    $("connectors").replaceChildren(connectors.length
      ? table(["Connector", "Kind", "Link", "Last message", "Readings/s", "Errors"],
        connectors.map((c) => [c.name, c.kind, c.connected ? "up" : "down", when(c.last_message_at),
          C.formatNumber(c.rate, 1), String(c.errors)]))
      : element("p", "muted", "This server runs no field connector."));
  }

  function renderAnomalies(events) {
    $("anomalies").replaceChildren(events.length
      ? table(["Asset", "From", "To", "Peak score"],
        events.map((e) => [e.asset, when(e.start_ts), when(e.end_ts), C.formatNumber(e.score, 2)]))
      : element("p", "muted", "No anomaly detected."));
  }

  // Work orders ---------------------------------------------------------------------------------

  function orderRow(order, canDecide) {
    const row = element("tr");
    row.dataset.order = order.order_id;
    const status = element("span", "status " + order.status, order.status);
    const statusCell = element("td");
    statusCell.append(status);
    row.append(
      element("td", "", order.order_id),
      element("td", "", order.asset),
      element("td", "", order.action),
      element("td", "", order.due_at.slice(0, 10)),
      element("td", "num", percent(order.failure_probability, 1)),
      element("td", "num", C.formatMoney(order.expected_cost, state.currency, false)),
      statusCell,
      element("td", "muted", `${order.updated_by}, ${order.updated_at.slice(0, 16).replace("T", " ")}`),
    );
    const actions = element("td", "actions");
    if (canDecide && order.status === "proposed") {
      for (const [decision, label] of [["approve", "Approve"], ["reject", "Reject"]]) {
        const button = element("button", decision, label);
        button.type = "button";
        button.dataset.order = order.order_id;
        button.dataset.decision = decision;
        button.addEventListener("click", () => askDecision(order, decision));
        actions.append(button);
      }
    }
    row.append(actions);
    return row;
  }

  async function loadWorkOrders() {
    const status = $("wo-status").value;
    const orders = await api("api/workorders" + (status ? "?status=" + status : ""));
    const canDecide = state.me && DECIDERS.includes(state.me.role);
    const body = $("wo-table").tBodies[0];
    if (!orders.length) {
      const row = element("tr");
      const cell = element("td", "empty", "No work orders" + (status ? " " + status : "") + ".");
      cell.colSpan = 9;
      row.append(cell);
      body.replaceChildren(row);
      return;
    }
    body.replaceChildren(...orders.map((order) => orderRow(order, canDecide)));
  }

  function askDecision(order, decision) {
    state.pending = { order, decision };
    const verb = decision === "approve" ? "Approve" : "Reject";
    $("decision-title").textContent = `${verb} work order ${order.order_id}`;
    $("decision-text").textContent =
      `${order.action} of ${order.asset}, due ${order.due_at.slice(0, 10)}, expected cost ` +
      C.formatMoney(order.expected_cost, state.currency, false) + ".";
    $("decision-comment").value = "";
    $("decision-confirm").textContent = verb;
    $("decision").showModal();
  }

  async function confirmDecision(event) {
    event.preventDefault();
    const pending = state.pending;
    if (!pending) return;
    $("decision-confirm").disabled = true;
    try {
      const order = await api(`api/workorders/${encodeURIComponent(pending.order.order_id)}/${pending.decision}`, {
        method: "POST",
        body: JSON.stringify({ comment: $("decision-comment").value }),
      });
      toast(`${order.order_id} ${order.status} by ${order.updated_by}`);
    } catch (error) {
      if (error.status === 401) return signOut("Your token is no longer accepted.");
      toast(error.message, true);
    } finally {
      $("decision-confirm").disabled = false;
      $("decision").close();
      state.pending = null;
    }
    await loadWorkOrders();
  }

  // Loading -------------------------------------------------------------------------------------

  function describeRun(summary, plan) {
    if (!summary) return "";
    const parts = [];
    if (summary.run_id) parts.push("run " + summary.run_id);
    if (summary.model_version) parts.push("model " + summary.model_version);
    if (plan) parts.push("plan " + plan.plan.plan_id);
    return parts.join(" · ");
  }

  async function loadAll() {
    state.me = await api("api/me");
    $("signin").hidden = true;
    $("main").hidden = false;
    $("user").hidden = false;
    $("user-name").textContent = state.me.name;
    $("user-role").textContent = state.me.role;
    const [summary, assets, plans, deadLetters, connectors, anomalies] = await Promise.all([
      optional("api/summary"), api("api/assets"), api("api/plans"), api("api/deadletters?limit=5"),
      api("api/connectors"), api("api/anomalies?limit=10"),
    ]);
    const maintenance = plans.find((p) => p.kind === "maintenance");
    const planId = (summary && summary.plan_id) || (maintenance ? maintenance.plan_id : null);
    const plan = planId ? await optional("api/plans/" + encodeURIComponent(planId)) : null;
    state.currency = summary ? summary.currency : null;
    $("notice").hidden = Boolean(summary);
    $("notice").textContent = summary ? "" : "No run has finished yet; the figures appear after the first run.";
    $("run-info").textContent = describeRun(summary, plan);
    renderKpis(summary, plan, deadLetters);
    renderFleet(assets);
    renderPlan(plan);
    renderPolicies(summary);
    renderDeadLetters(deadLetters);
    renderConnectors(connectors);
    renderAnomalies(anomalies);
    await loadWorkOrders();
  }

  async function start() {
    try {
      await loadAll();
    } catch (error) {
      if (error.status === 401) signOut("The token was not accepted.");
      else toast("Could not load the console: " + error.message, true);
    }
  }

  function wire() {
    $("signin-form").addEventListener("submit", (event) => {
      event.preventDefault();
      state.token = $("signin-token").value.trim();
      sessionStorage.setItem(TOKEN_KEY, state.token);
      $("signin-token").value = "";
      start();
    });
    $("sign-out").addEventListener("click", () => signOut());
    $("wo-status").addEventListener("change", () => loadWorkOrders().catch((e) => toast(e.message, true)));
    $("decision-form").addEventListener("submit", confirmDecision);
    $("decision-cancel").addEventListener("click", () => { state.pending = null; $("decision").close(); });
    window.addEventListener("resize", () => {
      state.charts = state.charts.filter((chart) => !chart.isDisposed());
      state.charts.forEach((chart) => chart.resize());
    });
  }

  wire();
  state.token = takeToken();
  if (state.token) start();
  else showSignIn();
})();
