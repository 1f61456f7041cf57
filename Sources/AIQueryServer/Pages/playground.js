// Playground: one to three panes, each a conversation with one endpoint, streamed word by word and sent together.
// Each pane keeps its own history (the user's messages and its own answers), settings and stats.
"use strict";
(() => {
  const { el, $, $$, say } = AQ;
  const MAX = 3;
  const DEFAULTS = { system: "", temperature: "0.7", maxTokens: "256" };
  let endpoints = [];
  const panes = []; // {node, select, history: [{role, content}], controller, result}
  let running = 0;

  const named = (name) => endpoints.find((e) => e.name === name) || null;
  const canChat = (e) => [null, "chat", "completions"].includes(AQ.taskOf(e));
  const field = (pane, name) => $(".pane-" + name, pane.node);

  // ---- panes ----
  function addPane(name, settings = DEFAULTS) {
    const id = "p" + Math.random().toString(36).slice(2, 8);
    const select = el("select", { class: "pane-endpoint", id: id + "-e" },
      endpoints.map((e) => {
        const task = AQ.taskOf(e), ok = canChat(e);
        return el("option", { value: e.name, disabled: !ok, text: e.name + (task === "completions" ? " (completions)" : ok ? "" : ` (${task}: cannot chat)`) });
      }));
    if (name && !named(name)) select.append(el("option", { value: name, text: name + " (not listed)" }));
    select.value = name || (endpoints.find((e) => canChat(e) && !panes.some((p) => p.select.value === e.name)) || endpoints.find(canChat))?.name || "";
    const number = (cls, label, attrs) => el("div", { class: "field" }, el("label", { for: id + cls, text: label }),
      el("input", { class: "pane-" + cls, id: id + cls, type: "number", ...attrs }));
    const node = el("section", { class: "pane" },
      el("div", { class: "pane-head" },
        el("div", { class: "row" }, el("label", { for: id + "-e", class: "sr", text: "Endpoint" }), select,
          el("button", { type: "button", class: "pane-remove small", text: "Remove", title: "Remove this pane" })),
        el("div", { class: "field" }, el("label", { for: id + "system", text: "System prompt" }),
          el("textarea", { class: "pane-system", id: id + "system", placeholder: "You are a helpful assistant." })),
        el("div", { class: "row" }, number("temperature", "Temperature", { min: 0, max: 2, step: 0.1 }),
          number("max-tokens", "Max tokens", { min: 1, step: 1 }), el("span", { class: "hint pane-price" }))),
      el("div", { class: "pane-messages", "aria-live": "polite", tabindex: 0, "aria-label": "Messages" }),
      el("div", { class: "pane-error error-box", role: "alert", hidden: true }),
      el("div", { class: "pane-stats" }, ["ttft", "tps", "tokens", "latency", "cost", "cache"].map((s) => el("span", { class: "stat-" + s }))));
    const pane = { node, select, history: [], controller: null, result: null };
    field(pane, "system").value = settings.system;
    field(pane, "temperature").value = settings.temperature;
    field(pane, "max-tokens").value = settings.maxTokens;
    select.addEventListener("change", () => { showPrice(pane); renderMessages(pane); });
    for (const input of ["system", "temperature", "max-tokens"]) {
      field(pane, input).addEventListener("input", () => { if ($("#sync-settings").checked) syncFrom(pane); });
    }
    $(".pane-remove", node).addEventListener("click", () => removePane(pane));
    panes.push(pane);
    $("#panes").append(node);
    showPrice(pane);
    renderMessages(pane);
    showStats(pane, null);
    layout();
    return pane;
  }
  function removePane(pane) {
    if (panes.length < 2) return;
    pane.controller?.abort();
    panes.splice(panes.indexOf(pane), 1);
    pane.node.remove();
    layout();
    summarize();
    $("#add-pane").focus();
  }
  function layout() {
    panes.forEach((pane, index) => {
      pane.node.dataset.pane = String(index);
      pane.node.setAttribute("aria-label", `Conversation ${index + 1}`);
      $(".pane-remove", pane.node).disabled = panes.length < 2;
    });
    $("#panes").style.setProperty("--pane-count", String(panes.length));
    $("#add-pane").disabled = panes.length >= MAX;
  }
  const settingsOf = (pane) => ({ system: field(pane, "system").value, temperature: field(pane, "temperature").value, maxTokens: field(pane, "max-tokens").value });
  function syncFrom(source) {
    const s = settingsOf(source);
    for (const pane of panes) {
      field(pane, "system").value = s.system;
      field(pane, "temperature").value = s.temperature;
      field(pane, "max-tokens").value = s.maxTokens;
    }
  }
  function showPrice(pane) {
    const price = named(pane.select.value)?.price;
    field(pane, "price").textContent = price ? `${AQ.fmtCost(price.input_per_million)} / ${AQ.fmtCost(price.output_per_million)} per 1M in / out` : "no price";
  }
  const messageNode = (role, text) => el("div", { class: "message " + role },
    el("span", { class: "role", text: role === "user" ? "You" : "Assistant" }), el("span", { class: "content", text }));
  function renderMessages(pane) {
    const box = field(pane, "messages");
    box.replaceChildren(...pane.history.map((m) => messageNode(m.role, m.content)));
    if (!pane.history.length) {
      const e = named(pane.select.value);
      box.append(el("p", { class: "empty", text: !e ? "Choose an endpoint."
        : AQ.taskOf(e) === "completions" ? `${e.name} is a completions endpoint: its prompt is the system prompt and your last message.`
          : `Send a message to ${e.name} (${e.model || e.provider}).` }));
    }
    box.scrollTop = box.scrollHeight;
  }

  // ---- requests ----
  function bodyFor(pane, history = pane.history) {
    const s = settingsOf(pane);
    let body;
    if (AQ.taskOf(named(pane.select.value)) === "completions") {
      const last = history.findLast((m) => m.role === "user");
      body = { prompt: (s.system.trim() ? s.system + "\n\n" : "") + (last?.content || "") };
    } else {
      body = { messages: [...(s.system.trim() ? [{ role: "system", content: s.system }] : []), ...history.map(({ role, content }) => ({ role, content }))] };
    }
    const maxTokens = parseInt(s.maxTokens, 10), temperature = parseFloat(s.temperature);
    if (Number.isFinite(maxTokens)) body.max_tokens = maxTokens;
    if (Number.isFinite(temperature)) body.temperature = temperature;
    return body;
  }

  async function run(pane, fresh = false) {
    const name = pane.select.value, endpoint = named(name);
    say(field(pane, "error"), "");
    if (!name) return say(field(pane, "error"), "Choose an endpoint for this pane.");
    if (endpoint && !canChat(endpoint)) return say(field(pane, "error"), `${name} is an ${AQ.taskOf(endpoint)} endpoint: it cannot chat.`);
    const box = field(pane, "messages");
    $(".empty", box)?.remove();
    const message = messageNode("assistant", "");
    message.classList.add("streaming");
    const content = $(".content", message);
    box.append(message);
    box.scrollTop = box.scrollHeight;
    const controller = pane.controller = new AbortController();
    pane.result = null;
    showStats(pane, { busy: true });
    const started = performance.now();
    let first = null, text = "", usage = null, pieces = 0, failure = null, cache = null;
    const append = (piece) => {
      if (!piece) return;
      if (first === null) { first = performance.now(); field(pane, "stats").firstChild.textContent = `TTFT ${AQ.fmtMs(first - started)}`; }
      pieces++;
      text += piece;
      content.textContent = text;
      if (box.scrollHeight - box.scrollTop - box.clientHeight < 80) box.scrollTop = box.scrollHeight;
    };
    try {
      const response = await AQ.invoke(name, { ...bodyFor(pane), stream: true }, controller.signal, fresh);
      cache = response.headers.get("x-aiquery-cache");
      if (!response.ok) {
        const raw = await response.text();
        let parsed = null;
        try { parsed = JSON.parse(raw); } catch { /* words from the raw text */ }
        failure = AQ.errorWords(response.status, parsed, response.headers, raw);
      } else if ((response.headers.get("Content-Type") || "").includes("text/event-stream")) {
        await AQ.readSSE(response, (event) => {
          if (event.error) { failure = `The answer stopped part way: ${event.error.message || JSON.stringify(event.error)}`; return; }
          const choice = event.choices?.[0];
          if (choice) append(choice.delta ? AQ.textOf(choice.delta.content ?? "") : choice.text);
          if (event.usage) usage = event.usage;
        });
      } else { // answered whole: a model that does not stream
        const answer = await response.json();
        const choice = answer.choices?.[0];
        append(choice?.message ? AQ.textOf(choice.message.content) : choice?.text);
        usage = answer.usage;
      }
    } catch (error) {
      if (error.name === "AbortError") content.textContent = text + " [stopped]";
      else failure = /token/i.test(error.message) ? error.message : `Could not reach the aiquery server: ${error.message}. Is aiquery serve still running?`;
    }
    const ended = performance.now(), stopped = controller.signal.aborted;
    message.classList.remove("streaming");
    if (pane.controller === controller) pane.controller = null;
    if (text) pane.history.push({ role: "assistant", content: text });
    else if (!stopped) message.remove();
    const out = usage?.completion_tokens ?? (pieces || null);
    const result = pane.result = {
      endpoint: name, ttft: first === null ? null : first - started, latency: ended - started, cache,
      in: usage?.prompt_tokens ?? null, out, cost: usage ? AQ.costOf(endpoint?.price, usage.prompt_tokens, usage.completion_tokens) : null,
      tps: first !== null && out ? out / Math.max((ended - first) / 1000, 0.001) : null, ok: !failure && !stopped && Boolean(text),
    };
    say(field(pane, "error"), failure || (stopped && !text ? "Stopped before the first word." : ""));
    showStats(pane, result);
  }

  function showStats(pane, r) {
    const [ttft, tps, tokens, latency, cost, cache] = field(pane, "stats").children;
    const wait = r?.busy ? "…" : "—";
    ttft.textContent = `TTFT ${r?.ttft != null ? AQ.fmtMs(r.ttft) : wait}`;
    tps.textContent = r?.tps != null ? `${r.tps.toFixed(1)} tok/s` : "— tok/s";
    tokens.textContent = `${AQ.fmtInt(r?.in)} in · ${AQ.fmtInt(r?.out)} out`;
    latency.textContent = r?.latency != null ? AQ.fmtSeconds(r.latency) : `${wait} s`;
    cost.textContent = AQ.fmtCost(r?.cost);
    cache.textContent = r?.cache === "hit" ? "cache hit" : r?.cache ? "miss" : "";
    for (const span of [ttft, cost]) span.classList.remove("best");
  }

  function summarize() {
    const done = panes.filter((p) => p.result?.ok);
    for (const pane of panes) for (const span of $$(".best", pane.node)) span.classList.remove("best");
    if (done.length < 2) return $("#summary").textContent = "";
    const least = (key) => done.filter((p) => p.result[key] !== null).sort((a, b) => a.result[key] - b.result[key])[0];
    const priced = done.filter((p) => p.result.cost !== null).length;
    // Cheapest only says something when every pane's cost is known: an unpriced endpoint may cost more or less.
    const fast = least("ttft"), cheap = priced === done.length ? least("cost") : null;
    fast && $(".stat-ttft", fast.node).classList.add("best");
    cheap && $(".stat-cost", cheap.node).classList.add("best");
    $("#summary").textContent = [fast && `fastest: ${fast.result.endpoint} (TTFT ${AQ.fmtMs(fast.result.ttft)})`,
      cheap ? `cheapest: ${cheap.result.endpoint} (${AQ.fmtCost(cheap.result.cost)})`
        : `cheapest: — (${priced ? "not every endpoint has a price" : "no endpoint has a price"})`].filter(Boolean).join(" · ");
  }

  function busy(delta) {
    running += delta;
    $("#stop").disabled = !running;
    $("#send").disabled = $("#regenerate").disabled = running > 0;
  }
  async function runAll(selected, fresh = false) {
    busy(1);
    $("#summary").textContent = "";
    try { await Promise.all(selected.map((pane) => run(pane, fresh))); } finally { busy(-1); summarize(); }
  }
  function send() {
    const text = $("#prompt").value;
    if (!text.trim() || running) return $("#prompt").focus();
    for (const pane of panes) { pane.history.push({ role: "user", content: text }); renderMessages(pane); }
    $("#prompt").value = "";
    runAll([...panes]);
  }
  function regenerate() {
    if (running) return;
    const selected = panes.filter((pane) => {
      if (pane.history.at(-1)?.role === "assistant") pane.history.pop();
      renderMessages(pane);
      return pane.history.at(-1)?.role === "user";
    });
    if (selected.length) runAll(selected, true);
  }
  function clear() {
    for (const pane of panes) {
      pane.controller?.abort();
      pane.history = [];
      pane.result = null;
      say(field(pane, "error"), "");
      renderMessages(pane);
      showStats(pane, null);
    }
    $("#summary").textContent = "";
    $("#prompt").focus();
  }

  // ---- Get code: pane 0's exact conversation ----
  function showCode() {
    const pane = panes[0], name = pane.select.value, pending = $("#prompt").value, history = pane.history;
    let caption = "The conversation so far.", sent = history;
    if (pending.trim()) { sent = [...history, { role: "user", content: pending }]; caption = "The conversation so far, with the message in the box as the next question."; }
    else if (history.at(-1)?.role === "assistant") { sent = history.slice(0, -1); caption = "The request that produced the last answer (system prompt, history and settings)."; }
    else if (!history.length) { sent = [{ role: "user", content: "Hello" }]; caption = "No conversation yet: an example question."; }
    const code = AQ.snippets(name, AQ.taskOf(named(name)), bodyFor(pane, sent));
    $("#code-caption").textContent = `${name}: ${caption}`;
    for (const tab of ["curl", "python", "sql"]) $("#code-" + tab).textContent = code[tab];
    $("#code-dialog").showModal();
  }

  // ---- replay from the usage page: {endpoint, request} ----
  function replay() {
    let item = null;
    try { item = JSON.parse(sessionStorage.getItem("aiquery-replay")); } catch { /* nothing to replay */ }
    if (!item?.endpoint) return false;
    const request = item.request && typeof item.request === "object" ? item.request : null;
    const messages = Array.isArray(request?.messages) ? request.messages : [];
    const pane = addPane(item.endpoint, {
      system: messages.filter((m) => m?.role === "system").map((m) => AQ.textOf(m.content)).join("\n"),
      temperature: String(request?.temperature ?? DEFAULTS.temperature), maxTokens: String(request?.max_tokens ?? DEFAULTS.maxTokens),
    });
    if (!request) {
      say(field(pane, "error"), "The call log kept no request for this call (start the server with AIQUERY_CALL_LOG_CONTENT=on to keep prompts): the endpoint is selected, type the message.");
      return true;
    }
    pane.history = messages.filter((m) => m?.role === "user" || m?.role === "assistant").map((m) => ({ role: m.role, content: AQ.textOf(m.content) }));
    const last = pane.history.at(-1)?.role === "user" ? pane.history.pop().content : typeof request.prompt === "string" ? request.prompt : null;
    renderMessages(pane);
    if (last !== null) $("#prompt").value = last;
    return true;
  }

  async function start() {
    AQ.init();
    AQ.codeTabs();
    $("#send").addEventListener("click", send);
    $("#stop").addEventListener("click", () => { for (const pane of panes) pane.controller?.abort(); });
    $("#clear").addEventListener("click", clear);
    $("#regenerate").addEventListener("click", regenerate);
    $("#add-pane").addEventListener("click", () => { if (panes.length < MAX) addPane(null, settingsOf(panes[0])).select.focus(); });
    $("#sync-settings").addEventListener("change", (event) => { if (event.target.checked) syncFrom(panes[0]); });
    $("#get-code").addEventListener("click", showCode);
    $("#code-close").addEventListener("click", () => $("#code-dialog").close());
    $("#prompt").addEventListener("keydown", (event) => {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) { event.preventDefault(); send(); }
    });
    try {
      endpoints = (await AQ.endpoints()).endpoints || [];
    } catch (error) {
      AQ.pageError(error.message);
    }
    const params = new URLSearchParams(location.search);
    if (!(params.get("replay") && replay())) {
      const wanted = (params.get("endpoints") || "").split(",").map((s) => s.trim()).filter(Boolean).slice(0, MAX);
      if (!wanted.length) addPane(null);
      for (const name of wanted) addPane(name);
    }
    if (endpoints.length && !endpoints.some(canChat)) say(field(panes[0], "error"), "None of this server's endpoints can chat: they are embeddings or custom models.");
    AQ.ready();
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
