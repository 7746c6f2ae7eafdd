// The admin page's script: times in the browser's zone, copy buttons, action buttons that call the API
// with the page's CSRF token, and live lists fed by the event stream. No framework, no build step.
"use strict";

const main = document.getElementById("main");
const csrf = main ? main.dataset.csrf : undefined;

function localTimes(root) {
  for (const t of root.querySelectorAll("time[datetime]")) {
    const d = new Date(t.getAttribute("datetime"));
    if (!Number.isNaN(d.getTime())) {
      t.textContent = d.toLocaleString();
      t.title = t.getAttribute("datetime");
    }
  }
}

function copyButtons() {
  for (const button of document.querySelectorAll("button[data-copy]")) wireCopy(button);
}

function wireCopy(button) {
  button.addEventListener("click", async () => {
    const input = document.getElementById(button.dataset.copy);
    let copied = false;
    try {
      await navigator.clipboard.writeText(input.value);
      copied = true;
    } catch {
      // Plain http on a LAN address has no clipboard API: select, and let the old command copy.
      input.select();
      copied = document.execCommand("copy");
    }
    button.textContent = copied ? "Copied" : "Press Ctrl+C";
    setTimeout(() => { button.textContent = "Copy"; }, 2000);
  });
}

// Calls the API as the logged-in page: JSON in and out, the log-in's CSRF token in a header.
async function callApi(method, path, body) {
  const response = await fetch(path, {
    method,
    headers: { "X-CSRF-Token": csrf, "Content-Type": "application/json" },
    body: method === "GET" ? undefined : body,
  });
  const answer = response.status === 204 ? {} : await response.json().catch(() => ({}));
  return { response, answer };
}

function failure(response, answer) {
  const e = answer.error || {};
  const fields = (e.details || []).map((d) => d.field + ": " + d.message).join("; ");
  return "Failed: " + (fields || e.message || response.status);
}

// A secret shown once (a webhook's signing secret, a new API key), with a copy button.
function showOnce(out, label, value) {
  const id = "once-" + Math.random().toString(36).slice(2);
  const lab = document.createElement("label");
  lab.htmlFor = id;
  lab.textContent = label;
  const box = document.createElement("div");
  box.className = "copy";
  const input = document.createElement("input");
  input.id = id;
  input.readOnly = true;
  input.value = value;
  const button = document.createElement("button");
  button.type = "button";
  button.dataset.copy = id;
  button.textContent = "Copy";
  box.append(input, button);
  out.replaceChildren(lab, box);
  wireCopy(button);
}

function report(out, answer) {
  if (answer.token && answer.connect_url) {
    out.textContent = "New token: paste the new Connect URL into the app.";
    return;
  }
  if (answer.key) return showOnce(out, "The new key, shown this once — keep it:", answer.key);
  if (answer.secret && answer.id) return showOnce(out, answer.id + ": its signing secret, shown this once — keep it:", answer.secret);
  out.textContent = describe(answer);
}

// A button with data-post="/api/…" (and data-method, data-body, data-confirm) calls the API and says what
// came back in its data-result element.
function actionButtons() {
  for (const button of document.querySelectorAll("button[data-post]")) {
    button.addEventListener("click", async () => {
      if (button.dataset.confirm && !window.confirm(button.dataset.confirm)) return;
      const out = document.getElementById(button.dataset.result);
      button.disabled = true;
      try {
        const method = button.dataset.method || "POST";
        const { response, answer } = await callApi(method, button.dataset.post, button.dataset.body || "{}");
        if (!response.ok) {
          out.textContent = failure(response, answer);
          return;
        }
        report(out, answer);
        if (button.dataset.reload) setTimeout(() => location.reload(), 800);
        if (button.dataset.progress !== undefined && answer.retried > 0) {
          await progress(out, answer.retried, button.dataset.progress);
        }
      } finally {
        button.disabled = false;
      }
    });
  }
}

// A form with data-api="/api/…" sends its fields as JSON: data-kind="list" splits on commas,
// data-kind="number" is a number; empty fields are left out.
function apiForms() {
  for (const form of document.querySelectorAll("form[data-api]")) {
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const body = {};
      for (const field of form.querySelectorAll("[name]")) {
        if (field.type === "checkbox") {
          // Checkboxes of one name make a list of the values checked.
          body[field.name] = body[field.name] || [];
          if (field.checked) body[field.name].push(field.value);
          continue;
        }
        const value = field.value.trim();
        if (!value) continue;
        if (field.dataset.kind === "list") body[field.name] = value.split(",").map((v) => v.trim()).filter(Boolean);
        else if (field.dataset.kind === "number") body[field.name] = Number(value);
        else body[field.name] = value;
      }
      const out = document.getElementById(form.dataset.result);
      for (const [name, value] of Object.entries(body)) {
        if (Array.isArray(value) && value.length === 0 && form.querySelector('input[type="checkbox"][name="' + name + '"]')) {
          out.textContent = "Choose at least one.";
          return;
        }
      }
      const { response, answer } = await callApi(form.dataset.method || "POST", form.dataset.api, JSON.stringify(body));
      if (!response.ok) {
        out.textContent = failure(response, answer);
        return;
      }
      report(out, answer);
      if (answer.key || (answer.secret && answer.id)) {
        // Shown once: no reload until it is copied.
        const again = document.createElement("a");
        again.href = location.pathname;
        again.textContent = "Done — show it in the list";
        out.append(again);
      } else if (form.dataset.reload) {
        setTimeout(() => location.reload(), 800);
      }
    });
  }
}

// After a bulk retry: how many of those queued are still waiting to go, until none is.
async function progress(out, queued, destination) {
  const params = new URLSearchParams({ status: "pending", limit: "500" });
  if (destination) params.set("destination", destination);
  for (;;) {
    const response = await fetch("/api/deliveries?" + params);
    if (!response.ok) return;
    const waiting = Math.min((await response.json()).items.length, queued);
    out.textContent = waiting > 0
      ? queued + " deliveries queued again: " + (queued - waiting) + " of " + queued + " done."
      : queued + " deliveries queued again: all " + queued + " done. Reload to see how they went.";
    if (waiting === 0) return;
    await new Promise((done) => setTimeout(done, 1000));
  }
}

function describe(answer) {
  if (answer.name && answer.role) return "Created " + answer.role + " " + answer.name + ".";
  if (answer.url && answer.id && answer.id.startsWith("mock_")) return "Created " + answer.id + ".";
  if (Array.isArray(answer.deliveries)) {
    const n = answer.deliveries.length;
    return n === 1 ? "1 new delivery queued." : n + " new deliveries queued.";
  }
  if (typeof answer.latency_ms === "number") {
    const said = answer.status ? "answered " + answer.status : "failed: " + (answer.error || "no answer");
    return "Test sent: " + said + " in " + answer.latency_ms + " ms." + (answer.body ? " " + answer.body.slice(0, 200) : "");
  }
  if (typeof answer.cancelled === "number") {
    return "Deleted; " + answer.cancelled + " pending " + (answer.cancelled === 1 ? "delivery" : "deliveries") + " cancelled.";
  }
  if (typeof answer.retried === "number") {
    return answer.retried === 1 ? "1 delivery queued again." : answer.retried + " deliveries queued again.";
  }
  return "Done.";
}

// Every event of the stream, whatever its name (SSE dispatches by name only).
function follow(params, onEvent) {
  const url = "/api/events/stream" + (params.toString() ? "?" + params : "");
  const stream = new EventSource(url);
  for (const kind of (main.dataset.kinds || "").split(" ").filter(Boolean)) {
    stream.addEventListener(kind, (message) => onEvent(JSON.parse(message.data)));
  }
  return stream;
}

function cell(row, text, className) {
  const td = document.createElement("td");
  if (className) td.className = className;
  if (text instanceof Node) td.append(text); else td.textContent = text;
  row.append(td);
  return td;
}

function liveEvents() {
  const body = document.querySelector("[data-live-events]");
  if (!body) return;
  const params = new URLSearchParams();
  if (body.dataset.since) params.set("last_event_id", body.dataset.since);
  if (body.dataset.filterEvent) params.set("events", body.dataset.filterEvent);
  if (body.dataset.filterSource) params.set("sources", body.dataset.filterSource);
  const text = (body.dataset.filterQ || "").toLowerCase();
  const status = document.querySelector("[data-live-status]");
  const stream = follow(params, (event) => {
    if (text && !event.summary.toLowerCase().includes(text)) return;
    const row = document.createElement("tr");
    row.className = "fresh";
    const time = document.createElement("time");
    time.setAttribute("datetime", event.timestamp);
    cell(row, time);
    const code = document.createElement("code");
    code.textContent = event.event;
    cell(row, code);
    cell(row, event.source.name);
    const link = document.createElement("a");
    link.href = "/admin/events/" + encodeURIComponent(event.id);
    link.textContent = event.summary;
    cell(row, link, "wrap");
    localTimes(row);
    body.prepend(row);
    const empty = document.querySelector("[data-empty]");
    if (empty) empty.remove();
  });
  stream.addEventListener("open", () => { if (status) status.textContent = "Live: new events appear here as they arrive."; });
  stream.addEventListener("error", () => { if (status) status.textContent = "Reconnecting to the live stream…"; });
}

function liveSources() {
  const cards = document.querySelector("[data-live-sources]");
  if (!cards) return;
  const params = new URLSearchParams();
  if (cards.dataset.since) params.set("last_event_id", cards.dataset.since);
  follow(params, (event) => {
    const card = cards.querySelector('[data-source="' + CSS.escape(event.source.name) + '"]');
    if (!card) return;
    const last = card.querySelector(".last");
    const badge = document.createElement("span");
    badge.className = "badge ok";
    badge.textContent = "received";
    const time = document.createElement("time");
    time.setAttribute("datetime", event.timestamp);
    last.replaceChildren(badge, " Last event: " + event.summary + ", ", time);
    localTimes(last);
    const refused = card.querySelector(".refused");
    if (refused) refused.remove();
    card.classList.add("arrived");
  });
}

// The dashboard: the hour's count goes up, and each source's row shows its newest event, as they arrive.
function liveDashboard() {
  const count = document.querySelector("[data-live-count]");
  if (!count) return;
  const params = new URLSearchParams();
  if (count.dataset.since) params.set("last_event_id", count.dataset.since);
  follow(params, (event) => {
    count.textContent = String(Number(count.textContent) + 1);
    const row = document.querySelector('[data-source-row="' + CSS.escape(event.source.name) + '"]');
    if (!row) return;
    const time = document.createElement("time");
    time.setAttribute("datetime", event.timestamp);
    const name = row.cells[0].textContent;
    row.replaceChildren();
    cell(row, name);
    cell(row, event.summary, "wrap");
    cell(row, time);
    localTimes(row);
  });
}

localTimes(document);
copyButtons();
actionButtons();
apiForms();
liveEvents();
liveSources();
liveDashboard();
