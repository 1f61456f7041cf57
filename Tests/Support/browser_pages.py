#!/usr/bin/env python3
"""`aiquery serve`'s pages (Endpoints `/`, Playground `/playground`, Usage `/usage`) in a real headless Chromium,
driven with Selenium (scripts/browser-venv makes the venv; Tests/AIQueryTests/BrowserTests.swift runs this).

The server, the loopback mock upstream (Tests/Support/mock_llm_server.py) and the call log are started by the
caller and named on the command line; endpoints the scenarios use (in the server's endpoints YAML):
  chat-a (chat, with a price), chat-b (chat), complete-a (completions), embed-a (embeddings), all on the mock;
  down (chat, an upstream port that refuses connections, max_retries 0); once (chat, limit 1 call a minute).

Usage: browser_pages.py --server URL --token TOKEN --mock URL [--call-log PATH] [--open-server URL]
                        [--screenshots DIR] [--deadline SECONDS] GROUP...
GROUPs: pages endpoints playground errors auth usage (none named: all of them; `auth` needs --open-server, a
second server run with --no-auth-on-loopback). Every value may come from the environment instead:
AIQUERY_BROWSER_SERVER, _TOKEN, _MOCK, _CALL_LOG, _OPEN_SERVER, _SCREENSHOTS, _DEADLINE.

Prints one JSON line per case: {"case": "group/name", "ok": true|false, "detail": "what was seen"}. Every wait
is on a DOM (or HTTP) condition with a deadline, never a sleep; a failed case saves fail-<case>.png beside the
screenshots and its detail says what the page showed.
"""
import argparse
import json
import os
import re
import sqlite3
import subprocess
import sys
import time
import traceback
import urllib.error
import urllib.request
import uuid

# Selenium Manager must never go online: the driver and the browser are given explicitly below.
os.environ["SE_OFFLINE"] = "true"
os.environ["SE_AVOID_STATS"] = "true"

from selenium import webdriver  # noqa: E402
from selenium.common.exceptions import (NoSuchElementException, StaleElementReferenceException,  # noqa: E402
                                        TimeoutException, WebDriverException)
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402

CHROMIUM = os.environ.get("AIQUERY_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("AIQUERY_CHROMEDRIVER", "/usr/bin/chromedriver")
GROUPS = ["pages", "endpoints", "playground", "errors", "auth", "usage"]


def parse_arguments():
    env = lambda name, default=None: os.environ.get("AIQUERY_BROWSER_" + name, default)  # noqa: E731
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--server", default=env("SERVER"), help="the server's URL, e.g. http://127.0.0.1:8080")
    parser.add_argument("--token", default=env("TOKEN"), help="its API token")
    parser.add_argument("--mock", default=env("MOCK"), help="the mock upstream's URL (GET /_stats, /_release/NAME)")
    parser.add_argument("--call-log", default=env("CALL_LOG"), help="the server's call log (AIQUERY_CALL_LOG)")
    parser.add_argument("--open-server", default=env("OPEN_SERVER"), help="a server run with --no-auth-on-loopback")
    parser.add_argument("--screenshots", default=env("SCREENSHOTS"), help="folder for the pages' PNG screenshots")
    parser.add_argument("--deadline", type=float, default=float(env("DEADLINE", "30")), help="seconds per wait")
    parser.add_argument("groups", nargs="*", help=" ".join(GROUPS))
    args = parser.parse_args()
    for name in ("server", "token", "mock"):
        if not getattr(args, name):
            parser.error(f"--{name} is required")
    args.server = args.server.rstrip("/")
    args.mock = args.mock.rstrip("/")
    unknown = set(args.groups) - set(GROUPS)
    if unknown:
        parser.error(f"unknown groups {sorted(unknown)}; known: {GROUPS}")
    return args


ARGS = None


# ---------- HTTP, outside the browser ----------

def http(method, url, body=None, token=None, timeout=60):
    """(status, headers, parsed JSON or text) of one request."""
    data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    request = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, headers, raw = response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        status, headers, raw = error.code, dict(error.headers), error.read()
    text = raw.decode("utf-8", "replace")
    try:
        return status, {k.lower(): v for k, v in headers.items()}, json.loads(text)
    except ValueError:
        return status, {k.lower(): v for k, v in headers.items()}, text


def invoke(endpoint, body):
    return http("POST", f"{ARGS.server}/serving-endpoints/{endpoint}/invocations", body, ARGS.token)


def mock_requests():
    """Model requests the mock upstream has answered so far."""
    return http("GET", ARGS.mock + "/_stats")[2]["requests"]


def release(name):
    http("GET", f"{ARGS.mock}/_release/{name}")


def wait_for(condition, what, deadline=None):
    """Polls `condition` (outside the browser) until it returns a true value, at most the deadline."""
    end = time.monotonic() + (deadline or ARGS.deadline)
    last = None
    while True:
        last = condition()
        if last:
            return last
        if time.monotonic() > end:
            raise AssertionError(f"{what}: not within {deadline or ARGS.deadline:.0f} s (last: {last!r})")
        time.sleep(0.05)  # a polling interval, not a timing assumption


def unique(word):
    return f"{word} {uuid.uuid4().hex[:10]}"


def run_bash(script, token):
    """Runs a snippet copied from a page, as a user pastes it into a shell."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/tmp"),
           "DATABRICKS_TOKEN": token}
    done = subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise AssertionError(f"the snippet exited {done.returncode}: {done.stderr.strip()[:500]}\n{script}")
    return done.stdout


def answer_of(output):
    """The answer text in what a snippet printed: an OpenAI-shaped JSON answer or a Server-Sent Events stream."""
    output = output.strip()
    if output.startswith("data:") or "\ndata:" in output:
        text = ""
        for line in output.splitlines():
            if not line.startswith("data:") or line[5:].strip() == "[DONE]":
                continue
            choice = (json.loads(line[5:]).get("choices") or [{}])[0]
            text += (choice.get("delta") or {}).get("content") or choice.get("text") or ""
        return text
    answer = json.loads(output)
    choice = answer["choices"][0]
    return choice["message"]["content"] if "message" in choice else choice["text"]


# ---------- the browser ----------

class Browser:
    """One headless Chromium session (one tab), with the page's console kept."""

    def __init__(self):
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1366,900",
                         "--disable-dev-shm-usage", "--no-first-run", "--no-default-browser-check",
                         "--disable-background-networking", "--disable-component-update", "--disable-sync"):
            options.add_argument(argument)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        self.driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
        self.driver.set_page_load_timeout(max(60, ARGS.deadline * 2))
        self.console = []  # every console entry read so far

    def quit(self):
        try:
            self.driver.quit()
        except WebDriverException:
            pass

    # -- waiting --
    def until(self, condition, what, deadline=None):
        """Waits (deadline) for condition(driver) to be true; raises with `what` and the page's state if not."""
        try:
            return WebDriverWait(self.driver, deadline or ARGS.deadline, poll_frequency=0.05,
                                 ignored_exceptions=(NoSuchElementException, StaleElementReferenceException)).until(condition)
        except TimeoutException:
            raise AssertionError(f"{what}: not within {deadline or ARGS.deadline:.0f} s; {self.state()}") from None

    def ready(self, what="the page's readiness marker body[data-ready=\"1\"]"):
        self.until(lambda d: d.execute_script("return document.body && document.body.dataset.ready === '1'"), what)

    def open(self, path, ready=True):
        self.driver.get(ARGS.server + path if path.startswith("/") else path)
        if ready:
            self.ready(f"{path}: body[data-ready=\"1\"]")

    def set_token(self):
        """The token where the token prompt stores it (this tab's sessionStorage), put there before every page of
        this session runs its scripts: the first page this browser opens is then the page under test (a fresh
        browser's first load is the one that shows, e.g., a missing favicon)."""
        self.driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": (
            f"if (location.origin === {json.dumps(ARGS.server)}) "
            f"sessionStorage.setItem('aiquery-token', {json.dumps(ARGS.token)});")})

    # -- reading --
    def find(self, selector, root=None):
        return (root or self.driver).find_element(By.CSS_SELECTOR, selector)

    def all(self, selector, root=None):
        return (root or self.driver).find_elements(By.CSS_SELECTOR, selector)

    def text(self, selector, root=None):
        """textContent (whitespace folded), "" when absent."""
        found = self.all(selector, root)
        return " ".join((found[0].get_attribute("textContent") or "").split()) if found else ""

    def shown(self, selector, root=None):
        found = self.all(selector, root)
        return bool(found) and found[0].is_displayed()

    def shown_text(self, selector, root=None):
        """The element's text when it is displayed, else ""."""
        return self.text(selector, root) if self.shown(selector, root) else ""

    def logs(self):
        """Console entries since the last call (kept in self.console too)."""
        try:
            entries = self.driver.get_log("browser")
        except WebDriverException:
            entries = []
        self.console += entries
        return entries

    def state(self):
        """What the page shows, for a failure's detail."""
        parts = []
        try:
            parts.append(f"url {self.driver.current_url}")
            parts.append("ready=" + repr(self.driver.execute_script("return document.body && document.body.dataset.ready")))
            for selector in ("#page-error", "#query-status", "#query-error", "#query-cache", "#query-text",
                             "#query-embedding", "#token-dialog", ".pane-error", "#summary"):
                if self.all(selector) and (self.shown(selector) or selector.startswith("#query-")):
                    value = self.text(selector)
                    if value:
                        parts.append(f"{selector}{'' if self.shown(selector) else ' (hidden)'}: {value[:300]!r}")
            severe = [e["message"][:300] for e in self.logs() if e.get("level") == "SEVERE"]
            if severe:
                parts.append(f"console errors: {severe}")
        except WebDriverException as error:
            parts.append(f"(page state unreadable: {error.msg})")
        return "; ".join(parts)

    # -- acting --
    def click(self, selector, root=None):
        element = self.find(selector, root)
        self.driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", element)
        element.click()

    def type_into(self, selector, text, root=None):
        """Replaces a field's text by typing, as a user does (select all, then type)."""
        element = self.find(selector, root)
        element.click()
        element.send_keys(Keys.CONTROL, "a")
        element.send_keys(Keys.DELETE)
        element.send_keys(text)
        value = element.get_attribute("value")
        if value != text:
            raise AssertionError(f"typing into {selector} left {value!r}, not {text!r}")

    def screenshot(self, name):
        if not ARGS.screenshots:
            return None
        os.makedirs(ARGS.screenshots, exist_ok=True)
        path = os.path.join(ARGS.screenshots, name + ".png")
        if not self.driver.save_screenshot(path):
            raise AssertionError(f"could not write {path}")
        return path


# ---------- cases ----------

RESULTS = []


class Group:
    """The cases of one group share a browser session; each case reports on its own."""

    def __init__(self, name):
        self.name = name
        self.browser = None

    def __enter__(self):
        self.browser = Browser()
        return self

    def __exit__(self, *exc):
        if self.browser:
            self.browser.quit()
        return False

    def case(self, name, function, *arguments):
        full = f"{self.name}/{name}"
        try:
            detail = function(*arguments)
            result = {"case": full, "ok": True, "detail": detail or ""}
        except Exception as error:  # a failing case is a result: the others still run
            if isinstance(error, AssertionError):
                detail = str(error)
            elif isinstance(error, WebDriverException):  # its message, without chromedriver's stack of addresses
                detail = f"{type(error).__name__}: {error.msg}"
            else:
                detail = f"{type(error).__name__}: {error}"
            if not isinstance(error, AssertionError):  # where, in this file
                frames = [f for f in traceback.extract_tb(error.__traceback__) if f.filename == __file__]
                detail += "\n" + "".join(traceback.format_list(frames))[-1500:]
            if self.browser and not isinstance(error, AssertionError):
                detail += "; " + self.browser.state()
            try:
                if self.browser and ARGS.screenshots:
                    self.browser.screenshot("fail-" + full.replace("/", "-"))
            except WebDriverException:
                pass
            result = {"case": full, "ok": False, "detail": detail}
        RESULTS.append(result)
        print(json.dumps(result), flush=True)
        return result["ok"]


def expect(condition, message):
    if not condition:
        raise AssertionError(message)


# ----- 1. every page loads, ready, with no console error and nothing from elsewhere -----

def page_loads(b, path, name):
    b.logs()  # forget what came before
    b.open(path)
    for link, href in (("#nav-endpoints", "/"), ("#nav-playground", "/playground"), ("#nav-usage", "/usage")):
        expect(b.all(link), f"{name}: no {link}")
        got = b.find(link).get_attribute("href")
        expect(got == ARGS.server + href, f"{name}: {link} goes to {got}, not {ARGS.server + href}")
    expect(not b.shown_text("#page-error"), f"{name}: #page-error shows {b.shown_text('#page-error')!r}")
    outside = b.driver.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name).filter(n => !n.startsWith(location.origin))")
    expect(not outside, f"{name}: fetched from elsewhere: {outside}")
    severe = [e["message"] for e in b.logs() if e.get("level") == "SEVERE"]
    expect(not severe, f"{name}: console errors: {severe}")
    files = b.driver.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    return f"ready; files {sorted(set(f.replace(ARGS.server, '') for f in files))}"


def group_pages():
    with Group("pages") as g:
        g.browser.set_token()
        g.case("endpoints", page_loads, g.browser, "/", "endpoints")
        g.case("playground", page_loads, g.browser, "/playground", "playground")
        g.case("usage", page_loads, g.browser, "/usage", "usage")


# ----- 2-4. the Endpoints page's query panel: each task, the cache, the code tabs -----

def query_body(b):
    raw = b.find("#query-body").get_attribute("value")
    try:
        return json.loads(raw)
    except ValueError:
        raise AssertionError(f"#query-body is not JSON: {raw!r}") from None


def show_example(b, task):
    b.click("#show-example")
    b.until(lambda d: (d.find_element(By.CSS_SELECTOR, "#query-body").get_attribute("value") or "").strip(),
            "#show-example fills #query-body")
    body = query_body(b)
    field = {"chat": "messages", "completions": "prompt", "embeddings": "input"}[task]
    expect(isinstance(body, dict) and field in body, f"the {task} example has no '{field}': {body}")
    return body


def expected_answer(task, body):
    """What the mock answers: "echo: " + the last user message (chat) or the (first) prompt (completions)."""
    if task == "chat":
        user = [m for m in body["messages"] if m.get("role") == "user"]
        content = user[-1]["content"]
        return "echo: " + (content if isinstance(content, str) else "".join(p.get("text", "") for p in content))
    prompt = body["prompt"]
    return "echo: " + (prompt[0] if isinstance(prompt, list) else prompt)


def send_and_wait(b, what):
    """Clicks #send-request; waits for a status (the panel's results are reset on a fresh page or checked by the
    caller)."""
    b.click("#send-request")
    b.until(lambda d: b.text("#query-status"), f"{what}: #query-status filled")
    return b.text("#query-status")


def query_endpoint(b, name, task, via_row):
    if via_row:
        b.open("/")
        row = f'.endpoint-row[data-endpoint="{name}"]'
        b.until(lambda d: b.all(row), f"the endpoints list has {row}")
        expect(task in b.text(row), f"{row} does not say its task {task}: {b.text(row)!r}")
        b.click(row + " .query-button")
    else:
        b.open(f"/?endpoint={name}")
    b.until(lambda d: b.shown("#query-panel") and b.text("#query-endpoint-name") == name,
            f"#query-panel open for {name}")
    body = show_example(b, task)
    send_and_wait(b, f"{name}")
    b.until(lambda d: "200" in b.text("#query-status"), f"{name}: #query-status says 200")
    status = b.text("#query-status")
    expect(not b.shown_text("#query-error"), f"{name}: #query-error shows {b.shown_text('#query-error')!r}")
    if task == "embeddings":
        b.until(lambda d: re.search(r"dimension 8\b", b.text("#query-embedding")),
                f"{name}: #query-embedding says 'dimension 8'")
        seen = b.text("#query-embedding")
    else:
        want = expected_answer(task, body)
        b.until(lambda d: b.text("#query-text") == " ".join(want.split()),
                f"{name}: #query-text is {want!r} (now {b.text('#query-text')!r})")
        seen = b.text("#query-text")
    b.until(lambda d: b.text("#query-cache") in ("hit", "miss"), f"{name}: #query-cache says hit or miss")
    latency, tokens = b.text("#query-latency"), b.text("#query-tokens")
    expect(re.fullmatch(r"[\d.,]+ m?s", latency), f"{name}: #query-latency is {latency!r}")
    expect(re.search(r"\d+ in", tokens), f"{name}: #query-tokens is {tokens!r}")
    expect(b.text("#query-response").startswith("{"), f"{name}: #query-response is {b.text('#query-response')[:80]!r}")
    return f"{status}; {seen!r}; cache {b.text('#query-cache')}; {latency}; {tokens}; cost {b.text('#query-cost')!r}"


def cache_hit_on_resend(b):
    b.open("/?endpoint=chat-a")
    prompt = unique("cache probe")
    b.type_into("#query-body", json.dumps({"messages": [{"role": "user", "content": prompt}], "max_tokens": 20}))
    send_and_wait(b, "first send")
    b.until(lambda d: b.text("#query-text") == "echo: " + prompt, "first send: the answer in #query-text")
    first = b.text("#query-cache")
    expect(first == "miss", f"the first send of a new body says #query-cache {first!r}, not 'miss'")
    before = mock_requests()
    b.click("#send-request")
    b.until(lambda d: b.text("#query-cache") == "hit", "the same body sent again: #query-cache says 'hit'")
    b.until(lambda d: b.text("#query-text") == "echo: " + prompt and "200" in b.text("#query-status"),
            "the hit shows 200 and the same answer")
    after = mock_requests()
    expect(after == before, f"the upstream was asked again: {before} -> {after} requests")
    return f"miss then hit; upstream requests {before} -> {after}; cost on the hit {b.text('#query-cost')!r}"


def curl_tab_runs(b):
    """pre#code-curl for the editor's current body (left by cache_hit_on_resend), run in bash."""
    shown_answer = b.text("#query-text")
    expect(shown_answer.startswith("echo: "), f"no answer shown to compare with: {shown_answer!r}")
    b.click("#tab-curl")
    b.until(lambda d: b.shown("pre#code-curl"), "#tab-curl shows pre#code-curl")
    for other in ("python", "sdk", "sql"):
        expect(b.all(f"pre#code-{other}"), f"pre#code-{other} is not in the DOM")
        expect(not b.shown(f"pre#code-{other}"), f"pre#code-{other} is shown beside the curl tab")
    snippet = b.find("pre#code-curl").get_attribute("textContent")
    expect(ARGS.token not in snippet, "the snippet prints the token itself")
    expect("$DATABRICKS_TOKEN" in snippet, f"the snippet does not read $DATABRICKS_TOKEN: {snippet}")
    answer = answer_of(run_bash(snippet, ARGS.token))
    expect(answer == shown_answer, f"the curl snippet answered {answer!r}, the page shows {shown_answer!r}")
    return f"ran {snippet.strip()[:200]!r} -> {answer!r}"


def paste_clipboard(b):
    """What the clipboard holds, pasted with Ctrl+V into a textarea the test adds to the page."""
    b.driver.execute_script(
        "const t = document.createElement('textarea'); t.id = 'test-paste'; t.style.position = 'fixed';"
        "t.style.top = '0'; t.style.left = '0'; t.style.zIndex = '2147483647';"
        "(document.querySelector('dialog[open]') || document.body).append(t)")  # a modal dialog makes the rest inert
    area = b.find("#test-paste")
    area.click()
    area.send_keys(Keys.CONTROL, "v")
    value = area.get_attribute("value")
    b.driver.execute_script("document.getElementById('test-paste').remove()")
    return value


def copy_button_copies(b, block):
    snippet = b.find(f"pre#{block}").get_attribute("textContent")
    b.click(f'button.copy-button[data-copy="{block}"]')
    pasted = paste_clipboard(b)
    expect(pasted.strip() == snippet.strip(), f"the copy button put {pasted[:200]!r} on the clipboard, "
                                              f"not pre#{block}'s {snippet[:200]!r}")
    return f"clipboard (pasted with Ctrl+V) == pre#{block} ({len(snippet)} characters)"


def group_endpoints():
    with Group("endpoints") as g:
        b = g.browser
        b.set_token()
        if g.case("chat", query_endpoint, b, "chat-a", "chat", True):
            g.case("screenshot", lambda: b.screenshot("endpoints"))
        g.case("completions", query_endpoint, b, "complete-a", "completions", False)
        g.case("embeddings", query_endpoint, b, "embed-a", "embeddings", False)
        if g.case("cache-hit", cache_hit_on_resend, b):
            g.case("curl-code-runs", curl_tab_runs, b)
            g.case("copy-button", copy_button_copies, b, "code-curl")


# ----- 5. the Playground: two panes, one held stream each, seen growing, then finished -----

def pane(b, index):
    return f'.pane[data-pane="{index}"]'


def assistant(b, index):
    found = b.all(pane(b, index) + " .pane-messages .message.assistant")
    return found[-1] if found else None


def said(b, message):
    """A message's words without its role label (the page heads each message with span.role: "You",
    "Assistant")."""
    text = b.driver.execute_script(
        "const m = arguments[0].cloneNode(true); m.querySelectorAll('.role').forEach(r => r.remove());"
        "return m.textContent", message)
    return " ".join((text or "").split())


def playground_two_panes(b, state):
    b.open("/playground?endpoints=chat-a,chat-b")
    for index, name in ((0, "chat-a"), (1, "chat-b")):
        b.until(lambda d: b.all(pane(b, index) + " select.pane-endpoint"), f"pane {index} is there")
        chosen = b.find(pane(b, index) + " select.pane-endpoint").get_attribute("value")
        expect(chosen == name, f"pane {index} has {chosen!r} selected, not {name!r}")
    expect(not b.all(pane(b, 2)), "a third pane without asking")
    hold = "hold-" + uuid.uuid4().hex[:10]
    prompt = f"Tell both panes a short story [[hold_after:3:{hold}]]"
    full = "echo: " + prompt
    state.update(prompt=prompt, full=full)
    b.type_into("#prompt", prompt)
    b.click("#send")
    released = False
    try:
        grown = {}
        for index in (0, 1):
            def growing(d, index=index):
                message = assistant(b, index)
                if message is None or "streaming" not in (message.get_attribute("class") or "").split():
                    return False
                return said(b, message) or False
            grown[index] = b.until(growing, f"pane {index}: .message.assistant.streaming with text")
        # The mock holds both streams after 3 words: neither can have finished.
        for index in (0, 1):
            message = assistant(b, index)
            classes = (message.get_attribute("class") or "").split()
            text = said(b, message)
            expect("streaming" in classes, f"pane {index} stopped streaming while the upstream held it: {classes}")
            expect(text != full and " ".join(full.split()).startswith(text),
                   f"pane {index} shows {text!r} while held after 3 words of {full!r}")
            user = b.all(pane(b, index) + " .pane-messages .message.user")
            expect(user and said(b, user[-1]) == " ".join(prompt.split()), f"pane {index} does not show the prompt")
        release(hold)
        released = True
        for index in (0, 1):
            def finished(d, index=index):
                message = assistant(b, index)
                return message is not None and "streaming" not in (message.get_attribute("class") or "").split()
            b.until(finished, f"pane {index}: the answer finished (no .streaming)")
            text = said(b, assistant(b, index))
            expect(text == " ".join(full.split()), f"pane {index} ended with {text!r}, not {full!r}")
            expect(not b.shown_text(pane(b, index) + " .pane-error"),
                   f"pane {index} error: {b.shown_text(pane(b, index) + ' .pane-error')!r}")
            b.until(lambda d, index=index: re.search(r"TTFT [\d.,]+ m?s", b.text(pane(b, index) + " .stat-ttft"))
                    and re.search(r"\d+ in · \d+ out", b.text(pane(b, index) + " .stat-tokens")),
                    f"pane {index}: .stat-ttft and .stat-tokens filled "
                    f"({b.text(pane(b, index) + ' .stat-ttft')!r}, {b.text(pane(b, index) + ' .stat-tokens')!r})")
        b.until(lambda d: b.text("#summary"), "#summary filled once both panes answered")
        summary = b.text("#summary")
        expect("fastest" in summary, f"#summary is {summary!r}")
        stats = [b.text(pane(b, i) + " .pane-stats") for i in (0, 1)]
        return f"seen while held: {grown}; stats {stats}; summary {summary!r}"
    finally:
        if not released:
            release(hold)


def playground_code(b, state):
    expect(state.get("full"), "the conversation did not happen")
    pane_answer = said(b, assistant(b, 0))
    b.click("#get-code")
    b.until(lambda d: b.shown("#code-dialog"), "#get-code opens #code-dialog")
    b.click("#code-dialog #tab-curl")
    b.until(lambda d: b.shown("#code-dialog pre#code-curl"), "#tab-curl shows pre#code-curl")
    snippet = b.find("#code-dialog pre#code-curl").get_attribute("textContent")
    expect(ARGS.token not in snippet, "the snippet prints the token itself")
    answer = " ".join(answer_of(run_bash(snippet, ARGS.token)).split())
    expect(answer == pane_answer, f"the conversation's curl answered {answer!r}; pane 0 shows {pane_answer!r}")
    detail = f"ran {snippet.strip()[:200]!r} -> {answer!r}"
    try:
        copied = copy_button_copies(b, "code-curl")
    except AssertionError as error:
        raise AssertionError(f"{detail}; but {error}") from None
    b.click("#code-close")
    b.until(lambda d: not b.shown("#code-dialog"), "#code-close closes the dialog")
    return f"{detail}; {copied}"


def add_and_remove_pane(b):
    b.open("/playground?endpoints=chat-a,chat-b")
    before = len(b.all(".pane"))
    expect(before == 2, f"{before} panes before #add-pane")
    b.click("#add-pane")
    b.until(lambda d: len(b.all(".pane")) == 3 and b.all(pane(b, 2)), "#add-pane adds a third pane")
    b.until(lambda d: not b.find("#add-pane").is_enabled(), "#add-pane disabled at 3 panes")
    b.click(pane(b, 2) + " button.pane-remove")
    b.until(lambda d: len(b.all(".pane")) == 2, "button.pane-remove removes the pane")
    b.until(lambda d: b.find("#add-pane").is_enabled(), "#add-pane enabled again")
    return "2 -> 3 (add disabled) -> 2"


def group_playground():
    with Group("playground") as g:
        b = g.browser
        b.set_token()
        state = {}
        if g.case("two-panes-stream", playground_two_panes, b, state):
            g.case("screenshot", lambda: b.screenshot("playground"))
            g.case("get-code-curl", playground_code, b, state)
        g.case("add-remove-pane", add_and_remove_pane, b)


# ----- 7. errors in words -----

def upstream_down(b):
    b.open("/?endpoint=down")
    b.until(lambda d: b.shown("#query-panel") and b.text("#query-endpoint-name") == "down", "#query-panel for 'down'")
    show_example(b, "chat")
    status = send_and_wait(b, "down")
    b.until(lambda d: b.shown_text("#query-error"), "#query-error shown")
    message = b.shown_text("#query-error")
    expect(re.search(r"refused|connect|unavailable|not running|reach", message, re.I),
           f"#query-error does not say the upstream is unreachable: {message!r}")
    expect(not re.match(r"2\d\d", status), f"#query-status {status!r}")
    return f"{status}: {message!r}"


def unknown_endpoint(b):
    b.open("/?endpoint=nope")
    b.until(lambda d: "nope" in b.shown_text("#query-error") or "nope" in b.shown_text("#page-error"),
            "an error naming 'nope' in #query-error or #page-error")
    return b.shown_text("#query-error") or b.shown_text("#page-error")


def unknown_in_playground(b):
    b.open("/playground?endpoints=nope")
    said = lambda: " ".join(t for t in [b.shown_text("#page-error")] + [  # noqa: E731
        " ".join((e.get_attribute("textContent") or "").split()) for e in b.all(".pane-error") if e.is_displayed()] if t)
    when = "on load"
    if "nope" not in said():
        when = "after a prompt was sent"
        b.type_into("#prompt", "hello nope")
        b.click("#send")
    b.until(lambda d: "nope" in said(), "an error naming 'nope' in #page-error or a .pane-error")
    return f"{when}: {said()}"


def rate_limited(b):
    b.open("/?endpoint=once")
    b.until(lambda d: b.text("#query-endpoint-name") == "once", "#query-panel for 'once'")
    b.type_into("#query-body", json.dumps({"messages": [{"role": "user", "content": unique("first")}]}))
    send_and_wait(b, "the first call")
    b.until(lambda d: "200" in b.text("#query-status"), "the first call: 200")
    b.type_into("#query-body", json.dumps({"messages": [{"role": "user", "content": unique("second")}]}))
    b.click("#send-request")
    b.until(lambda d: "429" in b.text("#query-status"), "the second call in the minute: #query-status 429")
    b.until(lambda d: re.search(r"retry after \d+ s", b.shown_text("#query-error"), re.I),
            "#query-error says 'retry after N s'")
    return f"{b.text('#query-status')}: {b.shown_text('#query-error')!r}"


def invalid_json(b):
    b.open("/?endpoint=chat-a")
    b.until(lambda d: b.text("#query-endpoint-name") == "chat-a", "#query-panel for 'chat-a'")
    before = mock_requests()
    b.type_into("#query-body", '{"messages": [oops')
    b.click("#send-request")
    b.until(lambda d: "json" in b.shown_text("#query-error").lower(), "#query-error says the body is not JSON")
    expect(mock_requests() == before, "a request went out for invalid JSON")
    return b.shown_text("#query-error")


def group_errors():
    with Group("errors") as g:
        b = g.browser
        b.set_token()
        g.case("upstream-down", upstream_down, b)
        g.case("unknown-endpoint", unknown_endpoint, b)
        g.case("unknown-in-playground", unknown_in_playground, b)
        g.case("rate-limited", rate_limited, b)
        g.case("invalid-json", invalid_json, b)


# ----- 8. auth: the token dialog once per tab; none with --no-auth-on-loopback -----

def token_dialog(b):
    b.open("/", ready=False)
    b.until(lambda d: b.shown("#token-dialog"), "#token-dialog shown without a token")
    words = b.text("#token-dialog")
    expect("serve-token" in words, f"the dialog does not say where the token is: {words!r}")
    expect(b.driver.execute_script("return document.body.dataset.ready") != "1", "ready before the token was given")
    b.screenshot("token-dialog")
    b.type_into("#token-input", "dapi-not-the-token")
    b.click("#token-save")
    b.until(lambda d: b.shown("#token-dialog") and not b.find("#token-input").get_attribute("value"),
            "a wrong token: the dialog asks again")
    b.type_into("#token-input", ARGS.token)
    b.click("#token-save")
    b.ready("the token given: body[data-ready=\"1\"]")
    expect(b.all(".endpoint-row"), "no .endpoint-row after the token")
    expect(not b.shown("#token-dialog"), "the dialog stays open after the right token")
    stored = b.driver.execute_script("return sessionStorage.getItem('aiquery-token')")
    expect(stored == ARGS.token, f"sessionStorage['aiquery-token'] is {stored!r}")
    return f"asked ({words[:120]!r}), refused a wrong token, took the right one"


def token_remembered(b):
    b.driver.refresh()
    b.ready("after a reload: body[data-ready=\"1\"]")
    expect(not b.shown("#token-dialog"), "the reload asked for the token again")
    b.open("/usage")
    expect(not b.shown("#token-dialog"), "another page of the tab asked for the token again")
    return "reload and /usage: not asked"


def open_server(b):
    expect(ARGS.open_server, "no --open-server (a server run with --no-auth-on-loopback) given")
    meta = http("GET", ARGS.open_server + "/api/2.0/aiquery/endpoints")
    expect(meta[0] == 200 and meta[2]["server"]["auth"] == "none", f"--open-server is not open: {meta[:1]} {meta[2]}")
    b.driver.get(ARGS.open_server + "/")
    b.ready("--no-auth-on-loopback: body[data-ready=\"1\"]")
    expect(not b.shown("#token-dialog"), "the token dialog shows with --no-auth-on-loopback")
    expect(b.all(".endpoint-row"), "no .endpoint-row")
    stored = b.driver.execute_script("return sessionStorage.getItem('aiquery-token')")
    expect(not stored, f"a token was stored: {stored!r}")
    return f"{len(b.all('.endpoint-row'))} endpoints, no dialog"


def group_auth():
    with Group("auth") as g:
        if g.case("token-dialog", token_dialog, g.browser):
            g.case("asked-once-per-tab", token_remembered, g.browser)
    with Group("auth") as g:
        g.case("no-auth-on-loopback", open_server, g.browser)


# ----- 6. usage: the page's numbers are the call log's -----

FIELDS = ("requests", "cache_hits", "errors", "input_tokens", "output_tokens", "cost")


def add_up(records):
    """(endpoint, door) -> sums, as the call log's records say: requests, cache hits (the requests of cache-hit
    records), errors (the requests of records with a status >= 400), tokens and cost (None when no record has one)."""
    sums = {}
    for r in records:
        key = (r["endpoint_name"], r["door"])
        s = sums.setdefault(key, {"requests": 0, "cache_hits": 0, "errors": 0, "input_tokens": 0,
                                  "output_tokens": 0, "cost": None})
        n = int(r["requests"])
        s["requests"] += n
        s["cache_hits"] += n if r["cache_hit"] else 0
        s["errors"] += n if int(r["status_code"]) >= 400 else 0
        s["input_tokens"] += int(r["input_tokens"] or 0)
        s["output_tokens"] += int(r["output_tokens"] or 0)
        if r["cost_usd"] is not None:
            s["cost"] = (s["cost"] or 0) + float(r["cost_usd"])
    return sums


def log_from_api(since):
    status, _, answer = http("GET", f"{ARGS.server}/api/2.0/aiquery/calls?limit=10000&since={since}", token=ARGS.token)
    expect(status == 200, f"GET /api/2.0/aiquery/calls: {status} {answer}")
    return answer["calls"]


def log_from_file(since):
    connection = sqlite3.connect(f"file:{ARGS.call_log}?mode=ro", uri=True, timeout=30)
    connection.row_factory = sqlite3.Row
    try:
        return [dict(row) for row in connection.execute(
            "SELECT endpoint_name, door, requests, cache_hit, status_code, input_tokens, output_tokens, cost_usd "
            "FROM calls WHERE event_time >= ?", (since,))]
    finally:
        connection.close()


def total(sums, endpoint=None):
    return sum(s["requests"] for (e, _), s in sums.items() if endpoint is None or e == endpoint)


def same(a, b):
    if a is None or b is None:
        return a is None and b is None
    return abs(float(a) - float(b)) <= 1e-9 + 1e-6 * abs(float(b))


def rows_of(b):
    rows = {}
    for row in b.all("#usage-table tr.usage-row"):
        key = (row.get_attribute("data-endpoint"), row.get_attribute("data-door"))
        rows[key] = {field: row.get_attribute("data-" + field.replace("_", "-")) for field in FIELDS}
    return rows


def compare(rows, sums):
    """Differences between the page's rows and the log's sums, in words (empty when equal)."""
    problems = []
    if set(rows) != set(sums):
        problems.append(f"rows {sorted(rows)} but the log has {sorted(sums)}")
    for key in sorted(set(rows) & set(sums)):
        for field in FIELDS:
            page, log = rows[key][field], sums[key][field]
            if field == "cost":
                ok = (page in ("", None) and log is None) or (page not in ("", None) and log is not None and same(page, log))
            else:
                ok = page is not None and page.lstrip("-").isdigit() and int(page) == log
            if not ok:
                problems.append(f"{key} {field}: page {page!r}, log {log!r}")
    return problems


def usage_matches_log(b, state):
    since = time.time() - 23 * 3600  # inside the page's default range (24 h)
    before = add_up(log_from_api(since))
    # Calls through the browser ...
    b.open("/?endpoint=chat-a")
    prompt = unique("usage via the page")
    b.type_into("#query-body", json.dumps({"messages": [{"role": "user", "content": prompt}]}))
    send_and_wait(b, "the page's call")
    b.until(lambda d: b.text("#query-text") == "echo: " + prompt, "the page's call answered")
    # ... and directly: a new question, the same again (a cache hit), embeddings, completions, one failure.
    direct = unique("usage direct")
    answers = [invoke("chat-a", {"messages": [{"role": "user", "content": direct}]}),
               invoke("chat-a", {"messages": [{"role": "user", "content": direct}]}),
               invoke("embed-a", {"input": [unique("usage embedding")]}),
               invoke("complete-a", {"prompt": unique("usage completion"), "max_tokens": 10}),
               invoke("down", {"messages": [{"role": "user", "content": unique("usage failure")}]})]
    statuses = [a[0] for a in answers]
    expect(statuses[:4] == [200] * 4 and statuses[4] >= 500, f"direct calls answered {statuses}")
    expect(answers[1][1].get("x-aiquery-cache") == "hit", f"the repeat was not a cache hit: {answers[1][1]}")
    # The log is written just after each answer: wait until it holds all six.
    want = {"chat-a": 3, "embed-a": 1, "complete-a": 1, "down": 1}
    grown = lambda: all(total(add_up(log_from_api(since)), e) - total(before, e) == n for e, n in want.items())  # noqa: E731
    wait_for(grown, "the call log records the six calls")
    after = add_up(log_from_api(since))
    hits = after[("chat-a", "serve")]["cache_hits"] - before.get(("chat-a", "serve"), {}).get("cache_hits", 0)
    errors = after[("down", "serve")]["errors"] - before.get(("down", "serve"), {}).get("errors", 0)
    expect(hits == 1 and errors == 1, f"the log has {hits} new cache hits and {errors} new errors, not 1 and 1")

    b.open("/usage")
    b.until(lambda d: b.all("#usage-table tr.usage-row"), "#usage-table has tr.usage-row")
    calls = log_from_api(0)  # the page's range is 24 h; everything here is newer
    sums = add_up(calls)
    problems = compare(rows_of(b), sums)
    if ARGS.call_log:
        from_file = add_up(log_from_file(0))
        differ = set(from_file) != set(sums) or any(
            not same(from_file[k][f], sums[k][f]) for k in sums for f in FIELDS)
        if differ:
            problems.append(f"the call log file says {from_file}, the API {sums}")
    totals = b.find("#usage-table tr.usage-total")
    all_sums = {f: sum(s[f] for s in sums.values()) for f in FIELDS if f != "cost"}
    for field, value in all_sums.items():
        page = totals.get_attribute("data-" + field.replace("_", "-"))
        if page is None or not page.isdigit() or int(page) != value:
            problems.append(f"total {field}: page {page!r}, log {value}")
    expect(not problems, "; ".join(problems))
    rows = b.all("#calls-table tr.call-row")
    expect(len(rows) == min(100, len(calls)), f"#calls-table has {len(rows)} tr.call-row for {len(calls)} calls")
    newest = calls[0]["endpoint_name"]
    expect(newest in rows[0].get_attribute("textContent"), f"the first call row is not the newest call ({newest})")
    drawn = b.driver.execute_script(
        "const s = document.querySelector('svg#usage-chart'); if (!s) return -1;"
        "return [...s.querySelectorAll('rect, path, line, polyline, circle')].filter(e => {"
        " const r = e.getBoundingClientRect(); return r.width > 0 || r.height > 0 }).length")
    expect(drawn > 0, f"svg#usage-chart has {drawn} drawn elements")
    state["sums"] = sums
    return (f"{len(sums)} rows equal to the log ({'API and file' if ARGS.call_log else 'API'}): "
            f"{ {f'{e}/{d}': s['requests'] for (e, d), s in sums.items()} }; {len(rows)} call rows; {drawn} chart elements")


def usage_filter(b, state):
    expect(state.get("sums"), "no usage to filter")
    Select(b.find("#filter-status")).select_by_value("error")
    want = {key: s["errors"] for key, s in state["sums"].items() if s["errors"]}
    got = lambda: {k: int(v["requests"] or 0) for k, v in rows_of(b).items()}  # noqa: E731
    b.until(lambda d: got() == want, f"#filter-status=error: rows of errors only {want} (now {got()})")
    failed = http("GET", f"{ARGS.server}/api/2.0/aiquery/calls?status=error&limit=10000", token=ARGS.token)[2]["calls"]
    b.until(lambda d: len(b.all("#calls-table tr.call-row")) == min(100, len(failed)),
            f"#calls-table shows the {len(failed)} failed calls only (now {len(b.all('#calls-table tr.call-row'))} rows)")
    Select(b.find("#filter-status")).select_by_value("all")
    b.until(lambda d: {k: int(v["requests"] or 0) for k, v in rows_of(b).items()} ==
            {k: s["requests"] for k, s in state["sums"].items()}, "#filter-status=all: every row again")
    return f"error rows {want}; {len(failed)} failed calls listed"


def group_usage():
    with Group("usage") as g:
        b = g.browser
        b.set_token()
        state = {}
        if g.case("matches-call-log", usage_matches_log, b, state):
            g.case("screenshot", lambda: b.screenshot("usage"))
            g.case("filter-status", usage_filter, b, state)


def main():
    global ARGS
    ARGS = parse_arguments()
    runners = {"pages": group_pages, "endpoints": group_endpoints, "playground": group_playground,
               "errors": group_errors, "auth": group_auth, "usage": group_usage}
    for name in ARGS.groups or GROUPS:
        try:
            runners[name]()
        except Exception as error:  # the browser did not start: say so as a case
            print(json.dumps({"case": f"{name}/browser", "ok": False,
                              "detail": f"{type(error).__name__}: {error}\n{traceback.format_exc()[-1500:]}"}), flush=True)
            RESULTS.append({"ok": False})
    failed = sum(1 for r in RESULTS if not r["ok"])
    print(f"browser_pages: {len(RESULTS) - failed} passed, {failed} failed", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
