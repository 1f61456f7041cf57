// Endpoints page: every endpoint with its state, and the Query endpoint panel (JSON editor, Send request, the
// answer with status, latency, tokens, cache and cost, and runnable code for the editor's body).
"use strict";
(() => {
  const { el, $, say } = AQ;
  const EXAMPLES = {
    chat: { messages: [{ role: "user", content: "What is a mixture of experts model?" }], max_tokens: 100 },
    completions: { prompt: "What is a quoll?", max_tokens: 64 },
    embeddings: { input: ["Embed this sentence!"] },
    custom: { inputs: ["Hello"] },
  };
  const TABS = ["curl", "python", "sdk", "sql"];
  const RESULTS = ["status", "latency", "tokens", "cache", "cost"];
  let list = [];
  let current = null; // the endpoint the panel is for
  const drafts = new Map();
  let sending = false;

  const named = (name) => list.find((e) => e.name === name) || null;
  const showError = (message) => say("#query-error", message);

  function render() {
    const box = $("#endpoints");
    if (!list.length) {
      box.replaceChildren(el("li", { class: "empty", text: "No endpoints. Define some in ~/.config/aiquery/endpoints.yaml (or the file AIQUERY_CONFIG names); the server re-reads it when it changes." }));
      return;
    }
    box.replaceChildren(...list.map((e) => {
      const state = e.state || "idle", bad = state === "failing" || state === "not ready";
      const price = e.price && `${AQ.fmtCost(e.price.input_per_million)} in · ${AQ.fmtCost(e.price.output_per_million)} out per 1M tokens`;
      const meta = [["Task", AQ.taskOf(e) || e.task || "unknown"], ["Provider", e.provider], ["Model", e.model || "—"], ["URL", e.url],
        ["Defined in", e.source || "—"], ["Price", price], ["Limit", e.limit]].filter(([, value]) => value);
      return el("li", { class: "endpoint-row" + (e.name === current ? " selected" : ""), dataset: { endpoint: e.name } },
        el("div", { class: "top" },
          el("span", { class: "endpoint-name", text: e.name }),
          el("button", { type: "button", class: "query-button small", text: "Query", "aria-label": `Query endpoint ${e.name}`,
            on: { click: () => open(e.name, true) } })),
        el("div", { class: "endpoint-state state-" + state.replace(/\s+/g, "-"), text: bad ? `${state}: ${e.state_message || "no details"}` : state }),
        bad ? null : el("div", { class: "state-detail", text: e.state_message || "" }),
        el("dl", { class: "endpoint-meta" }, meta.map(([key, value]) => [el("dt", { text: key }), el("dd", { class: key === "Task" || key === "Provider" || key === "Price" || key === "Limit" ? "" : "mono", text: value })])));
    }));
  }

  async function load(fresh) {
    try {
      list = (await AQ.endpoints(fresh)).endpoints || [];
      AQ.pageError("");
    } catch (error) {
      AQ.pageError(error.message);
      if (!list.length) { $("#endpoints").replaceChildren(el("li", { class: "empty", text: "The endpoints could not be loaded: " + error.message })); return; }
    }
    render();
    if (current) showTask();
  }

  // ---- the Query panel ----
  const example = (name) => JSON.stringify(EXAMPLES[AQ.taskOf(named(name)) || "chat"], null, 2);
  function showTask() {
    const endpoint = named(current), task = AQ.taskOf(endpoint);
    $("#query-task").textContent = endpoint ? task || endpoint.task || "unknown task" : "not listed";
    const link = $("#query-playground");
    link.hidden = task === "embeddings" || task === "custom";
    link.href = "/playground?endpoints=" + encodeURIComponent(current);
  }
  function open(name, focus) {
    if (current) drafts.set(current, $("#query-body").value);
    current = name;
    for (const row of document.querySelectorAll(".endpoint-row")) row.classList.toggle("selected", row.dataset.endpoint === name);
    $("#query-panel").hidden = false;
    $("#query-endpoint-name").textContent = name;
    showTask();
    $("#query-body").value = drafts.get(name) ?? example(name);
    reset();
    if (!named(name) && list.length) showError(`This server lists no endpoint named '${name}': a request will be answered 404.`);
    updateCode();
    history.replaceState(null, "", "/?endpoint=" + encodeURIComponent(name));
    if (focus) { $("#query-panel").scrollIntoView({ block: "nearest" }); $("#query-body").focus(); }
  }
  function close() {
    drafts.set(current, $("#query-body").value);
    const row = document.querySelector(`.endpoint-row[data-endpoint="${CSS.escape(current)}"]`);
    current = null;
    $("#query-panel").hidden = true;
    row?.classList.remove("selected");
    history.replaceState(null, "", "/");
    row?.querySelector("button")?.focus();
  }
  function reset() {
    showError("");
    for (const id of RESULTS) $("#query-" + id).textContent = "—";
    $("#query-status").className = "v";
    for (const id of ["text", "embedding"]) { $("#query-" + id).textContent = ""; $(`#query-${id}-box`).hidden = true; }
    $("#query-response").textContent = "Send a request to see the response.";
  }

  function parse() {
    const text = $("#query-body").value;
    if (!text.trim()) return { error: "The request body is empty: type a JSON object, or press Show example." };
    try {
      const body = JSON.parse(text);
      return body && typeof body === "object" && !Array.isArray(body) ? { body } : { error: "The request body must be a JSON object ({…})." };
    } catch (error) {
      return { error: `The request body is not valid JSON: ${error.message}` };
    }
  }
  function updateCode() {
    if (!current) return;
    const { body, error } = parse();
    const code = error ? null : AQ.snippets(current, AQ.taskOf(named(current)), body);
    for (const tab of TABS) $("#code-" + tab).textContent = code ? code[tab] : `${tab === "sql" ? "--" : "#"} ${error}`;
  }

  function embeddingWords(vector, count) {
    if (typeof vector === "string") { // encoding_format base64: little-endian float32
      const bytes = Uint8Array.from(atob(vector), (c) => c.charCodeAt(0));
      vector = Array.from(new Float32Array(bytes.buffer, 0, bytes.length >> 2));
    }
    if (!Array.isArray(vector)) return "no embedding in the answer";
    const norm = Math.hypot(...vector);
    return `dimension ${AQ.fmtInt(vector.length)} · norm ${norm.toFixed(4)} · first ${vector.slice(0, 5).map((x) => Number(x).toFixed(4)).join(", ")}`
      + (vector.length > 5 ? ", …" : "") + (count > 1 ? ` (first of ${AQ.fmtInt(count)} vectors)` : "");
  }
  function showAnswer(answer) {
    const choice = answer?.choices?.[0];
    if (answer?.data?.[0] && "embedding" in answer.data[0]) {
      $("#query-embedding").textContent = embeddingWords(answer.data[0].embedding, answer.data.length);
      $("#query-embedding-box").hidden = false;
    } else if (choice && (choice.message || "text" in choice)) {
      $("#query-text").textContent = (choice.message ? AQ.textOf(choice.message.content) : String(choice.text ?? "")) || "(empty answer)";
      $("#query-text-box").hidden = false;
    }
  }

  async function send() {
    if (!current || sending) return;
    const { body, error } = parse();
    reset();
    if (error) { showError(error); $("#query-response").textContent = "No request sent."; return; }
    const name = current, endpoint = named(name), button = $("#send-request"), status = $("#query-status");
    sending = true;
    button.disabled = true;
    button.textContent = "Sending…";
    status.textContent = "…";
    $("#query-response").textContent = "Waiting for the answer…";
    const started = performance.now();
    try {
      const response = await AQ.invoke(name, body);
      let answer = null, raw = "", broke = null;
      const streamed = response.ok && (response.headers.get("Content-Type") || "").includes("text/event-stream");
      if (streamed) { // "stream": true in the body: the events, gathered into one answer
        const events = [];
        let text = "", usage = null, chat = true;
        await AQ.readSSE(response, (event) => {
          events.push("data: " + JSON.stringify(event));
          if (event.error) { broke = event.error; return; }
          const choice = event.choices?.[0];
          if (choice?.delta) text += AQ.textOf(choice.delta.content ?? "");
          else if (choice) { text += choice.text || ""; chat = false; }
          if (event.usage) usage = event.usage;
        });
        answer = { choices: [chat ? { message: { content: text } } : { text }], usage };
        raw = events.join("\n") + "\ndata: [DONE]";
      } else {
        raw = await response.text();
        try { answer = JSON.parse(raw); } catch { answer = null; }
      }
      const cache = response.headers.get("x-aiquery-cache");
      status.textContent = AQ.statusLine(response.status);
      status.className = "v " + (response.ok && !broke ? "status-ok" : "status-err");
      $("#query-latency").textContent = AQ.fmtMs(performance.now() - started);
      $("#query-response").textContent = answer && !streamed ? JSON.stringify(answer, null, 2) : raw || "(empty body)";
      $("#query-cache").textContent = cache || "—";
      if (!response.ok) { showError(AQ.errorWords(response.status, answer, response.headers, raw)); return; }
      if (broke) showError(`The answer stopped part way: ${broke.message || JSON.stringify(broke)}`);
      const usage = answer?.usage;
      if (usage) $("#query-tokens").textContent = `${AQ.fmtInt(usage.prompt_tokens ?? 0)} in · ${AQ.fmtInt(usage.completion_tokens ?? 0)} out`;
      const header = response.headers.get("x-aiquery-cost-usd");
      $("#query-cost").textContent = AQ.fmtCost(header !== null ? header
        : usage && endpoint?.price ? (cache === "hit" ? 0 : AQ.costOf(endpoint.price, usage.prompt_tokens, usage.completion_tokens)) : null);
      showAnswer(answer);
    } catch (error) {
      status.textContent = "no answer";
      status.className = "v status-err";
      $("#query-latency").textContent = AQ.fmtMs(performance.now() - started);
      $("#query-response").textContent = "No response.";
      showError(/token/i.test(error.message) ? error.message : `Could not reach the aiquery server: ${error.message}. Is aiquery serve still running?`);
    } finally {
      sending = false;
      button.disabled = false;
      button.textContent = "Send request";
      load(true); // the endpoint's state may have changed
    }
  }

  function start() {
    AQ.init();
    AQ.codeTabs();
    let timer = 0;
    const editor = $("#query-body");
    editor.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(updateCode, 150); });
    editor.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) { event.preventDefault(); send(); }
    });
    $("#show-example").addEventListener("click", () => { editor.value = example(current); showError(""); updateCode(); });
    $("#format-body").addEventListener("click", () => {
      const { body, error } = parse();
      showError(error);
      if (body) editor.value = JSON.stringify(body, null, 2);
    });
    $("#send-request").addEventListener("click", send);
    $("#query-close").addEventListener("click", close);
    $("#refresh-endpoints").addEventListener("click", () => load(true));
    load(false).finally(() => {
      const wanted = new URLSearchParams(location.search).get("endpoint");
      if (wanted) open(wanted, false);
      AQ.ready();
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
