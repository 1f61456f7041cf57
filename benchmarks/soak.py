#!/usr/bin/env python3
"""A soak of `aiquery serve` (run by benchmarks/soak.sh): CONNECTIONS clients for DURATION seconds, half of them
streaming, 5 % of prompts failing upstream once (then retried), a tenth of streaming clients hanging up after the
first word. Checks every finished request got the answer to its own prompt and is in the call log exactly once
(answered, with its prompt: the server runs with AIQUERY_CALL_LOG_CONTENT=on), and prints the server's RSS and open
descriptors over time: after the first minute both must stay flat (RSS within 5 %). Then 20,000 streams back to
back on one kept-alive connection: RSS after 5,000 and after 20,000 (within 5 %).

Usage: soak.py SERVER_URL TOKEN SERVER_PID DURATION CONNECTIONS CALL_LOG
"""
import http.client
import json
import os
import random
import sqlite3
import sys
import threading
import time
import uuid
from urllib.parse import urlparse

url, token, pid, duration, connections = urlparse(sys.argv[1]), sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5])
call_log = sys.argv[6]
lock = threading.Lock()
finished_prompts = []
counts = {"whole": 0, "stream": 0, "hung_up": 0, "wrong": 0, "failed": 0}
wrong_examples = []
stop = time.monotonic() + duration


def note(kind, detail=None, prompt=None):
    with lock:
        counts[kind] += 1
        if prompt is not None:
            finished_prompts.append(prompt)
        if detail and len(wrong_examples) < 5:
            wrong_examples.append(detail)


def client(number):
    streaming = number % 2 == 1
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
    while time.monotonic() < stop:
        prompt = f"soak {uuid.uuid4().hex} words to say back"
        if random.random() < 0.05:
            prompt += f" [[first:1:status=503:{uuid.uuid4().hex[:8]}]][[retry_after_ms:20]]"
        hang_up = streaming and random.random() < 0.1
        body = json.dumps({"stream": streaming, "messages": [{"role": "user", "content": prompt}]})
        try:
            connection.request("POST", "/serving-endpoints/soak/invocations", body,
                               {"Content-Type": "application/json", "Authorization": "Bearer " + token})
            response = connection.getresponse()
            if response.status != 200:
                note("failed", f"HTTP {response.status}: {response.read()[:200]!r}")
                continue
            if not streaming:
                text = json.loads(response.read())["choices"][0]["message"]["content"]
                note("whole" if text == "echo: " + prompt else "wrong", None if text == "echo: " + prompt else text[:200], prompt)
                continue
            text = ""
            for line in response:
                if line.startswith(b"data: {"):
                    chunk = json.loads(line[6:])
                    if "error" in chunk:
                        raise RuntimeError(chunk["error"])
                    if chunk.get("choices"):
                        text += chunk["choices"][0].get("delta", {}).get("content") or ""
                    if hang_up and text:
                        break
            if hang_up:
                connection.close()  # gone mid-stream, as a closed notebook is
                connection = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
                note("hung_up")
            else:
                note("stream" if text == "echo: " + prompt else "wrong", None if text == "echo: " + prompt else text[:200], prompt)
        except Exception as error:  # a request that did not finish is counted, not hidden
            note("failed", repr(error)[:200])
            connection.close()
            connection = http.client.HTTPConnection(url.hostname, url.port, timeout=60)


def resources():
    rss = next(int(line.split()[1]) for line in open(f"/proc/{pid}/status") if line.startswith("VmRSS:"))
    return rss / 1024, len(os.listdir(f"/proc/{pid}/fd"))


threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(connections)]
for thread in threads:
    thread.start()
samples = []
started = time.monotonic()
while time.monotonic() < stop:
    time.sleep(min(10, max(0.1, stop - time.monotonic())))
    rss, fds = resources()
    samples.append((time.monotonic() - started, rss, fds))
    print(f"{samples[-1][0]:6.0f} s  RSS {rss:7.1f} MB  descriptors {fds:4d}  {dict(counts)}", flush=True)
for thread in threads:
    thread.join(timeout=90)
settled = [s for s in samples if s[0] >= min(60, duration / 2)]
rss_values, fd_values = [s[1] for s in settled], [s[2] for s in settled]
spread = (max(rss_values) - min(rss_values)) / min(rss_values) if rss_values else float("nan")
finished = counts["whole"] + counts["stream"]
print(f"{finished} requests finished ({counts['whole']} whole, {counts['stream']} streamed), {counts['hung_up']} callers hung up "
      f"mid-stream; wrong answers {counts['wrong']} (target 0), failed {counts['failed']} (target 0); after warm-up RSS "
      f"{min(rss_values):.1f}-{max(rss_values):.1f} MB, spread {spread * 100:.1f} % (target <= 5 %), descriptors "
      f"{min(fd_values)}-{max(fd_values)}")
for example in wrong_examples:
    print("  e.g.", example)

# The call log: every finished request once, answered. Its records reach the file within milliseconds.
time.sleep(1)
log = sqlite3.connect(call_log)
logged = {}
for prompt, records, answered in log.execute(
        "SELECT json_extract(request, '$.messages[0].content'), count(*), sum(status_code = 200) FROM calls "
        "WHERE door = 'serve' GROUP BY 1"):
    logged[prompt] = (records, answered)
missing = sum(1 for p in finished_prompts if p not in logged)
twice = sum(1 for p in finished_prompts if logged.get(p, (1, 1))[0] > 1)
unanswered = sum(1 for p in finished_prompts if logged.get(p, (1, 1))[1] != 1)
hung_up_logged = log.execute("SELECT count(*) FROM calls WHERE door = 'serve' AND status_code = 499").fetchone()[0]
print(f"call log: {len(finished_prompts)} finished requests, missing {missing}, logged more than once {twice}, "
      f"not logged as answered {unanswered} (targets 0); {hung_up_logged} records of callers that hung up (status 499)")

# Then one kept-alive connection carrying many streams back to back: what a stream leaves behind for as long as its
# connection lives shows here (a closeFuture callback per stream once kept 7.5 KB a request).
connection = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
marks = {}
for n in range(1, 20001):
    body = json.dumps({"stream": True, "messages": [{"role": "user", "content": f"kept {uuid.uuid4().hex}"}]})
    connection.request("POST", "/serving-endpoints/soak/invocations", body, {"Content-Type": "application/json", "Authorization": "Bearer " + token})
    connection.getresponse().read()
    if n in (5000, 20000):
        marks[n] = resources()[0]
print(f"20,000 streams on one connection: RSS {marks[5000]:.1f} MB after 5,000, {marks[20000]:.1f} MB after 20,000 "
      f"({(marks[20000] - marks[5000]) / marks[5000] * 100:+.1f} %, target within 5 %)")
