#!/usr/bin/env python3
"""Helper for benchmarks/local_llm.sh (standard library only).

  local_llm.py prompts DB COUNT       the table prompts(id, prompt): COUNT short completion-style English prompts
  local_llm.py client KIND URL TOKEN DB TOKENS CONCURRENCY OUT.json
                                      sends every prompt as a completions request, CONCURRENCY at a time (threads,
                                      urllib), to aiquery serve (KIND serve: /serving-endpoints/bench-gemma/invocations
                                      with the Bearer TOKEN) or llama.cpp's server (KIND llamacpp: /completions, model
                                      local-gemma); writes {"seconds", "answers": {id: text}, "tokens"} to OUT.json
  local_llm.py warm KIND URL TOKEN TOKENS
                                      one request, so that the server has loaded its model before it is timed
  local_llm.py collect RUN.db SHELL_OUTPUT OUT.json
                                      one sqlite3 shell run: the seconds of its one ".timer on" statement, its
                                      "tokens: n" and "cache_hits: n" lines and the table out(id, response) of RUN.db,
                                      as the client writes them
  local_llm.py report DIR PEER        the table: median rows/s per path over the rounds, ratios against PEER,
                                      answers equal to PEER's
"""
import concurrent.futures
import glob
import json
import os
import re
import sqlite3
import statistics
import sys
import time
import urllib.error
import urllib.request

# Completion-style: a base model continues them. A few words each, all different (identical requests in one
# statement are asked once by ai_query_rows, which would flatter it).
PROMPTS = [
    "The capital of France is",
    "Once upon a time",
    "My favourite food is",
    "The sky is",
    "The best way to learn a language is",
    "In the morning I usually",
    "The cat sat on the",
    "Water boils at",
    "The largest planet in our solar system is",
    "A good cup of coffee needs",
    "The train to London leaves at",
    "Her new bicycle was",
    "The recipe for pancakes calls for",
    "Yesterday it rained so much that",
    "The museum opens every day at",
    "My brother works as a",
    "The old lighthouse stood",
    "To make the database faster, we",
    "The children played in the",
    "The meeting was postponed because",
    "Paris and Rome are both",
    "The first thing to do after waking up is",
    "Our garden is full of",
    "The doctor told him to",
    "Winter in Canada is",
    "The best thing about summer is",
    "He opened the letter and",
    "The price of bread has",
    "Mount Everest is",
    "The library closes at",
    "She played the piano while",
    "The committee decided to",
    "A healthy breakfast includes",
    "The river flows through",
    "The new phone has a",
    "Every Friday night we",
    "The story ends when",
    "Computers are useful because",
    "The dog barked at the",
    "The weather tomorrow will be",
    "The moon is",
    "My grandmother always said that",
    "The quickest route to the station is",
    "The football match ended",
    "Apples and oranges are",
    "The spaceship landed on",
    "The teacher asked the students to",
    "Good software is",
]


def write_prompts(path, count):
    if count > len(PROMPTS):
        sys.exit(f"local_llm.py: at most {len(PROMPTS)} prompts, asked for {count}")
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE prompts(id INTEGER PRIMARY KEY, prompt TEXT NOT NULL)")
    db.executemany("INSERT INTO prompts(id, prompt) VALUES (?, ?)", enumerate(PROMPTS[:count], 1))
    db.commit()


def route(kind, url, token):
    if kind == "serve":
        target = url.rstrip("/") + "/serving-endpoints/bench-gemma/invocations"
        headers = {"Content-Type": "application/json", "Authorization": "Bearer " + token}
        extra = {}
    elif kind == "llamacpp":
        target = url.rstrip("/") + "/completions"
        headers = {"Content-Type": "application/json"}
        # llama-cpp-python's server applies a repeat penalty of 1.1 unless told otherwise: plain greedy, as the
        # other paths decode.
        extra = {"model": "local-gemma", "repeat_penalty": 1.0, "frequency_penalty": 0.0, "presence_penalty": 0.0}
    else:
        sys.exit(f"local_llm.py: unknown client kind {kind}")
    return target, headers, extra


def client(kind, url, token, db_path, tokens, concurrency, out):
    prompts = sqlite3.connect(db_path).execute("SELECT id, prompt FROM prompts ORDER BY id").fetchall()
    target, headers, extra = route(kind, url, token)

    def ask(row):
        row_id, prompt = row
        body = json.dumps({"prompt": prompt, "max_tokens": tokens, "temperature": 0, **extra}).encode()
        request = urllib.request.Request(target, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=600) as response:
                cache = response.headers.get("x-aiquery-cache")
                answer = json.loads(response.read())
        except urllib.error.HTTPError as error:
            raise SystemExit(f"local_llm.py: {kind} answered HTTP {error.code} for row {row_id}: {error.read()[:500]!r}")
        if cache == "hit":
            raise SystemExit(f"local_llm.py: {kind} answered row {row_id} from its cache; the run must decode")
        usage = answer.get("usage") or {}
        return row_id, answer["choices"][0]["text"], usage.get("completion_tokens", 0)

    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(max_workers=concurrency) as pool:
        results = list(pool.map(ask, prompts))
    seconds = time.monotonic() - started
    with open(out, "w", encoding="utf-8") as f:
        json.dump({"seconds": seconds, "answers": {str(i): text for i, text, _ in results},
                   "tokens": sum(n for _, _, n in results)}, f)


def warm(kind, url, token, tokens):
    target, headers, extra = route(kind, url, token)
    body = json.dumps({"prompt": "Warm up:", "max_tokens": tokens, "temperature": 0, **extra}).encode()
    with urllib.request.urlopen(urllib.request.Request(target, data=body, headers=headers, method="POST"), timeout=600) as r:
        r.read()


def collect(db_path, output_path, out):
    with open(output_path, encoding="utf-8", errors="replace") as f:
        output = f.read()
    times = re.findall(r"^Run Time: real ([0-9.]+)", output, re.M)
    if len(times) != 1:
        sys.exit(f"local_llm.py: expected one 'Run Time' line in the sqlite3 output, found {len(times)}:\n{output[-2000:]}")
    hits = re.findall(r"^cache_hits: *([0-9]*)", output, re.M)
    if hits and hits[-1] not in ("", "0"):
        sys.exit(f"local_llm.py: {hits[-1]} rows came from aiquery's cache; the run must decode")
    tokens = re.findall(r"^tokens: *([0-9.]*)", output, re.M)
    answers = sqlite3.connect(db_path).execute("SELECT id, response FROM out ORDER BY id").fetchall()
    with open(out, "w", encoding="utf-8") as f:
        json.dump({"seconds": float(times[0]), "answers": {str(i): text for i, text in answers},
                   "tokens": float(tokens[-1]) if tokens and tokens[-1] else 0}, f)


def report(folder, peer):
    """Every DIR/<path>.<round>.json holds seconds, answers and tokens (generated tokens as the path counts them).
    BENCH_TARGETS: {"path": minimum ratio against PEER, …}."""
    runs = {}
    for file in glob.glob(os.path.join(folder, "*.json")):
        name, round_no = os.path.basename(file)[:-5].rsplit(".", 1)
        with open(file, encoding="utf-8") as f:
            runs.setdefault(name, {})[int(round_no)] = json.load(f)
    # BENCH_LABELS: {"path": "label", …} in the order to print.
    labels = json.loads(os.environ.get("BENCH_LABELS", "{}"))
    order = [name for name in labels if name in runs] + sorted(name for name in runs if name not in labels)
    rows = {name: len(next(iter(r.values()))["answers"]) for name, r in runs.items()}
    rates = {name: [rows[name] / r["seconds"] for _, r in sorted(rs.items())] for name, rs in runs.items()}
    median = {name: statistics.median(v) for name, v in rates.items()}
    targets = json.loads(os.environ.get("BENCH_TARGETS", "{}"))
    first_peer = runs[peer][min(runs[peer])]["answers"]
    width = max(len(labels.get(n, n)) for n in order)
    reference = "ai_query" if "ai_query" in runs else None
    first_reference = runs[reference][min(runs[reference])]["answers"] if reference else {}
    for name in order:
        rs = runs[name]
        first = rs[min(rs)]["answers"]
        stable = all(r["answers"] == first for r in rs.values())
        tokens = statistics.median(r["tokens"] for r in rs.values()) / rows[name]
        each = " ".join(f"{rate:.2f}" for rate in rates[name])
        line = f"{labels.get(name, name):<{width}}  {median[name]:6.2f} rows/s (rounds {each}; {tokens:.1f} tokens/answer)"
        if name != peer:
            ratio = median[name] / median[peer]
            target = f" (target >= {targets[name]})" if name in targets else ""
            line += f"  {ratio:5.2f}x sqlite-ai{target}; equal answers: sqlite-ai's {equal(first, first_peer)}"
            if reference and name != reference:
                line += f", ai_query's {equal(first, first_reference)}"
        if not stable:
            line += "; answers differ between rounds"
        print(line)


def equal(answers, others):
    """How many answers equal the others', and how far they agree when they differ: the shared beginning as a share
    of the longer answer, on average."""
    same = sum(answers.get(k) == v for k, v in others.items())
    shared = statistics.mean(
        len(os.path.commonprefix([answers.get(k) or "", v or ""])) / max(1, len(answers.get(k) or ""), len(v or ""))
        for k, v in others.items())
    return f"{same}/{len(others)}" + ("" if same == len(others) else f" ({100 * shared:.0f} % shared)")


def main():
    command, args = sys.argv[1], sys.argv[2:]
    if command == "prompts":
        write_prompts(args[0], int(args[1]))
    elif command == "client":
        client(args[0], args[1], args[2], args[3], int(args[4]), int(args[5]), args[6])
    elif command == "warm":
        warm(args[0], args[1], args[2], int(args[3]))
    elif command == "collect":
        collect(args[0], args[1], args[2])
    elif command == "report":
        report(args[0], args[1])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
