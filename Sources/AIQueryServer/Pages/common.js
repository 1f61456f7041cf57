// What every page shares: the API token, JSON calls, errors in words, number formats, runnable code snippets,
// SSE reading, copy buttons and tabs. Everything inserted into the page goes in as text, never as HTML.
"use strict";
const AQ = (() => {
  const REASONS = { 200: "OK", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 408: "Request Timeout",
    413: "Payload Too Large", 429: "Too Many Requests", 500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout" };

  /** el("div", {class, text, dataset, on: {click}, other attributes}, ...children) */
  function el(tag, attrs, ...children) {
    const isSvg = attrs?.svg;
    const node = isSvg ? document.createElementNS("http://www.w3.org/2000/svg", tag) : document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === undefined || value === null || value === false || key === "svg") continue;
      if (key === "text") node.textContent = value;
      else if (key === "dataset") Object.assign(node.dataset, value);
      else if (key === "on") for (const [event, f] of Object.entries(value)) node.addEventListener(event, f);
      else if (!isSvg && typeof value === "boolean") node[key] = value;
      else node.setAttribute(key, String(value));
    }
    for (const child of children.flat(Infinity)) if (child !== null && child !== undefined && child !== false) node.append(child);
    return node;
  }
  const svg = (tag, attrs) => el(tag, { ...attrs, svg: true });
  const $ = (selector, root = document) => root.querySelector(selector);
  const $$ = (selector, root = document) => [...root.querySelectorAll(selector)];
  /** Shows (or hides, with no message) an error box. */
  function say(box, message) {
    if (typeof box === "string") box = $(box);
    if (!box) return;
    box.textContent = message || "";
    box.hidden = !message;
  }
  const pageError = (message) => say("#page-error", message);

  // ---- the token: asked once per tab, on the first 401 ----
  let prompt = null, declined = false;
  const noToken = () => new Error("An API token is needed to read this server's data: reload the page and paste the token from ~/.config/aiquery/serve-token.");
  const token = () => { try { return sessionStorage.getItem("aiquery-token") || ""; } catch { return ""; } };
  function askToken(refused) {
    if (declined) return Promise.reject(noToken());
    return prompt ||= new Promise((resolve, reject) => {
      const dialog = $("#token-dialog"), input = $("#token-input"), save = $("#token-save");
      $("#token-refused").hidden = !refused;
      input.value = "";
      const done = (ok) => {
        dialog.removeEventListener("close", onClose);
        save.removeEventListener("click", onSave);
        prompt = null;
        if (dialog.open) dialog.close();
        if (ok) resolve(input.value.trim());
        else { declined = true; reject(noToken()); }
      };
      const onSave = (event) => { event.preventDefault(); if (input.value.trim()) done(true); else input.focus(); };
      const onClose = () => done(false);
      save.addEventListener("click", onSave);
      dialog.addEventListener("close", onClose);
      dialog.showModal();
      input.focus();
    });
  }

  /** fetch on this origin with the token; a 401 asks for the token and retries. */
  async function api(path, init = {}) {
    for (let attempt = 0; ; attempt++) {
      const headers = new Headers(init.headers || {});
      const stored = token();
      if (stored) headers.set("Authorization", "Bearer " + stored);
      const response = await fetch(path, { ...init, headers });
      if (response.status !== 401 || attempt >= 3) return response;
      const fresh = await askToken(Boolean(stored));
      try { sessionStorage.setItem("aiquery-token", fresh); } catch { /* kept for nothing: asked again */ }
    }
  }

  /** A JSON API route's answer; throws an Error in words. A network failure also goes to #page-error. */
  async function apiJSON(path, init) {
    const route = path.split("?")[0];
    let response;
    try {
      response = await api(path, init);
    } catch (error) {
      const message = /token/.test(error.message) ? error.message
        : `Could not reach the aiquery server (${route}): ${error.message}. Is aiquery serve still running?`;
      pageError(message);
      throw new Error(message);
    }
    const text = await response.text();
    let body = null;
    try { body = JSON.parse(text); } catch { /* said below */ }
    if (!response.ok) throw new Error(errorWords(response.status, body, response.headers, text));
    if (body === null) throw new Error(`${route} answered something that is not JSON`);
    return body;
  }

  const statusLine = (status) => `${status} ${REASONS[status] || ""}`.trim();

  /** An error answer in words: unknown endpoint, rate limited (and for how long), budget, upstream down… */
  function errorWords(status, body, headers, raw) {
    const error = body && typeof body === "object" ? (body.error && typeof body.error === "object" ? body.error : body) : {};
    const message = String(error.message || (typeof body?.error === "string" && body.error) || (raw || "").slice(0, 300) || statusLine(status));
    const code = error.error_code || "";
    const retry = headers?.get?.("Retry-After");
    const wait = retry && !/retry after/i.test(message) ? ` — retry after ${retry} s` : "";
    if (status === 404 && code === "RESOURCE_DOES_NOT_EXIST" && /does not exist/i.test(message)) return `Unknown endpoint: ${message}`;
    if (status === 429 && /budget/i.test(message)) return `Budget reached: ${message}`;
    if (status === 429) return `Rate limited: ${message}${wait}`;
    if (status === 401) return `The token was refused (401 Unauthorized): ${message}`;
    if (status === 403) return `Not allowed (403 Forbidden): ${message}`;
    if (status === 504) return `The upstream timed out (${statusLine(status)}): ${message}`;
    if (status >= 500) return `The upstream failed (${statusLine(status)}): ${message}${wait}`;
    if (status === 400 || status === 408 || status === 413) return `The request was refused (${statusLine(status)}): ${message}`;
    return `${statusLine(status)}${code ? " " + code : ""}: ${message}`;
  }

  // ---- endpoints ----
  let listing = null;
  function endpoints(fresh) {
    if (fresh || !listing) listing = apiJSON("/api/2.0/aiquery/endpoints").catch((error) => { listing = null; throw error; });
    return listing;
  }
  /** "llm/v1/chat" or "chat" → "chat"; null when unknown. */
  function taskOf(endpoint) {
    const task = String(endpoint?.task || "").toLowerCase();
    return ["chat", "completions", "embeddings", "custom"].find((kind) => task.endsWith(kind)) || null;
  }
  const invocationsPath = (name) => `/serving-endpoints/${encodeURIComponent(name)}/invocations`;
  /** `fresh`: ask the model again (x-aiquery-cache: refresh), as Regenerate does; its answer replaces the cached one. */
  const invoke = (name, body, signal, fresh = false) => api(invocationsPath(name),
    { method: "POST", signal, headers: { "Content-Type": "application/json", ...(fresh ? { "x-aiquery-cache": "refresh" } : {}) },
      body: JSON.stringify(body) });

  /** Reads an SSE answer, calling onData(JSON) per `data:` event until [DONE]. */
  async function readSSE(response, onData) {
    const reader = response.body.getReader(), decoder = new TextDecoder();
    let buffer = "", done = false;
    const flush = (block) => {
      const data = block.split(/\r?\n/).filter((line) => line.startsWith("data:")).map((line) => line.slice(5).trim()).join("\n");
      if (!data) return;
      if (data === "[DONE]") { done = true; return; }
      try { onData(JSON.parse(data)); } catch { onData({ error: { message: "unreadable event: " + data.slice(0, 200) } }); }
    };
    while (!done) {
      const { value, done: ended } = await reader.read();
      if (ended) break;
      buffer += decoder.decode(value, { stream: true });
      let cut;
      while (!done && (cut = buffer.search(/\r?\n\r?\n/)) >= 0) {
        const block = buffer.slice(0, cut);
        buffer = buffer.slice(cut).replace(/^\r?\n\r?\n/, "");
        flush(block);
      }
    }
    if (!done && buffer.trim()) flush(buffer);
    if (done) reader.cancel().catch(() => {});
  }

  // ---- formats ----
  const int = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });
  const missing = (x) => x === null || x === undefined || x === "" || Number.isNaN(Number(x));
  const fmtInt = (n) => missing(n) ? "—" : int.format(Number(n));
  function fmtCost(x) {
    if (missing(x)) return "—";
    x = Number(x);
    if (x === 0) return "$0";
    let text = x.toFixed(x >= 1 ? 2 : Math.min(10, Math.max(2, Math.ceil(-Math.log10(x)) + 1)));
    if (x < 1) text = text.replace(/(\.\d\d\d*?)0+$/, "$1");
    return "$" + text.replace(/^\d+/, (whole) => int.format(Number(whole)));
  }
  const fmtMs = (ms) => missing(ms) ? "—" : `${int.format(Math.round(ms))} ms`;
  const fmtSeconds = (ms) => missing(ms) ? "—" : `${(ms / 1000).toFixed(2)} s`;
  const fmtPercent = (part, whole) => whole ? `${(100 * part / whole).toFixed(1)}%` : "—";
  function fmtTime(unix) {
    const date = new Date(unix * 1000);
    return Number.isNaN(date.getTime()) ? "—" : date.toLocaleString(undefined, { dateStyle: "short", timeStyle: "medium" });
  }
  const costOf = (price, input, output) => price
    ? ((input || 0) * (price.input_per_million || 0) + (output || 0) * (price.output_per_million || 0)) / 1e6 : null;
  const textOf = (content) => typeof content === "string" ? content
    : Array.isArray(content) ? content.map((b) => typeof b === "string" ? b : b?.text || "").join("") : String(content ?? "");

  // ---- code snippets, each runnable as shown with $DATABRICKS_TOKEN set ----
  const shellQuote = (text) => "'" + String(text).replace(/'/g, "'\\''") + "'";
  const sqlQuote = (text) => "'" + String(text).replace(/'/g, "''") + "'";
  const py = (text) => JSON.stringify(String(text)).replace(/[\u2028\u2029]/g, (c) => "\\u" + c.charCodeAt(0).toString(16));
  /** A JSON value as a Python literal, indented. */
  function pyLiteral(value, indent = "") {
    const inner = indent + "    ";
    if (value === null || value === undefined) return "None";
    if (typeof value === "boolean") return value ? "True" : "False";
    if (typeof value === "number") return String(value);
    if (typeof value === "string") return py(value);
    const array = Array.isArray(value);
    const items = array ? value.map((v) => pyLiteral(v, inner)) : Object.entries(value).map(([k, v]) => py(k) + ": " + pyLiteral(v, inner));
    const [open, close] = array ? "[]" : "{}";
    const flat = open + items.join(", ") + close;
    return flat.length < 80 && !flat.includes("\n") ? flat : `${open}\n${items.map((item) => `${inner}${item},\n`).join("")}${indent}${close}`;
  }
  const kwargs = (entries) => entries.map(([k, v]) => `    ${k}=${pyLiteral(v, "    ")},\n`).join("");
  const OPENAI = {
    chat: "messages frequency_penalty logit_bias logprobs max_completion_tokens max_tokens n presence_penalty response_format seed stop stream stream_options temperature tool_choice tools top_logprobs top_p user",
    completions: "prompt best_of echo frequency_penalty logit_bias logprobs max_tokens n presence_penalty seed stop stream stream_options suffix temperature top_p user",
    embeddings: "input dimensions encoding_format user",
  };
  /** The body's own keys decide what it asks (messages → chat, prompt → completions, input → embeddings). */
  function kindOf(body, task) {
    for (const [key, kind] of [["messages", "chat"], ["prompt", "completions"], ["input", "embeddings"]]) if (key in body) return kind;
    return task && task !== "custom" && OPENAI[task] ? task : "custom";
  }
  function snippets(name, task, body) {
    const origin = location.origin, url = origin + invocationsPath(name), kind = kindOf(body, task);
    const target = /^[\w:/.%-]+$/.test(url) ? url : shellQuote(url);
    const curl = `curl -sS${body.stream ? " -N" : ""} -H "Authorization: Bearer $DATABRICKS_TOKEN" -H 'Content-Type: application/json' -d ${shellQuote(JSON.stringify(body))} ${target}`;
    const params = Object.entries(body).filter(([k]) => k !== "model");
    const printed = { chat: "print(response.choices[0].message.content)\n", completions: "print(response.choices[0].text)\n",
      embeddings: "for item in response.data:\n    print(item.embedding)\n" }[kind];
    const workspace = `w = WorkspaceClient(host=${py(origin)}, token=os.environ["DATABRICKS_TOKEN"])\n`;
    let python, sdk;
    if (kind === "custom") {
      sdk = `import os\nfrom databricks.sdk import WorkspaceClient\n\n${workspace}print(w.api_client.do("POST", ${py(invocationsPath(name))}, body=${pyLiteral(body)}))\n`;
      python = sdk;
    } else {
      // Python: the OpenAI client pointed at this server, as the Databricks page writes it.
      const known = OPENAI[kind].split(" ");
      const extra = params.filter(([k]) => !known.includes(k));
      python = `import os\nfrom openai import OpenAI\n\nclient = OpenAI(\n    api_key=os.environ["DATABRICKS_TOKEN"],\n    base_url=${py(origin + "/serving-endpoints")},\n)\n\n`
        + `response = client.${{ chat: "chat.completions", completions: "completions", embeddings: "embeddings" }[kind]}.create(\n    model=${py(name)},\n`
        + kwargs(params.filter(([k]) => known.includes(k))) + (extra.length ? `    extra_body=${pyLiteral(Object.fromEntries(extra), "    ")},\n` : "") + ")\n"
        + (!body.stream ? printed : `for chunk in response:\n    if chunk.choices:\n        print(chunk.choices[0].${kind === "chat" ? 'delta.content or ""' : "text"}, end="", flush=True)\nprint()\n`);
      // The Databricks SDK's serving_endpoints.query; other keys go as extra_params, passed on at the top level.
      const own = ["max_tokens", "n", "stop", "temperature"];
      const rest = params.filter(([k]) => !["messages", "prompt", "input", "stream", ...own].includes(k));
      const roles = { system: "SYSTEM", user: "USER", assistant: "ASSISTANT" };
      sdk = `import os\nfrom databricks.sdk import WorkspaceClient\n${kind === "chat" ? "from databricks.sdk.service.serving import ChatMessage, ChatMessageRole\n" : ""}\n${workspace}`
        + `response = w.serving_endpoints.query(\n    name=${py(name)},\n`
        + (kind === "chat" ? "    messages=[\n" + (Array.isArray(body.messages) ? body.messages : []).map((m) =>
          `        ChatMessage(role=ChatMessageRole.${roles[m?.role] || "USER"}, content=${py(textOf(m?.content))}),\n`).join("") + "    ],\n"
          : kwargs([[kind === "completions" ? "prompt" : "input", body[kind === "completions" ? "prompt" : "input"]]]))
        + kwargs(params.filter(([k]) => own.includes(k))) + (rest.length ? `    extra_params=${pyLiteral(Object.fromEntries(rest), "    ")},\n` : "") + ")\n" + printed;
    }
    // SQL: the sqlite3 shell with the extension; the endpoint registered as a Databricks endpoint on this server.
    const definition = { provider: "databricks", task: kind, model: name, url: origin, api_key: "$DATABRICKS_TOKEN" };
    let sql = `-- sqlite3 shell, in the folder holding libAIQuery.so, with DATABRICKS_TOKEN in the environment\n.load ./libAIQuery\nSELECT ai_endpoint_set(${sqlQuote(name)}, ${sqlQuote(JSON.stringify(definition))});\n`;
    const settings = Object.fromEntries(params.filter(([k]) => !["messages", "prompt", "input", "stream"].includes(k)));
    const options = Object.keys(settings).length ? `, 'modelParameters', ${sqlQuote(JSON.stringify(settings))}` : "";
    const call = (text, more = "") => `SELECT ai_query(${sqlQuote(name)}, ${text}${options}${more});\n`;
    const whole = { ...body };
    delete whole.stream;
    const messages = body.messages;
    const inputs = [].concat(body.input);
    if (kind === "chat" && Array.isArray(messages) && messages.length === 1 && messages[0]?.role === "user" && typeof messages[0].content === "string") {
      sql += call(sqlQuote(messages[0].content));
    } else if (kind === "completions" && typeof body.prompt === "string") sql += call(sqlQuote(body.prompt));
    else if (kind === "embeddings" && inputs.length === 1 && typeof inputs[0] === "string") {
      sql += "-- the vector as JSON numbers; without returnType it is a BLOB of float32 (what sqlite-vec reads):\n-- "
        + call(sqlQuote(inputs[0])) + call(sqlQuote(inputs[0]), ", 'returnType', 'ARRAY<FLOAT>'");
    } else if (kind === "embeddings" && inputs.every((x) => typeof x === "string")) {
      sql += call("value", ", 'returnType', 'ARRAY<FLOAT>'").replace(/;\n$/, ` FROM json_each(${sqlQuote(JSON.stringify(inputs))});\n`);
    } else {
      sql += `-- the whole request body${kind === "chat" ? " (system prompt and history included)" : ""}\nSELECT ai_query(${sqlQuote(name)}, json(${sqlQuote(JSON.stringify(whole))}));\n`;
    }
    return { curl, python, sdk, sql };
  }

  // ---- copy buttons and tabs ----
  async function copyText(text) {
    try {
      if (navigator.clipboard && window.isSecureContext) { await navigator.clipboard.writeText(text); return true; }
    } catch { /* the fallback below */ }
    const area = el("textarea", { style: "position:fixed;left:-9999px", "aria-hidden": "true" });
    area.value = text;
    document.body.append(area);
    area.select();
    let ok = false;
    try { ok = document.execCommand("copy"); } catch { ok = false; }
    area.remove();
    return ok;
  }
  /** Fills .code-tabs[data-tabs="curl python …"]: tabs #tab-NAME showing #panel-NAME with pre#code-NAME and its
   *  copy button (button.copy-button[data-copy=code-NAME]); arrow keys move between tabs. */
  function codeTabs() {
    const box = $(".code-tabs"), names = box.dataset.tabs.split(" ");
    const labels = { curl: "curl", python: "Python", sdk: "Databricks SDK", sql: "SQL" };
    const select = (name, focus) => names.forEach((other) => {
      const tab = $("#tab-" + other), on = other === name;
      tab.setAttribute("aria-selected", on);
      tab.tabIndex = on ? 0 : -1;
      $("#panel-" + other).hidden = !on;
      if (on && focus) tab.focus();
    });
    box.replaceChildren(el("div", { class: "tabs", role: "tablist", "aria-label": "Code" }, names.map((name, index) =>
      el("button", { type: "button", role: "tab", id: "tab-" + name, "aria-controls": "panel-" + name, text: labels[name], on: {
        click: () => select(name),
        keydown: (event) => {
          const step = { ArrowRight: 1, ArrowLeft: -1 }[event.key];
          if (step) { event.preventDefault(); select(names[(index + step + names.length) % names.length], true); }
        } } }))),
    ...names.map((name) => el("div", { class: "code-panel", id: "panel-" + name, role: "tabpanel", "aria-labelledby": "tab-" + name },
      el("pre", { id: "code-" + name, tabindex: 0 }),
      el("button", { type: "button", class: "copy-button small", dataset: { copy: "code-" + name }, text: "Copy", on: { click: async (event) => {
        const button = event.currentTarget;
        button.textContent = await copyText($("#code-" + name).textContent) ? "Copied" : "Copy failed";
        setTimeout(() => { button.textContent = "Copy"; }, 1400);
      } } }))));
    select(names[0]);
  }

  /** The parts every page has: the current nav link, the token prompt, the server's version. */
  function init() {
    const current = { "/": "nav-endpoints", "/playground": "nav-playground", "/usage": "nav-usage" }[location.pathname.replace(/(.)\/+$/, "$1")];
    if (current) document.getElementById(current)?.setAttribute("aria-current", "page");
    document.body.append(el("dialog", { id: "token-dialog", class: "narrow", "aria-labelledby": "token-title" },
      el("form", { method: "dialog" },
        el("h2", { id: "token-title", text: "API token" }),
        el("p", { id: "token-refused", class: "error-box", hidden: true, text: "That token was refused. Try again." }),
        el("p", { class: "muted", text: "This server asks for its token: the token is in ~/.config/aiquery/serve-token (or AIQUERY_SERVE_TOKEN). It is kept in this tab only." }),
        el("label", { for: "token-input", text: "Token" }),
        el("input", { id: "token-input", type: "password", autocomplete: "off" }),
        el("div", { class: "buttons" },
          el("button", { type: "button", text: "Cancel", on: { click: () => $("#token-dialog").close() } }),
          el("button", { id: "token-save", type: "submit", class: "primary", text: "Save token" })))));
    window.addEventListener("unhandledrejection", (event) => { if (event.reason?.name !== "AbortError") pageError(String(event.reason?.message || event.reason)); });
    endpoints().then(({ server }) => {
      if (server) $("#server-info").textContent = `aiquery ${server.version || ""}${server.auth === "none" ? " · no auth (loopback)" : ""}`;
    }, () => {});
  }
  const ready = () => { document.body.dataset.ready = "1"; };

  return { el, svg, $, $$, say, api, apiJSON, pageError, errorWords, statusLine, endpoints, taskOf, invocationsPath, invoke, readSSE,
    fmtInt, fmtCost, fmtMs, fmtSeconds, fmtPercent, fmtTime, costOf, textOf, snippets, codeTabs, init, ready };
})();
