#!/usr/bin/env python3
"""Mock LLM server for ai_query tests (Python 3 stdlib only).

Speaks OpenAI-compatible (/v1/...), Anthropic Messages (/v1/messages) and
Databricks workspace (/api/2.0/serving-endpoints, /serving-endpoints/.../
invocations, /oidc/v1/token) wire formats. Replies echo the prompt; markers
such as [[status:503]], [[sleep:2]] or [[echo_headers:400]] inside the prompt inject faults, and
[[barrier:NAME:N]] holds a request until N requests carrying it are in flight together.
A request with "stream": true is answered as Server-Sent Events, one word of the reply per event (OpenAI
chunks, or Anthropic's message events on /v1/messages); [[token_ms:N]] waits N ms before each word and
[[stream_cut:K]] drops the connection after K words, [[stream_chars]] sends a character per event, and
[[hold_after:K:NAME]] stops after K words until GET /_release/NAME (at most 300 s: a test on a busy machine may
get its turn late).

Usage: python3 mock_llm_server.py [--port 0] [--host 127.0.0.1] [--latency-ms N] [--max-batch N]
Prints "PORT <n>" as the first stdout line once it is listening.
--latency-ms (env MOCK_LATENCY_MS) delays every model request by N ms, as a remote model would;
--max-batch (env MOCK_MAX_BATCH) answers embeddings requests with more than N inputs with HTTP 413.
GET /_stats reports model requests, their peak concurrency and embedding inputs; POST /_reset clears it.
"""
import argparse
import base64
import json
import os
import re
import signal
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote

CREATED = 1700000000  # fixed timestamp so responses are byte-for-byte deterministic


def embedding_of(text):
    """Deterministic 8-dim embedding so tests can assert exact vectors.

    Component i is (sum_j (j+1)*(i+1)*byte_j mod 1000)/1000 - 0.5; the (i+1) factor is pulled out of the sum
    (exact in integers) so million-row benchmarks do not spend their time here."""
    total = sum((j + 1) * byte for j, byte in enumerate(text.encode("utf-8")))
    return [(((i + 1) * total % 1000) / 1000.0) - 0.5 for i in range(8)]


def words(text):
    return len(text.split())


def text_of(content):
    """Message content is a string or a list of {"type":"text","text":...} blocks."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(b if isinstance(b, str) else str(b.get("text", ""))
                       for b in content if isinstance(b, str) or
                       (isinstance(b, dict) and b.get("type") == "text"))
    return ""


def last_user_prompt(body):
    for msg in reversed(body.get("messages") or []):
        if isinstance(msg, dict) and msg.get("role") == "user":
            return text_of(msg.get("content"))
    return ""


def first_of(value):
    """prompt/input may be a string or a list; the first element is what counts."""
    if isinstance(value, list):
        value = value[0] if value else ""
    return value if isinstance(value, str) else json.dumps(value)


def endpoint_kind(name):
    """Databricks endpoint task is derived from the name prefix; None = does not exist."""
    for prefix, kind in (("chat-", "chat"), ("complete-", "completions"),
                         ("embed-", "embeddings"), ("custom-", "custom")):
        if name.startswith(prefix):
            return kind
    return None


TASKS = {"chat": "llm/v1/chat", "completions": "llm/v1/completions", "embeddings": "llm/v1/embeddings"}
REQUIRED = {"chat": "messages", "completions": "prompt", "embeddings": "input"}
DBX_CODES = {429: "REQUEST_LIMIT_EXCEEDED", 400: "BAD_REQUEST", 403: "PERMISSION_DENIED"}


class State:
    """Shared across handler threads, so every mutation goes through the lock."""
    lock = threading.Lock()
    requests = []        # recorded requests, arrival order (for GET /_requests)
    fail_counts = {}     # [[fail_first:K:N]] marker string -> times seen
    issued_tokens = set()
    barriers = {}        # [[barrier:NAME:N]] -> threading.Barrier
    holds = {}           # [[hold_after:K:NAME]] -> threading.Event set by GET /_release/NAME
    token_counter = 0
    # GET /_stats: model requests only (not control routes, token or endpoint-description calls)
    model_requests = 0
    in_flight = 0
    max_concurrent = 0
    inputs = 0           # embedding inputs received, batched or not


class Config:
    """Set once from the command line / environment before serving."""
    latency = 0.0        # seconds every model request waits before it is answered
    max_batch = None     # embeddings requests with more inputs than this get HTTP 413


STATE = State


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive; hence every response needs Content-Length
    server_version = "MockLLM/1.0"
    # Headers and body go out in separate writes: without TCP_NODELAY, Nagle + delayed ACK add ~40 ms a request.
    disable_nagle_algorithm = True

    def log_message(self, fmt, *args):  # keep test output clean
        pass

    # ---------- plumbing ----------
    def read_body(self):
        # Always consume the whole body, even for errors, or keep-alive desyncs.
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            data = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # skip trailers
                    return data
                data += self.rfile.read(size)
                self.rfile.readline()  # CRLF after each chunk
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def send(self, status, body, content_type="application/json", headers=()):
        data = body if isinstance(body, bytes) else json.dumps(body).encode("utf-8")
        if isinstance(body, dict) and "usage" in body and getattr(self, "record", None) is not None:
            with STATE.lock:  # GET /_requests shows the usage each answer reported (the TPM benchmark sums it)
                self.record["usage"] = body["usage"]
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        chunked = getattr(self, "chunked", False)
        self.send_header(*(("Transfer-Encoding", "chunked") if chunked else ("Content-Length", str(len(data)))))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        if chunked:  # [[chunked]]: the body in two chunks, as streaming proxies send it
            half = len(data) // 2
            for part in (data[:half], data[half:], b""):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
        else:
            self.wfile.write(data)

    def error(self, flavor, status, message, code=None):
        """Error body in the wire format of the route family."""
        if flavor == "openai":
            body = {"error": {"message": message, "type": "server_error", "code": None}}
        elif flavor == "anthropic":
            kind = code or ("overloaded_error" if status == 529 else "api_error")
            body = {"type": "error", "error": {"type": kind, "message": message}}
        else:
            if code is None:
                code = DBX_CODES.get(status, "INTERNAL_ERROR" if status >= 500 else "ERROR")
            body = {"error_code": code, "message": message}
        # Retry-After lets clients exercise their back-off path quickly; [[retry_after_ms:N]] makes it shorter and
        # [[retry_after:VALUE]] sends any value (inf, 1e19, an HTTP date) as it is.
        headers = []
        if status in (429, 503):
            ms = getattr(self, "retry_after_ms", None)
            raw = getattr(self, "retry_after_raw", None)
            if raw is not None:
                headers = [("Retry-After", raw)]
            else:
                headers = [("retry-after-ms", ms)] if ms is not None else [("Retry-After", "1")]
        self.send(status, body, headers=headers)

    def dispatch(self):
        self.chunked = False
        try:
            raw = self.read_body()
        except ValueError:  # bad Content-Length / chunk size: the stream is unusable
            self.close_connection = True
            return self.send(400, {"error_code": "MALFORMED_REQUEST", "message": "Bad request framing"})
        try:
            self.route(self.command, self.path.split("?", 1)[0], raw)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # client gave up (e.g. timed out during [[sleep]])

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = dispatch

    # ---------- routing ----------
    def route(self, method, path, raw):
        if path.startswith("/_"):
            return self.introspect(method, path)
        text = raw.decode("utf-8", "replace")
        try:
            parsed = json.loads(text)
        except ValueError:
            parsed = None
        self.record = {
            "method": method, "path": self.path, "t": time.monotonic(), "peer_port": self.client_address[1],
            "headers": {k.lower(): v for k, v in self.headers.items()},
            "body": parsed if parsed is not None else text}
        with STATE.lock:
            STATE.requests.append(self.record)

        m = re.fullmatch(r"/api/2\.0/serving-endpoints/([^/]+)", path)
        if method == "GET" and m:
            return self.describe_endpoint(unquote(m.group(1)))
        m = re.fullmatch(r"/serving-endpoints/([^/]+)/invocations", path)
        if method == "POST" and m:
            return self.model(self.invoke, unquote(m.group(1)), parsed)
        if method == "POST" and path == "/oidc/v1/token":
            return self.oidc_token(text)
        if method == "POST" and path == "/v1/messages":
            return self.model(self.anthropic, parsed)
        openai = {"/v1/chat/completions": "chat", "/v1/completions": "completions",
                  "/v1/embeddings": "embeddings"}
        if method == "POST" and path in openai:
            return self.model(self.openai, openai[path], parsed)
        self.error("databricks", 404, f"No route for {method} {path}", "ENDPOINT_NOT_FOUND")

    def model(self, handler, *args):
        """Runs one model request: counted for /_stats, in flight for its whole duration, delayed by --latency-ms."""
        with STATE.lock:
            STATE.model_requests += 1
            STATE.in_flight += 1
            STATE.max_concurrent = max(STATE.max_concurrent, STATE.in_flight)
        try:
            if Config.latency:
                time.sleep(Config.latency)
            return handler(*args)
        finally:
            with STATE.lock:
                STATE.in_flight -= 1

    def openai(self, kind, parsed):
        if not self.bearer_ok():
            return self.send(401, {"error": {"message": "Incorrect API key provided",
                                             "type": "invalid_request_error",
                                             "code": "invalid_api_key"}})
        if not isinstance(parsed, dict):
            return self.malformed()
        return self.llm(kind, parsed, "openai")

    def malformed(self):
        self.error("databricks", 400, "Request body is not valid JSON", "MALFORMED_REQUEST")

    def introspect(self, method, path):
        if method == "GET" and path == "/_requests":
            with STATE.lock:
                return self.send(200, list(STATE.requests))
        if method == "POST" and path == "/_reset":
            with STATE.lock:
                STATE.requests.clear()
                STATE.fail_counts.clear()
                STATE.model_requests = STATE.inputs = 0
                STATE.max_concurrent = STATE.in_flight  # requests still in flight stay counted as running
            return self.send(200, {"ok": True})
        if method == "GET" and path == "/_stats":
            with STATE.lock:
                return self.send(200, {"requests": STATE.model_requests, "in_flight": STATE.in_flight,
                                       "max_concurrent": STATE.max_concurrent, "inputs": STATE.inputs})
        m = re.fullmatch(r"/_release/([\w-]+)", path)
        if m:  # lets a stream held by [[hold_after:K:NAME]] go on
            self.held(m.group(1)).set()
            return self.send(200, {"released": m.group(1)})
        if method == "GET" and path == "/_health":
            return self.send(200, {"ok": True})
        self.error("databricks", 404, f"No route for {method} {path}", "ENDPOINT_NOT_FOUND")

    def bearer_ok(self):
        token = os.environ.get("MOCK_TOKEN")
        if not token:
            return True
        auth = self.headers.get("Authorization", "")
        if not auth.startswith("Bearer "):
            return False
        given = auth[len("Bearer "):].strip()
        with STATE.lock:
            return given == token or given in STATE.issued_tokens

    # ---------- Databricks ----------
    def dbx_endpoint(self, name):
        """Auth first (as the real workspace does), then existence; None = error already sent."""
        if not self.bearer_ok():
            return self.error("databricks", 401, "Invalid access token.", "UNAUTHENTICATED")
        kind = endpoint_kind(name)
        if kind is None:
            self.error("databricks", 404, f"Endpoint with name '{name}' does not exist.",
                       "RESOURCE_DOES_NOT_EXIST")
        return kind

    def describe_endpoint(self, name):
        kind = self.dbx_endpoint(name)
        if kind is None:
            return
        body = {"name": name, "endpoint_type": "FOUNDATION_MODEL_API",
                "state": {"ready": "READY", "config_update": "NOT_UPDATING"}}
        if kind == "custom":
            body["endpoint_type"] = "CUSTOM_MODEL"
        else:
            body["task"] = TASKS[kind]
        self.send(200, body)

    def invoke(self, name, body):
        kind = self.dbx_endpoint(name)
        if kind is None:
            return
        if body is None or (kind != "custom" and not isinstance(body, dict)):
            return self.malformed()
        if kind == "custom":
            if self.faults(json.dumps(body), "databricks", kind):
                return
            preds = body
            if isinstance(body, dict):
                preds = body["inputs"] if "inputs" in body else body.get("dataframe_records", body)
            return self.send(200, {"predictions": preds})
        if REQUIRED[kind] not in body:
            return self.error("databricks", 400, f"Missing required field: {REQUIRED[kind]}",
                              "BAD_REQUEST")
        self.llm(kind, body, "databricks")

    def oidc_token(self, text):
        form = dict(p.split("=", 1) for p in text.split("&") if "=" in p)
        if unquote(form.get("grant_type", "")) != "client_credentials":
            return self.send(400, {"error": "unsupported_grant_type",
                                   "error_description": "grant_type must be client_credentials"})
        expected = (os.environ.get("MOCK_CLIENT_ID", "test-client"),
                    os.environ.get("MOCK_CLIENT_SECRET", "test-secret"))
        auth = self.headers.get("Authorization", "")
        try:
            user, _, pw = base64.b64decode(auth[len("Basic "):]).decode().partition(":")
            ok = auth.startswith("Basic ") and (user, pw) == expected
        except ValueError:
            ok = False
        if not ok:
            return self.send(401, {"error": "invalid_client",
                                   "error_description": "Client authentication failed"})
        with STATE.lock:
            STATE.token_counter += 1
            token = f"oauth-token-{STATE.token_counter}"
            STATE.issued_tokens.add(token)
        self.send(200, {"access_token": token, "token_type": "Bearer",
                        "expires_in": 3600, "scope": "all-apis"})

    # ---------- Anthropic ----------
    def anthropic(self, body):
        key = self.headers.get("x-api-key", "")
        if not key or not self.headers.get("anthropic-version"):
            return self.error("anthropic", 401, "x-api-key header is required", "authentication_error")
        token = os.environ.get("MOCK_TOKEN")
        if token and key != token:
            return self.error("anthropic", 401, "invalid x-api-key", "authentication_error")
        if not isinstance(body, dict):
            return self.malformed()
        if "max_tokens" not in body:
            return self.error("anthropic", 400, "max_tokens: Field required", "invalid_request_error")
        prompt = last_user_prompt(body)
        if self.faults(prompt, "anthropic", "anthropic"):
            return
        reply = self.reply_text(prompt)
        if body.get("stream") is True:
            return self.stream_anthropic(body, prompt, reply)
        self.send(200, {"id": "msg_mock", "type": "message", "role": "assistant",
                        "model": body.get("model"), "content": [{"type": "text", "text": reply}],
                        "stop_reason": "end_turn",
                        "usage": {"input_tokens": words(prompt), "output_tokens": words(reply)}})

    # ---------- OpenAI-shaped (also Databricks chat/completions/embeddings) ----------
    def llm(self, kind, body, flavor):
        model = body.get("model")
        if kind == "embeddings":
            raw = body.get("input")
            inputs = [first_of(x) for x in raw] if isinstance(raw, list) else [first_of(raw)]
            with STATE.lock:
                STATE.inputs += len(inputs)
            if Config.max_batch is not None and len(inputs) > Config.max_batch:
                return self.send(413, {"error": {
                    "message": f"batch too large: {len(inputs)} inputs, at most {Config.max_batch}",
                    "type": "invalid_request_error"}})
            # A marker on any input applies to the whole request, as a real server refuses a batch for one bad input.
            marked = next((s for s in inputs if "[[" in s), inputs[0] if inputs else "")
            if self.faults(marked, flavor, kind):
                return
            b64 = body.get("encoding_format") == "base64"

            def vector(s):  # [[dims:N]] on one input: a vector of another length, as a broken server might send
                m = re.search(r"\[\[dims:(\d+)\]\]", s)
                return (embedding_of(s) * 64)[:int(m.group(1))] if m else embedding_of(s)
            data = [{"object": "embedding", "index": i,
                     "embedding": base64.b64encode(struct.pack(f"<{len(vector(s))}f", *vector(s))).decode()
                     if b64 else vector(s)} for i, s in enumerate(inputs)]
            n = sum(words(s) for s in inputs)
            return self.send(200, {"object": "list", "data": data, "model": model,
                                   "usage": {"prompt_tokens": n, "total_tokens": n}})
        prompt = last_user_prompt(body) if kind == "chat" else first_of(body.get("prompt", ""))
        if self.faults(prompt, flavor, kind):
            return
        reply = self.reply_text(prompt)
        if kind == "completions":
            choice = {"index": 0, "text": reply, "finish_reason": "stop"}
            head = {"id": "cmpl-mock", "object": "text_completion"}
        else:
            fmt = body.get("response_format")
            if (isinstance(fmt, dict) and fmt.get("type") in ("json_object", "json_schema")
                    and "[[reply:" not in prompt):
                reply = json.dumps({"echo": prompt})
            content = reply
            if "[[list_content]]" in prompt:
                content = [{"type": "reasoning", "summary": [{"type": "summary_text", "text": "thinking"}]},
                           {"type": "text", "text": "part one, "}, {"type": "text", "text": "part two"}]
                reply = "part one, part two"
            choice = {"index": 0, "message": {"role": "assistant", "content": content},
                      "finish_reason": "stop"}
            head = {"id": "chatcmpl-mock", "object": "chat.completion"}
        p, c = words(prompt), words(reply)
        m = re.search(r"\[\[usage:(\d+)\]\]", prompt)  # an upstream that reports absurd token counts
        if m:
            p = c = int(m.group(1))
        headers = ()
        m = re.search(r"\[\[big_header:(\d+)\]\]", prompt)  # one response header of N bytes
        if m:
            headers = [("X-Padding", "x" * int(m.group(1)))]
        if body.get("stream") is True:
            options = body.get("stream_options") if isinstance(body.get("stream_options"), dict) else {}
            usage = {"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c}
            return self.stream_openai(kind, head, model, prompt, reply, usage if options.get("include_usage") is True or flavor == "databricks" else None)
        n = body.get("n") if isinstance(body.get("n"), int) and 1 <= body.get("n") <= 8 else 1
        choices = [dict(choice, index=i) for i in range(n)]
        self.send(200, dict(head, created=CREATED, model=model, choices=choices,
                            usage={"prompt_tokens": p, "completion_tokens": c * n, "total_tokens": p + c * n}), headers=headers)

    # ---------- streamed answers ----------
    def start_events(self):
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.wfile.flush()

    def event(self, data, name=None):
        text = (f"event: {name}\n" if name else "") + "data: " + (data if isinstance(data, str) else json.dumps(data)) + "\n\n"
        raw = text.encode("utf-8")
        try:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(raw), raw))
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            with STATE.lock:  # GET /_requests shows that the client went away mid-stream
                self.record["aborted"] = True
            raise

    @staticmethod
    def held(name):
        with STATE.lock:
            return STATE.holds.setdefault(name, threading.Event())

    def words_of(self, prompt, reply):
        """The reply's words (each with the space after it), paced by [[token_ms:N]]; None once [[stream_cut:K]]
        has dropped the connection."""
        m = re.search(r"\[\[token_ms:(\d+)\]\]", prompt)
        pause = int(m.group(1)) / 1000.0 if m else 0.0
        m = re.search(r"\[\[stream_cut:(\d+)\]\]", prompt)
        cut = int(m.group(1)) if m else None
        m = re.search(r"\[\[hold_after:(\d+):([\w-]+)\]\]", prompt)
        hold = (int(m.group(1)), m.group(2)) if m else None
        pieces = list(reply) if "[[stream_chars]]" in prompt else re.findall(r"\s*\S+\s*", reply) or [reply]
        for count, word in enumerate(pieces):
            if cut is not None and count == cut:
                self.close_connection = True
                self.connection.shutdown(2)
                return
            if hold is not None and count == hold[0]:
                self.held(hold[1]).wait(300)
            if pause:
                time.sleep(pause)
            yield word

    def stream_openai(self, kind, head, model, prompt, reply, usage):
        chunk = dict(head, object="text_completion" if kind == "completions" else "chat.completion.chunk",
                     created=CREATED, model=model)
        self.start_events()
        for position, word in enumerate(self.words_of(prompt, reply)):
            if kind == "completions":
                choice = {"index": 0, "text": word, "finish_reason": None}
            else:
                delta = {"role": "assistant", "content": word} if position == 0 else {"content": word}
                choice = {"index": 0, "delta": delta, "finish_reason": None}
            self.event(dict(chunk, choices=[choice]))
        if self.close_connection:
            return
        last = {"index": 0, "text": "", "finish_reason": "stop"} if kind == "completions" else \
            {"index": 0, "delta": {}, "finish_reason": "stop"}
        self.event(dict(chunk, choices=[last]))
        if usage is not None:
            self.record["usage"] = usage
            self.event(dict(chunk, choices=[], usage=usage))
        self.event("[DONE]")
        self.wfile.write(b"0\r\n\r\n")

    def stream_anthropic(self, body, prompt, reply):
        self.start_events()
        usage = {"input_tokens": words(prompt), "output_tokens": words(reply)}
        self.event({"type": "message_start", "message": {
            "id": "msg_mock", "type": "message", "role": "assistant", "model": body.get("model"), "content": [],
            "stop_reason": None, "usage": {"input_tokens": usage["input_tokens"], "output_tokens": 1}}}, "message_start")
        self.event({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
                   "content_block_start")
        self.event({"type": "ping"}, "ping")
        for word in self.words_of(prompt, reply):
            self.event({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": word}},
                       "content_block_delta")
        if self.close_connection:
            return
        self.event({"type": "content_block_stop", "index": 0}, "content_block_stop")
        self.event({"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                    "usage": {"output_tokens": usage["output_tokens"]}}, "message_delta")
        self.event({"type": "message_stop"}, "message_stop")
        self.record["usage"] = usage
        self.wfile.write(b"0\r\n\r\n")

    @staticmethod
    def reply_text(prompt):
        m = re.search(r"\[\[reply:(.*?)\]\]", prompt, re.S)  # TEXT runs to the first "]]"
        if m:
            return m.group(1)
        # MOCK_REPLIES: a JSON object of prompt text -> reply, for prompts that cannot carry a marker (the README's)
        for text, reply in json.loads(os.environ.get("MOCK_REPLIES") or "{}").items():
            if text in prompt:
                return reply
        return "echo: " + prompt

    # ---------- fault injection ----------
    def faults(self, prompt, flavor, kind):
        """Apply prompt markers; return True if a response (or deliberate non-response) was sent."""
        m = re.search(r"\[\[retry_after_ms:([^\]]+)\]\]", prompt)
        self.retry_after_ms = m.group(1) if m else None
        m = re.search(r"\[\[retry_after:([^\]]+)\]\]", prompt)
        self.retry_after_raw = m.group(1) if m else None
        # [[first:K:inner]] applies [[inner]] (drop, garbage, truncated, sleep=S, status=N) to the first K requests
        # carrying that exact marker, then lets later ones through: a fault that heals, for retry tests.
        # An optional trailing ":tag" makes the marker (and so its count) unique per row.
        for marker, k, inner in re.findall(r"(\[\[first:(\d+):([a-z0-9=.]+)(?::[\w-]+)?\]\])", prompt):
            with STATE.lock:
                STATE.fail_counts[marker] = STATE.fail_counts.get(marker, 0) + 1
                active = STATE.fail_counts[marker] <= int(k)
            if active:
                prompt = prompt + "[[" + inner.replace("=", ":") + "]]"
        m = re.search(r"\[\[barrier:([\w-]+):(\d+)\]\]", prompt)
        if m:  # wait until N requests carrying this barrier are in flight at once (at most 60 s, then HTTP 500)
            with STATE.lock:
                barrier = STATE.barriers.setdefault(m.group(1), threading.Barrier(int(m.group(2)), timeout=60))
            try:
                barrier.wait()
            except threading.BrokenBarrierError:
                self.error(flavor, 500, f"barrier {m.group(1)}: fewer than {m.group(2)} requests came at once")
                return True
        m = re.search(r"\[\[sleep:([0-9]*\.?[0-9]+)\]\]", prompt)
        if m:
            time.sleep(float(m.group(1)))  # then carry on: other markers still apply
        # [[then_close]]: answer as usual, then close the connection without saying so (as a server closing an
        # idle keep-alive connection does); [[chunked]]: the answer in chunked transfer encoding.
        self.close_connection = self.close_connection or "[[then_close]]" in prompt
        self.chunked = "[[chunked]]" in prompt
        if "[[drop]]" in prompt:
            self.close_connection = True  # no bytes at all; the server closes the socket
            return True
        if "[[truncated]]" in prompt:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "1000")  # promise more than we send
            self.end_headers()
            self.wfile.write(b'{"choices": [')
            self.close_connection = True
            return True
        if "[[garbage]]" in prompt:
            self.send(200, b"<html>upstream proxy error</html>", "text/html")
            return True
        m = re.search(r"\[\[echo_headers:(\d{3})(?::(json|html|text|nochoices))?\]\]", prompt)
        if m:  # a careless upstream that quotes the request's headers (keys included) back
            status, shape = int(m.group(1)), m.group(2) or "json"
            quoted = json.dumps(dict(self.headers))
            if shape == "json":
                self.error(flavor, status, "rejected request with headers " + quoted)
            elif shape == "html":
                self.send(status, f"<html><body><h1>{status} Bad Gateway</h1><pre>{quoted}</pre></body></html>".encode(), "text/html")
            elif shape == "text":
                self.send(status, ("request was: " + quoted).encode(), "text/plain")
            else:
                self.send(status, {"object": "chat.completion", "debug": {"request_headers": dict(self.headers)}})
            return True
        status = None
        m = re.search(r"\[\[status:(\d{3})\]\]", prompt)
        if m:
            status = int(m.group(1))
        for marker, k, n in re.findall(r"(\[\[fail_first:(\d+):(\d{3})\]\])", prompt):
            with STATE.lock:
                STATE.fail_counts[marker] = STATE.fail_counts.get(marker, 0) + 1
                failing = STATE.fail_counts[marker] <= int(k)
            if failing and status is None:
                status = int(n)
        if status is not None:
            self.error(flavor, status, f"mock failure {status}")
            return True
        if "[[empty_choices]]" in prompt and kind in ("chat", "completions", "embeddings"):
            self.send(200, {"data": []} if kind == "embeddings" else {"choices": []})
            return True
        return False


class Server(ThreadingHTTPServer):
    daemon_threads = True  # a hung client must never block shutdown
    allow_reuse_address = True
    # listen() backlog; the default 5 drops SYNs when many clients connect at once (each retried after ~1 s).
    # One thread per connection then serves it for as long as it is kept alive.
    request_queue_size = 1024

    def handle_error(self, request, client_address):
        # Clients that hang up mid-answer (Ctrl-C tests, timeouts) are expected: no traceback for those.
        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)


def main():
    ap = argparse.ArgumentParser(description="Mock LLM server for ai_query tests")
    ap.add_argument("--port", type=int, default=0, help="0 = pick an ephemeral port")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--latency-ms", type=float, default=float(os.environ.get("MOCK_LATENCY_MS") or 0),
                    help="delay every model request by this many milliseconds (env MOCK_LATENCY_MS)")
    ap.add_argument("--max-batch", type=int,
                    default=int(os.environ["MOCK_MAX_BATCH"]) if os.environ.get("MOCK_MAX_BATCH") else None,
                    help="answer embeddings requests with more inputs than this with HTTP 413 (env MOCK_MAX_BATCH)")
    args = ap.parse_args()
    Config.latency = args.latency_ms / 1000.0
    Config.max_batch = args.max_batch
    # SystemExit unwinds serve_forever() in the main thread -> clean exit code 0.
    # Installed before "PORT" is printed so an immediate SIGTERM is still clean.
    # os._exit, not sys.exit: server_close() would join handler threads still parked on keep-alive sockets.
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    signal.signal(signal.SIGINT, lambda *_: os._exit(0))
    server = Server((args.host, args.port), Handler)
    # Tests read this line to learn the port, so it must be first and flushed.
    print(f"PORT {server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
