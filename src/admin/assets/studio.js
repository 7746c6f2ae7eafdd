// The template studio: renders the template being edited through POST /api/templates/preview and draws
// the result as the target shows it — a Discord message with its embeds, Slack blocks, a phone's
// notification for Telegram, ntfy, Gotify, Pushover and Matrix, a mail for e-mail, or the JSON.
// Images are never loaded (they live on other hosts): a box names them instead.
"use strict";

const studio = document.querySelector("[data-studio]");
const csrfToken = document.getElementById("main").dataset.csrf;

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

// Where the target would show an image (never loaded here: it lives on another host).
function imageBox(what, url, className) {
  const box = el("div", "img-box" + (className ? " " + className : ""), what);
  box.setAttribute("role", "img");
  box.setAttribute("aria-label", what + (url ? ": " + url : ""));
  if (url) box.title = url;
  return box;
}

function discord(payload) {
  const message = el("div", "discord");
  const head = el("div", "discord-head");
  head.append(el("span", "discord-avatar", "h"), el("strong", null, payload.username || "hookarr"), el("span", "discord-tag", "APP"));
  message.append(head);
  if (payload.content) message.append(el("div", "discord-content", payload.content));
  for (const embed of payload.embeds || []) {
    const card = el("div", "discord-embed");
    if (typeof embed.color === "number") card.style.borderLeftColor = "#" + embed.color.toString(16).padStart(6, "0");
    const body = el("div", "discord-embed-body");
    if (embed.author && embed.author.name) body.append(el("div", "discord-author", embed.author.name));
    if (embed.title) {
      const title = el("div", "discord-title");
      if (embed.url) { const a = el("a", null, embed.title); a.href = embed.url; a.rel = "noreferrer"; title.append(a); }
      else title.textContent = embed.title;
      body.append(title);
    }
    if (embed.description) body.append(el("div", "discord-description", embed.description));
    if (Array.isArray(embed.fields) && embed.fields.length) {
      const fields = el("div", "discord-fields");
      for (const f of embed.fields) {
        const field = el("div", f.inline ? "discord-field inline" : "discord-field");
        field.append(el("div", "discord-field-name", f.name), el("div", "discord-field-value", f.value));
        fields.append(field);
      }
      body.append(fields);
    }
    if (embed.image && embed.image.url) body.append(imageBox("image", embed.image.url));
    const footer = [embed.footer && embed.footer.text, embed.timestamp && new Date(embed.timestamp).toLocaleString()].filter(Boolean);
    if (footer.length) body.append(el("div", "discord-footer", footer.join(" • ")));
    card.append(body);
    if (embed.thumbnail && embed.thumbnail.url) card.append(imageBox("poster", embed.thumbnail.url, "thumb"));
    message.append(card);
  }
  return message;
}

// The text an HTML message shows (tags dropped, the entities templates write read back).
function shownText(html) {
  return String(html || "").replace(/<br\s*\/?>|<\/(p|li|div|tr|h\d)>/gi, "\n").replace(/<[^>]*>/g, "")
    .replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&quot;/g, "\"").replace(/&amp;/g, "&");
}

const SERVICES = { telegram: "Telegram", ntfy: "ntfy", gotify: "Gotify", pushover: "Pushover", matrix: "Matrix", email: "E-mail" };

// A notification as a phone (or a mail client) shows it: where it comes from, the title, the text, the poster.
function notification(kind, payload) {
  const card = el("div", "notice");
  card.append(el("div", "notice-app", SERVICES[kind]));
  const extras = payload.extras && payload.extras["client::notification"];
  const poster = payload.photo || payload.attach || (extras && extras.bigImageUrl) ||
    (kind === "email" && (/<img[^>]+src="([^"]+)"/.exec(payload.html || "") || [])[1]);
  const title = payload.title || payload.subject;
  if (title) card.append(el("div", "notice-title", title));
  const html = kind === "telegram" || kind === "pushover" || kind === "matrix" || kind === "email";
  const text = kind === "email" ? payload.text : kind === "matrix" ? payload.body : payload.text || payload.message;
  card.append(el("div", "notice-text", html && kind !== "matrix" && kind !== "email" ? shownText(text) : text));
  if (poster) card.append(imageBox("poster", poster, "notice-poster"));
  return card;
}

function slackText(t) {
  return t && typeof t === "object" ? t.text : t;
}

function slack(payload) {
  const message = el("div", "slack");
  const head = el("div", "slack-head");
  head.append(el("strong", null, "hookarr"), el("span", "slack-tag", "APP"));
  message.append(head);
  const blocks = payload.blocks || [];
  if (!blocks.length && payload.text) message.append(el("div", "slack-section", payload.text));
  for (const block of blocks) {
    switch (block.type) {
      case "header": message.append(el("div", "slack-header", slackText(block.text))); break;
      case "divider": message.append(el("hr", "slack-divider")); break;
      case "context": {
        const ctx = el("div", "slack-context");
        for (const item of block.elements || []) ctx.append(item.type === "image" ? imageBox("icon", item.image_url) : el("span", null, slackText(item)));
        message.append(ctx);
        break;
      }
      case "image": message.append(imageBox(block.alt_text || "image", block.image_url)); break;
      case "section": {
        const section = el("div", "slack-section");
        const main = el("div", "slack-section-main");
        if (block.text) main.append(el("div", "slack-text", slackText(block.text)));
        if (block.fields) {
          const fields = el("div", "slack-fields");
          for (const f of block.fields) fields.append(el("div", "slack-field", slackText(f)));
          main.append(fields);
        }
        section.append(main);
        if (block.accessory && block.accessory.type === "image") section.append(imageBox(block.accessory.alt_text || "image", block.accessory.image_url));
        message.append(section);
        break;
      }
      default: message.append(el("div", "muted", "(a " + block.type + " block)"));
    }
  }
  return message;
}

/** "line 3" or "…:3:" in a problem, with that line of the template. */
function withLine(problem, template) {
  const m = /line (\d+)/i.exec(problem) || /:(\d+):/.exec(problem);
  if (!m) return problem;
  const n = Number(m[1]);
  const text = template.split("\n")[n - 1];
  return text === undefined ? problem : problem + " — line " + n + ": " + text.trim();
}

async function preview() {
  const field = (name) => studio.querySelector('[data-field="' + name + '"]');
  const template = field("template").value;
  const select = document.getElementById("s-event");
  const eventChoice = select.value;
  const option = select.selectedOptions[0];
  const request = { destination: document.getElementById("s-destination").value, template };
  if (eventChoice === "payload") {
    let payload;
    try { payload = JSON.parse(field("payload").value || "{}"); } catch (e) {
      return show({ problems: ["The app's payload is not JSON: " + e.message], warnings: [] }, template);
    }
    request.fixture = { source: field("source").value, payload };
  } else if (option && option.dataset.payload) {
    // A sample: the app's payload, parsed by its source.
    request.fixture = { source: option.dataset.source, payload: JSON.parse(option.dataset.payload) };
  } else if (eventChoice !== "test") {
    request.event_id = eventChoice;
  }
  const response = await fetch("/api/templates/preview", {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-CSRF-Token": csrfToken },
    body: JSON.stringify(request),
  });
  const answer = await response.json();
  if (!response.ok) return show({ problems: [answer.error ? answer.error.message : String(response.status)], warnings: [] }, template);
  show(answer, template);
}

function show(answer, template) {
  const status = studio.querySelector("[data-preview-status]");
  const problems = studio.querySelector("[data-problems]");
  const warnings = studio.querySelector("[data-warnings]");
  const target = studio.querySelector("[data-preview]");
  const json = studio.querySelector("[data-preview-json]");
  problems.replaceChildren(...(answer.problems || []).map((p) => el("li", "problem", withLine(p, template))));
  warnings.replaceChildren(...(answer.warnings || []).map((w) => el("li", "warning", "Over the limit: " + w)));
  const payload = answer.payload;
  if (!payload) {
    status.textContent = "The template does not render: see the problem above.";
    target.replaceChildren();
    json.textContent = "";
    return;
  }
  status.textContent = "Rendered for " + answer.event + (answer.warnings && answer.warnings.length ? ", cut to the target's limits." : ".");
  const kind = studio.dataset.kind;
  target.replaceChildren(kind === "discord" ? discord(payload) : kind === "slack" ? slack(payload)
    : SERVICES[kind] ? notification(kind, payload) : el("pre", null, JSON.stringify(payload, null, 2)));
  json.textContent = JSON.stringify(payload, null, 2);
}

if (studio) {
  let timer;
  const later = () => { clearTimeout(timer); timer = setTimeout(preview, 300); };
  for (const input of studio.querySelectorAll("[data-field]")) input.addEventListener("input", later);
  for (const button of document.querySelectorAll("button[data-copy-text]")) {
    button.addEventListener("click", async () => {
      const text = document.getElementById(button.dataset.copyText).value;
      try { await navigator.clipboard.writeText(text); button.textContent = "Copied"; }
      catch { button.textContent = "Select the text and copy it"; }
      setTimeout(() => { button.textContent = "Copy the template"; }, 2000);
    });
  }
  document.getElementById("s-event").addEventListener("change", (e) => e.target.form.submit());
  document.getElementById("s-destination").addEventListener("change", (e) => e.target.form.submit());
  preview();
}

// Saving: the template is checked against every app's sample (problems come back with their line), stored with
// its history and in force at once; an older text is restored by saving it again.
async function templateCall(method, name, body) {
  const response = await fetch("/api/templates/" + name.split("/").map(encodeURIComponent).join("/"), {
    method,
    headers: { "X-CSRF-Token": csrfToken, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const answer = await response.json().catch(() => ({}));
  return { response, answer };
}

async function saveTemplate(name, text) {
  const status = studio.querySelector("[data-save-status]");
  const problems = studio.querySelector("[data-save-problems]");
  problems.replaceChildren();
  status.textContent = "Checking it against every app's sample…";
  const { response, answer } = await templateCall("PUT", name, { template: text });
  if (!response.ok) {
    const e = answer.error || {};
    status.textContent = "Not saved.";
    const details = e.details && e.details.length ? e.details : [{ message: e.message || String(response.status) }];
    problems.replaceChildren(...details.map((d) => el("li", "problem", (d.line ? "line " + d.line + ": " : "") + d.message)));
    return false;
  }
  status.textContent = "Saved: in force now.";
  return true;
}

function wireSaving() {
  if (!studio) return;
  const save = studio.querySelector("[data-save-template]");
  if (save) {
    save.addEventListener("click", async () => {
      save.disabled = true;
      try {
        if (await saveTemplate(save.dataset.saveTemplate, studio.querySelector("[data-field=template]").value)) {
          setTimeout(() => location.reload(), 600);
        }
      } finally {
        save.disabled = false;
      }
    });
  }
  const remove = studio.querySelector("[data-remove-template]");
  if (remove) {
    remove.addEventListener("click", async () => {
      if (!window.confirm(remove.dataset.confirm)) return;
      const { response } = await templateCall("DELETE", remove.dataset.removeTemplate);
      if (response.ok) location.reload();
    });
  }
  const history = studio.querySelector("[data-history]");
  if (history) {
    history.addEventListener("toggle", async () => {
      if (!history.open) return;
      const list = history.querySelector("[data-history-list]");
      const { response, answer } = await templateCall("GET", history.dataset.history + "/history");
      if (!response.ok) return;
      if (!answer.items.length) {
        list.replaceChildren(el("li", "muted", "Never saved here."));
        return;
      }
      list.replaceChildren(...answer.items.map((v) => {
        const item = el("li");
        const when = new Date(v.at).toLocaleString();
        item.append(el("span", null, when + " — " + v.by + (v.template === null ? ": back to the file's or built-in one" : ": saved")));
        if (v.template !== null) {
          const restore = el("button", null, "Restore this one");
          restore.type = "button";
          restore.addEventListener("click", async () => {
            if (await saveTemplate(history.dataset.history, v.template)) location.reload();
          });
          item.append(" ", restore);
        }
        return item;
      }));
    });
  }
}

wireSaving();
