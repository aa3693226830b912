"use strict";
// Every value from the API is rendered as text (textContent / text nodes), never as markup.
(() => {
  const OVERVIEW = "/runtime/go-pilot/rollback-drill-overview";
  const ACTOR = "/runtime/go-pilot/actor";
  const NOTIFICATIONS = "/runtime/go-pilot/rollback-drill-notifications";
  const SVG = "http://www.w3.org/2000/svg";
  const DAY = 86400000;
  const STATUS = {
    ready: "Ready", due_soon: "Due soon", needs_attention: "Needs attention", not_requested: "Not requested",
    healthy: "Healthy", warning: "Warning", critical: "Critical",
    deliver: "deliver", suppress: "suppress", skip: "skip",
    delivered: "delivered", accepted: "accepted", failed: "failed", pending: "pending",
    acknowledged: "acknowledged", resolved: "resolved", dismissed: "dismissed", escalated: "escalated",
    pass: "pass", fail: "fail",
  };
  const $ = (id) => document.getElementById(id);

  const el = window.CavraDom.el;  // dom.js: every value becomes text, never markup

  function svg(tag, attrs, text) {
    const node = document.createElementNS(SVG, tag);
    for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, String(value));
    if (text !== undefined) node.textContent = String(text);
    return node;
  }

  const cls = (value) => (Object.hasOwn(STATUS, value) ? value : "other");
  const pill = (value, testid) =>
    el("span", { class: "pill s-" + cls(value), "data-testid": testid, text: STATUS[value] || value || "—" });

  function when(iso) {
    if (!iso) return "—";
    const d = new Date(iso);
    return isNaN(d) ? String(iso) : d.toISOString().slice(0, 16).replace("T", " ") + " UTC";
  }

  function days(value) {
    if (value === null || value === undefined) return "no due date";
    const n = Math.abs(Number(value));
    const text = n < 1 ? `${Math.round(n * 24)} hours` : `${n.toFixed(1)} days`;
    return value < 0 ? `${text} overdue` : `due in ${text}`;
  }

  function table(testid, headings, rows, empty) {
    if (!rows.length) return el("p", { class: "empty", "data-testid": testid + "-empty", text: empty });
    return el("table", { "data-testid": testid },
      el("thead", {}, el("tr", {}, headings.map((h) => el("th", { text: h })))),
      el("tbody", {}, rows));
  }

  function panel(title, subtitle, body, extra) {
    return el("section", { class: "panel " + (extra || "") },
      el("h3", { text: title }, subtitle ? el("span", { class: "muted", text: " " + subtitle }) : null), body);
  }

  function fact(label, testid, value, sub) {
    return el("div", { class: "fact" }, el("div", { class: "label", text: label }),
      el("div", { class: "value", "data-testid": testid }, value), sub ? el("div", { class: "sub", text: sub }) : null);
  }

  const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  const mmdd = (t) => new Date(t).toISOString().slice(5, 10);

  // Drawn after the card is in the page, at the container's width in pixels (text is never stretched).
  function drawTimeline(box, s, now) {
    const due = s.next_due_at ? Date.parse(s.next_due_at) : NaN;
    const drills = (s.drills || []).map((d) => ({ ...d, t: Date.parse(d.executed_at) })).filter((d) => !isNaN(d.t));
    const points = [now, ...drills.map((d) => d.t), ...(isNaN(due) ? [] : [due])];
    let lo = Math.min(...points), hi = Math.max(...points);
    const pad = Math.max((hi - lo) * 0.05, 5 * DAY);
    lo -= pad; hi += pad;
    const W = Math.max(box.clientWidth, 400), L = 12, R = W - 12, AXIS = 54, H = 100;
    const x = (t) => L + ((t - lo) / (hi - lo)) * (R - L);
    const chart = svg("svg", { viewBox: `0 0 ${W} ${H}`, width: W, height: H, class: "timeline", role: "img",
      "data-testid": "timeline" });
    chart.append(svg("title", {}, `Drills and next due date of ${s.schedule_id || "the schedule"}`));
    if (!isNaN(due) && due < now) {
      chart.append(svg("rect", { x: x(due), y: AXIS - 12, width: x(now) - x(due), height: 24, class: "overdue" }));
    }
    chart.append(svg("line", { x1: L, x2: R, y1: AXIS, y2: AXIS, class: "axis" }));
    const month = new Date(lo);
    month.setUTCDate(1); month.setUTCHours(0, 0, 0, 0);
    for (month.setUTCMonth(month.getUTCMonth() + 1); month.getTime() < hi; month.setUTCMonth(month.getUTCMonth() + 1)) {
      const mx = x(month.getTime());
      chart.append(svg("line", { x1: mx, x2: mx, y1: AXIS - 5, y2: AXIS + 5, class: "tick" }));
      if (mx < R - 70) {
        chart.append(svg("text", { x: mx + 3, y: H - 4, class: "month" },
          `${MONTHS[month.getUTCMonth()]} ${month.getUTCFullYear()}`));
      }
    }
    for (const d of drills) {
      const dot = svg("circle", { cx: x(d.t), cy: AXIS, r: 7, class: "drill " + (d.status === "pass" ? "pass" : "fail"),
        "data-testid": "timeline-drill" });
      dot.append(svg("title", {}, `${d.drill_id}: ${d.status} at ${when(d.executed_at)}`));
      chart.append(dot, svg("text", { x: x(d.t), y: AXIS + 24, "text-anchor": "middle", class: "label" }, mmdd(d.t)));
    }
    chart.append(svg("line", { x1: x(now), x2: x(now), y1: 14, y2: AXIS + 14, class: "now" }),
      svg("text", { x: x(now) + (x(now) > R - 80 ? -5 : 5), y: 14, "text-anchor": x(now) > R - 80 ? "end" : "start",
        class: "label now-label" }, "now " + mmdd(now)));
    if (!isNaN(due)) {
      const cx = x(due);
      const mark = svg("polygon", { points: `${cx},${AXIS - 10} ${cx + 10},${AXIS} ${cx},${AXIS + 10} ${cx - 10},${AXIS}`,
        class: "due s-" + cls(s.status), "data-testid": "timeline-due" });
      mark.append(svg("title", {}, `next drill due ${when(s.next_due_at)}`));
      const left = cx > L + 80;
      chart.append(mark, svg("text", { x: left ? cx - 5 : cx + 5, y: AXIS - 18, "text-anchor": left ? "end" : "start",
        class: "label due-label" },
        "due " + mmdd(due)));
    }
    if (!drills.length) chart.append(svg("text", { x: L, y: 14, class: "label" }, "no drills recorded"));
    box.replaceChildren(chart);
  }

  function timeline(s, now, drawLater) {
    const box = el("div", { class: "chart-box" });
    drawLater.push(() => drawTimeline(box, s, now));
    return el("div", { class: "chart" }, box,
      el("div", { class: "legend" }, el("span", { class: "key pass", text: "drill passed" }),
        el("span", { class: "key fail", text: "drill failed" }), el("span", { class: "key due", text: "next due" }),
        el("span", { class: "key now", text: "now" })));
  }

  function decisions(s) {
    const plan = s.latest_plan;
    if (!plan) return panel("Route decisions", "", el("p", { class: "empty", "data-testid": "decisions-empty",
      text: "No notification plan recorded yet." }));
    const outcome = {};
    for (const d of s.deliveries) {
      if (d.plan_id === plan.plan_id && !outcome[d.route_key]) outcome[d.route_key] = d.outcome;
    }
    const rows = plan.route_decisions.map((d) => el("tr", { "data-testid": "decision", "data-route": d.route_key },
      el("td", { text: d.owner }), el("td", { text: d.provider }), el("td", {}, pill(d.action, "decision-action")),
      el("td", { text: d.category || "—" }), el("td", { text: d.reason }),
      el("td", {}, outcome[d.route_key] ? pill(outcome[d.route_key]) : "—")));
    return panel("Route decisions", `${plan.plan_id} · ${when(plan.generated_at)}`,
      table("decisions", ["Owner", "Provider", "Decision", "Category", "Reason", "Evidence"], rows,
        "The latest plan has no routes."));
  }

  function outstanding(s) {
    const rows = s.outstanding.map((r) => el("tr", { "data-testid": "outstanding-route", "data-route": r.route_key },
      el("td", { text: r.owner }), el("td", { text: r.provider }), el("td", { text: when(r.delivered_at) }),
      el("td", { text: when(r.acknowledge_by) }),
      el("td", {}, r.breached ? el("span", { class: "pill s-critical", text: "breached → " + (r.escalate_to || "") })
        : el("span", { class: "pill s-warning", text: "waiting" })),
      el("td", { class: "action" }, el("button", { type: "button", class: "ack", "data-testid": "ack-button", "data-provider": r.provider,
        "data-owner": r.owner, title: `Acknowledge ${r.owner} via ${r.provider} for ${s.schedule_id}`,
        onclick: (event) => acknowledge(s, r, event.currentTarget), text: "Acknowledge" }))));
    return panel("Outstanding acknowledgements", `(${s.outstanding.length})`,
      el("div", {}, table("outstanding", ["Owner", "Provider", "Delivered", "Acknowledge by", "State", ""], rows,
        "Nothing waits for an acknowledgement."),
      rows.length ? el("p", { class: "hint", text: "Acknowledge clears that one route (its owner via that provider) "
        + "and stops its escalation; it is recorded as the token's actor." }) : null));
  }

  function deliveries(s) {
    const rows = s.deliveries.map((d) => el("tr", { "data-testid": "delivery" },
      el("td", { text: when(d.completed_at || d.started_at) }), el("td", { text: d.owner }),
      el("td", { text: d.connector === d.provider ? d.connector : `${d.connector} (${d.provider})` }),
      el("td", {}, pill(d.outcome)), el("td", { text: d.status_code ?? "—" }), el("td", { text: d.attempts }),
      el("td", { class: "mono", text: d.target || "—" }),
      el("td", { text: d.failure_class ? `${d.failure_class}${d.error ? ": " + d.error : ""}` : "—" }),
      el("td", { class: "mono muted", text: d.evidence_id })));
    return panel("Delivery evidence", "redacted, newest first",
      table("deliveries", ["Completed", "Owner", "Connector", "Outcome", "HTTP", "Tries", "Target", "Failure",
        "Evidence id"], rows, "No delivery evidence yet."), "wide");
  }

  function acks(s) {
    const rows = s.acknowledgements.map((a) => el("tr", { "data-testid": "ack" },
      el("td", { text: when(a.acknowledged_at) }),
      el("td", { text: a.owner ? `${a.owner} via ${a.provider}` : `${a.provider} (every owner)` }),
      el("td", { text: a.acknowledged_by }),
      el("td", {}, pill(a.state)), el("td", { text: a.external_ref || "—" })));
    return panel("Acknowledgements", "newest first",
      table("acks", ["When", "Route", "By", "State", "Reference"], rows, "No acknowledgements recorded."));
  }

  function schedule(s, now, drawLater) {
    const drill = s.latest_drill;
    const configured = new Set(s.configured_providers || []);
    const providers = s.notification_providers.length ? s.notification_providers.map((p) =>
      el("span", { class: "chip" + (s.configured_providers && !configured.has(p) ? " off" : ""),
        title: s.configured_providers ? (configured.has(p) ? "configured" : "not configured") : "",
        text: p })) : "none";
    const card = el("article", { class: "schedule s-border-" + cls(s.status), "data-testid": "schedule",
      "data-schedule-id": s.schedule_id || "" },
    el("header", { class: "card-head" },
      el("h2", { text: s.schedule_id || "Configured schedule (unreadable)" }),
      s.environment ? el("span", { class: "muted", text: s.environment }) : null,
      pill(s.status, "status"),
      el("span", { class: "source", text: s.source === "configured" ? "configured schedule"
        : "from evidence, as of " + when(s.status_as_of) })),
    el("div", { class: "facts" },
      fact("Next drill due", "next-due", when(s.next_due_at), null),
      fact("Days until due", "days-until-due", days(s.days_until_due), null),
      fact("Latest drill", "latest-drill", drill ? drill.drill_id : "none recorded",
        drill ? `${when(drill.executed_at)} · ${drill.status}` + (drill.recovery_minutes != null
          ? ` · recovered in ${drill.recovery_minutes} min` : "") : null),
      fact("Providers", "providers", providers, s.configured_providers ? `${configured.size} configured` : null),
      fact("Outstanding acks", "outstanding-count", String(s.outstanding.length), null)),
    timeline(s, now, drawLater));
    if (s.failed_checks.length) {
      card.append(el("ul", { class: "checks", "data-testid": "failed-checks" },
        s.failed_checks.map((c) => el("li", {}, el("strong", { text: c.id }), " " + c.message))));
    }
    card.append(outstanding(s), decisions(s), deliveries(s), acks(s));
    return card;
  }

  let last = null;

  function render(data) {
    last = data;
    $("generated").textContent = `as of ${when(data.generated_at)} · mode ${data.mode}`;
    $("totals").replaceChildren(pill(data.alert_level, "alert-level"),
      el("span", { class: "total", "data-testid": "total-outstanding", text: `${data.outstanding_route_count} outstanding` }),
      el("span", { class: "total", text: `${data.breached_route_count} breached` }),
      el("span", { class: "total", text: `${data.schedules.length} schedule${data.schedules.length === 1 ? "" : "s"}` }));
    const main = $("schedules");
    if (!data.schedules.length) {
      main.replaceChildren(el("div", { class: "empty-state", "data-testid": "empty-state" },
        el("h2", { text: "No schedules and no evidence yet" }),
        el("p", { text: "The server has no rollback drill schedule configured (CAVRA_GO_ROLLBACK_DRILL_SCHEDULE) "
          + "and the evidence store holds no notification plan." }),
        el("p", { text: "Deliver a plan (cavra runtime go-rollback-drill-notification-deliver, or POST …/deliver) "
          + "and its route decisions, deliveries and acknowledgements appear here." })));
    } else {
      const now = Date.parse(data.generated_at), drawLater = [];
      main.replaceChildren(...data.schedules.map((s) => schedule(s, now, drawLater)));
      drawLater.forEach((draw) => draw());
    }
    main.setAttribute("aria-busy", "false");
  }

  const errorOf = window.CavraDom.errorOf;

  async function load() {
    try {
      const response = await fetch(OVERVIEW, { headers: { Accept: "application/json" }, cache: "no-store" });
      if (!response.ok) throw new Error(await errorOf(response));
      render(await response.json());
    } catch (err) {
      $("schedules").replaceChildren(el("div", { class: "empty-state error", "data-testid": "load-error" },
        el("h2", { text: "Could not load the evidence" }), el("p", { text: err.message })));
      $("schedules").setAttribute("aria-busy", "false");
    }
  }

  function say(text, kind) {
    const box = $("message");
    box.textContent = text;
    box.className = kind || "";
  }

  let actor = null;

  async function useToken() {
    const token = $("ack-token").value.trim();
    const box = $("actor");
    actor = null;
    if (!token) {
      box.textContent = "Not signed in: reading only.";
      box.className = "actor";
      return null;
    }
    try {
      const response = await fetch(ACTOR, { cache: "no-store", credentials: "omit",
        headers: { Authorization: "Bearer " + token, Accept: "application/json" } });
      if (!response.ok) throw new Error(await errorOf(response));
      actor = await response.json();
      box.textContent = `Acting as ${actor.actor} (${actor.roles.join(", ") || "no roles"})`;
      box.className = "actor known";
    } catch (err) {
      box.textContent = "Token not accepted: " + err.message;
      box.className = "actor bad";
    }
    return actor;
  }

  async function acknowledge(s, route, button) {
    const token = $("ack-token").value.trim();
    if (!token) return say("Enter the API token to acknowledge.", "bad");
    button.disabled = true;
    try {
      const who = actor || await useToken();
      const response = await fetch(`${NOTIFICATIONS}/${encodeURIComponent(s.schedule_id)}/acknowledgements`, {
        method: "POST", cache: "no-store", credentials: "omit",
        headers: { Authorization: "Bearer " + token, "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify({ route_key: route.route_key, plan_id: route.plan_id }),
      });
      if (!response.ok) {
        say(`Acknowledgement refused (${response.status}): ${await errorOf(response)}`, "bad");
        return;
      }
      const ack = await response.json();
      say(`Acknowledged ${route.owner} via ${route.provider} for ${s.schedule_id} as ${ack.acknowledged_by}.`, "good");
      if (!who) await useToken();
      await load();
      await loadHistory();
    } catch (err) {
      say("Acknowledgement failed: " + err.message, "bad");
    } finally {
      button.disabled = false;
    }
  }

  const paging = { offset: 0, total: 0 };

  function historyRow(r) {
    const p = r.payload || {};
    const what = r.kind === "ack" ? `${(p.route_keys || []).join(", ")} by ${p.acknowledged_by}`
      : r.kind === "delivery" || r.kind === "escalation" ? `${p.route_key} → ${p.connector}`
        : r.kind === "plan" ? `${p.plan_id} (${p.deliverable_route_count ?? 0} to deliver)`
          : `${p.outstanding_route_count ?? 0} outstanding, ${p.breached_route_count ?? 0} breached`;
    return el("tr", { "data-testid": "history-row" }, el("td", { text: when(r.recorded_at) }),
      el("td", { text: r.kind }), el("td", { text: r.schedule_id || "—" }), el("td", {}, pill(r.outcome)),
      el("td", { text: what }), el("td", { class: "mono muted", text: r.id }));
  }

  async function loadHistory() {
    const params = new URLSearchParams({ limit: $("history-size").value, offset: String(paging.offset) });
    if ($("history-kind").value) params.set("kind", $("history-kind").value);
    try {
      const response = await fetch(`${NOTIFICATIONS}?${params}`, { headers: { Accept: "application/json" },
        cache: "no-store" });
      if (!response.ok) throw new Error(await errorOf(response));
      const page = await response.json();
      paging.total = page.total;
      $("history-range").textContent = page.total
        ? `${page.offset + 1}–${page.offset + page.items.length} of ${page.total}` : "no records";
      $("history-prev").disabled = page.offset === 0;
      $("history-next").disabled = page.offset + page.items.length >= page.total;
      $("history").replaceChildren(table("history", ["Recorded", "Kind", "Schedule", "Outcome", "What", "Id"],
        page.items.map(historyRow), "No evidence recorded yet."));
    } catch (err) {
      $("history").replaceChildren(el("p", { class: "empty", text: "Could not load the history: " + err.message }));
    }
  }

  function turn(step) {
    paging.offset = Math.max(0, paging.offset + step * Number($("history-size").value));
    loadHistory();
  }

  document.addEventListener("DOMContentLoaded", () => {
    $("refresh").addEventListener("click", () => { load(); loadHistory(); });
    $("forget").addEventListener("click", () => { $("ack-token").value = ""; useToken(); say("Token forgotten.", ""); });
    $("use-token").addEventListener("click", useToken);
    $("ack-token").addEventListener("change", useToken);
    $("history-prev").addEventListener("click", () => turn(-1));
    $("history-next").addEventListener("click", () => turn(1));
    for (const id of ["history-kind", "history-size"]) {
      $(id).addEventListener("change", () => { paging.offset = 0; loadHistory(); });
    }
    $("auth-form").addEventListener("submit", (event) => event.preventDefault());
    let resizing = null;
    window.addEventListener("resize", () => {
      clearTimeout(resizing);
      resizing = setTimeout(() => last && render(last), 150);
    });
    load();
    loadHistory();
    setInterval(load, 60000);
  });
})();
