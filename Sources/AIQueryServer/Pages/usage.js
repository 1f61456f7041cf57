// Usage page: totals per endpoint and door, a chart over time drawn here as SVG, and the request log, from the
// call log (GET /api/2.0/aiquery/usage, one request, and GET /api/2.0/aiquery/calls, 100 at a time).
"use strict";
(() => {
  const { el, svg, $, say } = AQ;
  const RANGES = { "1h": 3600, "24h": 86400, "7d": 604800, "30d": 2592000, all: 0 };
  const FILTERS = ["range", "endpoint", "door", "status"];
  const PAGE = 100;
  let calls = [], seen = new Set(), drawn = null, generation = 0;
  const num = (x) => Number(x) || 0;

  function query() {
    const params = new URLSearchParams();
    const range = RANGES[$("#filter-range").value];
    if (range) params.set("since", String(Math.floor(Date.now() / 1000) - range));
    for (const key of FILTERS.slice(1)) {
      const value = $("#filter-" + key).value;
      if (value !== "all") params.set(key, value);
    }
    return params;
  }

  // ---- totals and table ----
  const kpi = (label, value) => el("div", { class: "kpi" }, el("div", { class: "k", text: label }), el("div", { class: "v", text: value }));
  function usageRow(cls, g, endpoint, door) {
    return el("tr", { class: cls, dataset: {
      endpoint, door, requests: num(g.requests), cacheHits: num(g.cache_hits), errors: num(g.errors),
      inputTokens: num(g.input_tokens), outputTokens: num(g.output_tokens), cost: g.cost_usd ?? "" } },
    cls === "usage-total" ? el("th", { scope: "row", colspan: 2, text: "Total" })
      : [el("td", { class: "mono", text: endpoint }), el("td", { text: door })],
    [["requests", AQ.fmtInt(g.requests)], ["hit-rate", AQ.fmtPercent(num(g.cache_hits), num(g.requests))], ["errors", AQ.fmtInt(g.errors)],
      ["tokens", `${AQ.fmtInt(g.input_tokens)} · ${AQ.fmtInt(g.output_tokens)}`], ["cost", AQ.fmtCost(g.cost_usd)],
      ["p50", AQ.fmtMs(g.latency_p50_ms)], ["p95", AQ.fmtMs(g.latency_p95_ms)], ["p99", AQ.fmtMs(g.latency_p99_ms)]]
      .map(([key, text]) => el("td", { class: "num u-" + key, text })));
  }
  function renderTable(usage) {
    const groups = usage.endpoints || [], t = usage.totals || {};
    $("#usage-table tbody").replaceChildren(...groups.map((g) => usageRow("usage-row", g, g.endpoint_name, g.door)),
      groups.length ? "" : el("tr", {}, el("td", { colspan: 10, class: "empty", text: "No calls in this range." })),
      usageRow("usage-total", t, "all", "all"));
    $("#kpis").replaceChildren(kpi("Requests", AQ.fmtInt(t.requests)), kpi("Cache hit rate", AQ.fmtPercent(num(t.cache_hits), num(t.requests))),
      kpi("Errors", AQ.fmtInt(t.errors)), kpi("Tokens in · out", `${AQ.fmtInt(t.input_tokens)} · ${AQ.fmtInt(t.output_tokens)}`),
      kpi("Cost", AQ.fmtCost(t.cost_usd)), kpi("Latency p50 · p95", `${AQ.fmtMs(t.latency_p50_ms)} · ${AQ.fmtMs(t.latency_p95_ms)}`));
    return t;
  }

  // ---- chart: stacked bars of upstream answers, cache hits and errors per bucket ----
  function niceMax(value) {
    const power = 10 ** Math.floor(Math.log10(value));
    return [1, 2, 2.5, 5, 10].find((step) => step * power >= value) * power;
  }
  function bucketWords(seconds) {
    if (seconds >= 86400 && seconds % 86400 === 0) return `${seconds / 86400} d`;
    if (seconds >= 3600 && seconds % 3600 === 0) return `${seconds / 3600} h`;
    return seconds >= 60 ? `${Math.round(seconds / 60)} min` : `${Math.round(seconds)} s`;
  }
  function drawChart(series, requests) {
    drawn = { series, requests };
    const chart = $("#usage-chart");
    const width = Math.max(320, Math.round(chart.getBoundingClientRect().width || 900)), height = 220;
    const left = 48, right = 10, top = 12, bottom = 24, plotW = width - left - right, plotH = height - top - bottom;
    const buckets = Array.isArray(series?.buckets) ? series.buckets : [];
    const span = num(series?.until_unix) - num(series?.since_unix);
    chart.setAttribute("viewBox", `0 0 ${width} ${height}`);
    chart.replaceChildren();
    $("#chart-range").textContent = span > 0 ? `${AQ.fmtTime(series.since_unix)} – ${AQ.fmtTime(series.until_unix)} · bars of ${bucketWords(num(series.bucket_seconds))}` : "";
    const max = Math.max(0, ...buckets.map((b) => num(b.requests)));
    if (!max || !requests) {
      chart.append(svg("text", { x: width / 2, y: height / 2, "text-anchor": "middle", text: series ? "No calls in this range." : "No series to draw." }));
      return chart.setAttribute("aria-label", "Requests over time: no calls in this range");
    }
    const yMax = niceMax(max), y = (v) => top + plotH - (v / yMax) * plotH;
    for (const v of [0, yMax / 2, yMax]) {
      chart.append(svg("line", { class: "grid", x1: left, x2: width - right, y1: y(v), y2: y(v) }),
        svg("text", { x: left - 6, y: y(v) + 4, "text-anchor": "end", text: AQ.fmtInt(v) }));
    }
    const slot = plotW / buckets.length, barW = Math.max(1, slot * 0.78);
    buckets.forEach((b, i) => {
      const x = left + i * slot + (slot - barW) / 2, hits = num(b.cache_hits), errors = num(b.errors);
      const answers = Math.max(0, num(b.requests) - hits - errors);
      const group = svg("g", {});
      let base = 0;
      for (const [value, cls] of [[answers, "bar-miss"], [hits, "bar-hit"], [errors, "bar-err"]]) {
        if (value <= 0) continue;
        group.append(svg("rect", { class: cls, x, width: barW, y: y(base + value), height: Math.max(0.5, y(base) - y(base + value)) }));
        base += value;
      }
      group.append(svg("title", { text: `${AQ.fmtTime(num(b.start_unix))}: ${AQ.fmtInt(b.requests)} requests (${AQ.fmtInt(answers)} upstream answers, ${AQ.fmtInt(hits)} cache hits, ${AQ.fmtInt(errors)} errors), ${AQ.fmtInt(num(b.input_tokens) + num(b.output_tokens))} tokens` }));
      chart.append(group);
    });
    const labels = Math.min(6, buckets.length);
    for (let k = 0; k < labels; k++) { // time axis: up to six bucket starts, first and last included
      const i = Math.round(k * (buckets.length - 1) / Math.max(1, labels - 1)), date = new Date(num(buckets[i].start_unix) * 1000);
      chart.append(svg("text", { x: left + i * slot + slot / 2, y: height - 6, "text-anchor": k === 0 ? "start" : k === labels - 1 ? "end" : "middle",
        text: span <= 172800 ? date.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" }) : date.toLocaleDateString(undefined, { month: "short", day: "numeric" }) }));
    }
    chart.setAttribute("aria-label", `Requests over time: ${AQ.fmtInt(requests)} requests, at most ${AQ.fmtInt(max)} in one bar`);
  }

  // ---- request log ----
  const keyOf = (c) => c.id ?? [c.event_unix, c.endpoint_name, c.pid].join("|");
  /** The logged request body: an object, or the JSON text of one. */
  function requestOf(c) {
    let body = c.request;
    if (typeof body === "string") try { body = JSON.parse(body); } catch { body = null; }
    return body && typeof body === "object" ? body : null;
  }
  function callRow(c) {
    const failed = num(c.status_code) >= 400, chat = !/embedding|custom/.test(String(c.task)), request = requestOf(c);
    const why = !chat ? `${c.task} calls cannot be replayed in the chat Playground`
      : request ? `Open this call's request in the Playground (${c.endpoint_name})`
        : "The call log kept no request for this call: AIQUERY_CALL_LOG_CONTENT=on keeps prompts so calls can be replayed. The endpoint's link opens it in the Playground.";
    const error = failed || c.error_message ? [c.error_code, c.error_message || `HTTP ${c.status_code}`].filter(Boolean).join(": ") : "";
    return el("tr", { class: "call-row", dataset: { endpoint: c.endpoint_name, status: c.status_code, door: c.door || "" } },
      el("td", { text: AQ.fmtTime(c.event_unix ?? Date.parse(c.event_time) / 1000), title: c.event_time }),
      el("td", { class: "mono" }, chat ? el("a", { href: "/playground?endpoints=" + encodeURIComponent(c.endpoint_name), text: c.endpoint_name }) : c.endpoint_name),
      el("td", { text: c.door || "—" }),
      el("td", { class: failed ? "status-err" : "status-ok", text: c.status_code ?? "—" }),
      el("td", { text: c.cache_hit ? (num(c.requests) > 1 ? `hit ×${AQ.fmtInt(c.requests)}` : "hit") : "miss" }),
      el("td", { class: "num", text: `${c.tokens_estimated ? "≈" : ""}${AQ.fmtInt(c.input_tokens)} · ${AQ.fmtInt(c.output_tokens)}`,
        title: c.tokens_estimated ? "estimated: the endpoint reported no usage" : null }),
      el("td", { class: "num", text: AQ.fmtMs(c.latency_ms), title: c.ttft_ms != null ? `time to first token ${AQ.fmtMs(c.ttft_ms)}` : null }),
      el("td", { class: "num", text: AQ.fmtCost(c.cost_usd) }),
      el("td", { class: "err-text", text: error }),
      el("td", {}, el("button", { type: "button", class: "replay small", text: "Replay", title: why, disabled: !(chat && request),
        "aria-label": `Replay this call to ${c.endpoint_name} in the Playground`, on: { click: () => {
          try { sessionStorage.setItem("aiquery-replay", JSON.stringify({ endpoint: c.endpoint_name, request })); } catch { /* opens anyway */ }
          location.href = "/playground?replay=1";
        } } })));
  }
  async function loadCalls(more) {
    const params = query(), mine = generation, button = $("#calls-more"), body = $("#calls-table tbody");
    params.set("limit", PAGE);
    if (more && calls.length) params.set("until", calls.at(-1).event_unix);
    button.disabled = true;
    try {
      const answer = (await AQ.apiJSON("/api/2.0/aiquery/calls?" + params)).calls || [];
      if (mine !== generation) return;
      const fresh = answer.filter((c) => !seen.has(keyOf(c)));
      for (const c of fresh) seen.add(keyOf(c));
      calls = calls.concat(fresh);
      if (!more) body.replaceChildren();
      body.append(...fresh.map(callRow));
      if (!calls.length) body.append(el("tr", {}, el("td", { colspan: 10, class: "empty", text: "No calls match these filters." })));
      const end = answer.length < PAGE || !fresh.length;
      button.disabled = end;
      button.textContent = end ? "No older calls" : "Load older calls";
      $("#calls-count").textContent = `${AQ.fmtInt(calls.length)} shown`;
      say("#calls-error", "");
    } catch (error) {
      if (mine !== generation) return;
      say("#calls-error", "The request log could not be read: " + error.message);
      button.disabled = false;
    }
  }
  async function loadUsage() {
    const params = query(), mine = generation;
    params.set("buckets", 48);
    try {
      const usage = await AQ.apiJSON("/api/2.0/aiquery/usage?" + params);
      if (mine !== generation) return;
      say("#usage-error", "");
      drawChart(usage.series || null, num(renderTable(usage).requests));
      addOptions((usage.endpoints || []).map((g) => g.endpoint_name));
    } catch (error) {
      if (mine !== generation) return;
      say("#usage-error", "The usage could not be read: " + error.message);
      $("#usage-table tbody").replaceChildren();
      $("#kpis").replaceChildren();
      drawChart(null, 0);
    }
  }
  function addOptions(names) {
    const select = $("#filter-endpoint"), have = new Set([...select.options].map((o) => o.value));
    for (const name of names) if (name && !have.has(name)) { select.append(el("option", { value: name, text: name })); have.add(name); }
  }

  async function reload() {
    generation++;
    calls = [];
    seen = new Set();
    const params = new URLSearchParams();
    for (const key of FILTERS) {
      const value = $("#filter-" + key).value;
      if (value !== (key === "range" ? "24h" : "all")) params.set(key, value);
    }
    history.replaceState(null, "", "/usage" + (String(params) ? "?" + params : ""));
    await Promise.all([loadUsage(), loadCalls(false)]);
  }

  async function start() {
    AQ.init();
    try {
      addOptions(((await AQ.endpoints()).endpoints || []).map((e) => e.name));
    } catch (error) {
      AQ.pageError(error.message);
    }
    const params = new URLSearchParams(location.search);
    for (const key of FILTERS) {
      const select = $("#filter-" + key), value = params.get(key);
      if (key === "endpoint" && value) addOptions([value]);
      if ([...select.options].some((o) => o.value === value)) select.value = value;
      select.addEventListener("change", reload);
    }
    $("#refresh").addEventListener("click", reload);
    $("#calls-more").addEventListener("click", () => loadCalls(true));
    let timer = 0;
    addEventListener("resize", () => { clearTimeout(timer); timer = setTimeout(() => drawn && drawChart(drawn.series, drawn.requests), 150); });
    await reload();
    AQ.ready();
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
