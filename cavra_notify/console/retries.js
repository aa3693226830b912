"use strict";
// Failed notifications (docs/retries.md): retries awaiting a decision (approve / deny with the API token),
// open connector recovery playbook entries and closures. Every value is rendered as text, never markup.
(() => {
  const RETRIES = "/runtime/go-pilot/rollback-drill-retries";
  const $ = (id) => document.getElementById(id);

  const el = window.CavraDom.el;  // dom.js: every value becomes text, never markup

  const when = (iso) => (iso ? String(iso).slice(0, 16).replace("T", " ") + " UTC" : "—");

  function table(testid, headings, rows, empty) {
    if (!rows.length) return el("p", { class: "empty", "data-testid": testid + "-empty", text: empty });
    return el("table", { "data-testid": testid },
      el("thead", {}, el("tr", {}, headings.map((h) => el("th", { text: h })))), el("tbody", {}, rows));
  }

  function panel(title, body) {
    return el("section", { class: "panel" }, el("h3", { text: title }), body);
  }

  function say(text, kind) {
    const box = $("message");
    if (!box) return;
    box.textContent = text;
    box.className = kind || "";
  }

  const errorOf = window.CavraDom.errorOf;

  async function decide(planId, entry, decision, button) {
    const token = ($("ack-token") || { value: "" }).value.trim();
    if (!token) return say("Enter the API token to decide on a retry.", "bad");
    button.disabled = true;
    try {
      const response = await fetch(`${RETRIES}/decisions`, {
        method: "POST", cache: "no-store", credentials: "omit",
        headers: { Authorization: "Bearer " + token, "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify({ retry_plan_id: planId, entry_id: entry.entry_id, decision }),
      });
      if (!response.ok) return say(`Decision refused (${response.status}): ${await errorOf(response)}`, "bad");
      const approval = await response.json();
      say(`Retry ${decision} for ${entry.route_key} via ${entry.connector} (${approval.approval_id}).`, "good");
      await load();
    } catch (err) {
      say("Decision failed: " + err.message, "bad");
    } finally {
      button.disabled = false;
    }
  }

  function awaiting(view) {
    const rows = view.awaiting_decision.map((e) => el("tr", { "data-testid": "retry-entry", "data-entry": e.entry_id },
      el("td", { text: e.route_key }), el("td", { text: e.connector }), el("td", { text: e.failure_class || "—" }),
      el("td", { text: when(e.failed_at) }), el("td", { text: e.decision || "none" }),
      el("td", {},
        el("button", { type: "button", "data-testid": "retry-approve",
          onclick: (ev) => decide(view.retry_plan_id, e, "approved", ev.currentTarget), text: "Approve" }),
        el("button", { type: "button", "data-testid": "retry-deny",
          onclick: (ev) => decide(view.retry_plan_id, e, "denied", ev.currentTarget), text: "Deny" }))));
    return table("retries", ["ROUTE", "CONNECTOR", "CLASS", "FAILED", "DECISION", ""], rows,
      "No failed delivery is waiting for a retry decision.");
  }

  function playbook(view) {
    const rows = view.open_playbook_entries.map((e) => el("tr", { "data-testid": "playbook-entry" },
      el("td", { text: e.connector }), el("td", { text: `${e.plugin} (${e.category})` }),
      el("td", { text: e.status }), el("td", { text: String(e.failure_count) }),
      el("td", { text: when(e.last_failure_at) }),
      el("td", {}, el("ul", {}, e.steps.map((s) => el("li", { text: `${s.failure_class}: ${s.step}` }))))));
    return table("playbook", ["CONNECTOR", "PLUGIN", "STATUS", "FAILURES", "LAST", "STEPS"], rows,
      "No connector has an open recovery entry.");
  }

  function closures(view) {
    const rows = view.closures.map((c) => el("tr", { "data-testid": "closure" },
      el("td", { text: c.connector }), el("td", { text: c.state }), el("td", { text: c.closed_by }),
      el("td", { text: when(c.closed_at) }), el("td", { text: (c.verification_refs || []).join(", ") || "—" })));
    return table("closures", ["CONNECTOR", "STATE", "BY", "AT", "VERIFIED BY"], rows, "No recovery closure yet.");
  }

  async function load() {
    const box = $("retries");
    if (!box) return;
    try {
      const response = await fetch(RETRIES, { headers: { Accept: "application/json" }, cache: "no-store" });
      if (!response.ok) throw new Error(await errorOf(response));
      const view = await response.json();
      box.replaceChildren(el("h2", { text: "Failed notifications" }),
        panel("Awaiting a retry decision", awaiting(view)), panel("Connector recovery playbook", playbook(view)),
        panel("Recovery closures", closures(view)));
    } catch (err) {
      box.replaceChildren(el("p", { class: "empty error", "data-testid": "retries-error", text: err.message }));
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    const refresh = $("refresh");
    if (refresh) refresh.addEventListener("click", load);
    load();
    setInterval(load, 60000);
  });
})();
