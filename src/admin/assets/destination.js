// The destination form: gathers its fields as the API's keys, then checks, sends a test, previews the
// routing of the last events, or saves; each problem the API names is shown at its field.
"use strict";

(() => {
  const form = document.getElementById("destination-form");
  if (!form) return;
  const csrf = document.getElementById("main").dataset.csrf;
  const result = document.getElementById("form-result");
  const editing = form.dataset.editing;

  async function call(method, path, body) {
    const response = await fetch(path, {
      method,
      headers: { "X-CSRF-Token": csrf, "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
    const answer = await response.json().catch(() => ({}));
    return { response, answer };
  }

  // An empty field: left out of a new destination, removed (null) from a stored one.
  function empty(keys, name) {
    if (editing) keys[name] = null;
  }

  function keysOfForm() {
    const keys = {};
    if (form.dataset.type !== "url") keys.type = form.dataset.type;
    for (const input of form.querySelectorAll("input[name], textarea[name]")) {
      const name = input.name;
      const kind = input.dataset.kind;
      if (kind === "switch") {
        keys[name] = input.checked;
        continue;
      }
      const text = input.value.trim();
      if (text === "") {
        // A secret left empty keeps the stored one.
        if (input.type !== "password" && input.placeholder.indexOf("leave empty") < 0) empty(keys, name);
        continue;
      }
      if (kind === "list") keys[name] = text.split(",").map((s) => s.trim()).filter((s) => s);
      else if (kind === "number") keys[name] = Number(text);
      else if (kind === "lines") keys[name] = headerLines(text);
      else if (kind === "json") keys[name] = parseJson(text, name);
      else keys[name] = text;
    }
    const groups = [...form.querySelectorAll("input[data-events]")];
    const ticked = groups.filter((g) => g.checked);
    keys.events = ticked.length === groups.length ? ["*"] : ticked.flatMap((g) => g.dataset.events.split(" "));
    const sources = [...form.querySelectorAll("input[data-source]:checked")].map((s) => s.dataset.source);
    if (sources.length) keys.sources = sources;
    else empty(keys, "sources");
    const quiet = {};
    for (const input of form.querySelectorAll("input[data-quiet]")) {
      if (input.value.trim()) quiet[input.dataset.quiet] = input.value.trim();
    }
    if (Object.keys(quiet).length) keys.quiet_hours = quiet;
    else empty(keys, "quiet_hours");
    const rate = {};
    for (const input of form.querySelectorAll("input[data-rate]")) {
      if (input.value.trim()) rate[input.dataset.rate] = Number(input.value);
    }
    if (Object.keys(rate).length) keys.rate_limit = rate;
    else empty(keys, "rate_limit");
    return keys;
  }

  function headerLines(text) {
    const headers = {};
    for (const line of text.split("\n")) {
      const at = line.indexOf(":");
      if (at > 0) headers[line.slice(0, at).trim()] = line.slice(at + 1).trim();
    }
    return headers;
  }

  function parseJson(text, name) {
    try {
      return JSON.parse(text);
    } catch (e) {
      throw { field: name, message: "not valid JSON: " + e.message };
    }
  }

  function clearProblems() {
    for (const p of form.querySelectorAll("[data-problem]")) p.textContent = "";
    for (const i of form.querySelectorAll("[aria-invalid]")) i.removeAttribute("aria-invalid");
    result.textContent = "";
  }

  // Each problem at its field (`events[1]` at `events`, `quiet_hours.from` at `quiet_hours`); the rest below.
  function showProblems(details, message) {
    const unplaced = [];
    for (const d of details) {
      const root = String(d.field).split(/[.[]/)[0];
      const slot = form.querySelector('[data-problem="' + CSS.escape(root) + '"]');
      if (slot) {
        slot.textContent = (slot.textContent ? slot.textContent + " " : "") + d.field + ": " + d.message;
        const input = form.querySelector('[name="' + CSS.escape(root) + '"]');
        if (input) input.setAttribute("aria-invalid", "true");
      } else {
        unplaced.push(d.field + ": " + d.message);
      }
    }
    result.textContent = unplaced.length ? unplaced.join("; ") : message;
  }

  async function run(action) {
    clearProblems();
    let keys;
    try {
      keys = keysOfForm();
    } catch (problem) {
      showProblems([problem], "Fix the field marked.");
      return;
    }
    if (action === "test") return test(keys);
    if (action === "preview") return preview(keys);
    return save(keys);
  }

  async function test(keys) {
    result.textContent = "Sending a test…";
    const { response, answer } = await call("POST", "/api/destinations/test", keys);
    if (!response.ok) return failed(answer, response);
    result.textContent = answer.ok
      ? "The test arrived (" + answer.status + ", " + answer.latency_ms + " ms)."
      : "The test did not arrive: " + (answer.error || "the service answered " + answer.status + " " + answer.body);
  }

  async function preview(keys) {
    const { response, answer } = await call("POST", "/api/destinations/routing-preview", keys);
    if (!response.ok) return failed(answer, response);
    const section = document.getElementById("routing");
    const rows = document.getElementById("routing-rows");
    rows.replaceChildren();
    for (const e of answer.events) {
      const tr = document.createElement("tr");
      for (const text of [e.taken ? "yes" : "no", e.event, e.source, e.summary]) {
        const td = document.createElement("td");
        td.textContent = text;
        tr.append(td);
      }
      rows.append(tr);
    }
    document.getElementById("routing-summary").textContent =
      "It would have taken " + answer.taken + " of the last " + answer.events.length + " events.";
    section.hidden = false;
  }

  async function save(keys) {
    let sent;
    if (editing) {
      delete keys.name;
      keys.version = Number(form.dataset.version);
      sent = await call("PATCH", "/api/destinations/" + encodeURIComponent(editing), keys);
    } else {
      sent = await call("POST", "/api/destinations", keys);
    }
    const { response, answer } = sent;
    if (!response.ok) return failed(answer, response);
    result.textContent = "Saved: in force now.";
    location.assign("/admin/destinations#dest-" + encodeURIComponent(answer.name));
  }

  function failed(answer, response) {
    const e = answer.error || {};
    showProblems(e.details || [], e.message || "Failed: " + response.status);
  }

  form.addEventListener("submit", (e) => {
    e.preventDefault();
    run("save");
  });
  for (const button of form.querySelectorAll("button[data-action]")) {
    button.addEventListener("click", () => run(button.dataset.action));
  }
})();
