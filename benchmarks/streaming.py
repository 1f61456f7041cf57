#!/usr/bin/env python3
"""Streamed answers through `aiquery serve`, measured in one run (run by benchmarks/streaming.sh):

  * an upstream that writes 8 words 120 ms apart: when the caller gets its first word, against the whole answer
    (target: first word before half the total), directly from the upstream and through the server;
  * time to the first word that the server adds, with an upstream that writes at once: the server's p50 minus
    the upstream's own p50 over the same number of fresh prompts (target <= 1 ms);
  * a cache hit replayed as a stream: time to its first word, and how many events it is.

Usage: streaming.py UPSTREAM_PORT SERVER_URL TOKEN [RUNS]
"""
import http.client
import json
import statistics
import sys
import time
import uuid
from urllib.parse import urlparse

upstream_port, server_url, token = int(sys.argv[1]), sys.argv[2], sys.argv[3]
runs = int(sys.argv[4]) if len(sys.argv) > 4 else 50
server = urlparse(server_url)


def stream(port, path, prompt, auth):
    """(seconds to the first word, seconds to the end, words) of one streamed request on a fresh connection."""
    connection = http.client.HTTPConnection("127.0.0.1", port)
    body = json.dumps({"model": "m", "stream": True, "messages": [{"role": "user", "content": prompt}]})
    started = time.perf_counter()
    connection.request("POST", path, body, {"Content-Type": "application/json", "Authorization": "Bearer " + auth})
    response = connection.getresponse()
    first, words = None, 0
    for line in response:
        if not line.startswith(b"data: {"):
            continue
        chunk = json.loads(line[6:])
        if chunk.get("choices") and chunk["choices"][0].get("delta", {}).get("content"):
            words += 1
            first = first if first is not None else time.perf_counter() - started
    total = time.perf_counter() - started
    connection.close()
    return first, total, words


def direct(prompt):
    return stream(upstream_port, "/v1/chat/completions", prompt, "unused")


def gateway(prompt):
    return stream(server.port, "/serving-endpoints/bench/invocations", prompt, token)


def ms(seconds):
    return f"{seconds * 1000:.1f} ms"


slow = "[[token_ms:120]][[reply:one two three four five six seven eight]]"  # 8 words, each 120 ms after the last
for name, run in (("upstream directly", direct), ("through aiquery serve", gateway)):
    first, total, words = run(f"{uuid.uuid4().hex[:6]} {slow}")
    print(f"8 words 120 ms apart, {name}: first word at {ms(first)} of {ms(total)} ({first / total:.2f} of the whole;"
          f" target < 0.5), {words} events")

gateway(f"warm {uuid.uuid4().hex}")  # the server's first connection upstream
own = [direct(f"fast {uuid.uuid4().hex} a b c")[0] for _ in range(runs)]
through = [gateway(f"fast {uuid.uuid4().hex} a b c")[0] for _ in range(runs)]
added = statistics.median(through) - statistics.median(own)
print(f"time to first word, fresh prompts, {runs} each: upstream p50 {ms(statistics.median(own))},"
      f" through the server p50 {ms(statistics.median(through))}: added p50 {ms(added)} (target <= 1 ms)")

prompt = f"replay {uuid.uuid4().hex} {slow}"
gateway(prompt)
first, total, words = gateway(prompt)
print(f"cache hit replayed as a stream: first word at {ms(first)}, all {words} events by {ms(total)}"
      f" (the upstream took {ms(8 * 0.120)} to write them)")
