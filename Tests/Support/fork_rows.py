#!/usr/bin/env python3
"""Rows answered in forked children (what multiprocessing, gunicorn and Spark's Python workers do).

The parent loads the extension and answers a row, so its runtime has kept-alive connections, worker threads and
an open cache; then it forks children that each answer rows on their own connections, one at a time with
ai_query and many at once with ai_query_rows. Every answer must be the echo of its own row's prompt, no child may
hang or fail. Prints one JSON line: {"rounds": N, "children": N, "rows": N, "wrong": [...], "failed": [...]}.

Usage: fork_rows.py LIBRARY BASE_URL ROUNDS   (AIQUERY_CACHE decides the cache; the mock server echoes prompts)
"""
import json
import os
import sqlite3
import sys
import time

library, base_url, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
CHILDREN = 4
DEADLINE = 60  # seconds a child may take before it counts as hung


def connect():
    connection = sqlite3.connect(":memory:")
    connection.enable_load_extension(True)
    connection.load_extension(library)
    endpoint = {"provider": "openai", "task": "chat", "model": "m", "url": base_url}
    connection.execute("SELECT ai_endpoint_set('llm', ?)", (json.dumps(endpoint),))
    return connection


def child(index, round_, report):
    """Answers 20 + index rows one by one, then as many with ai_query_rows; writes problems to `report`."""
    connection = connect()
    problems = []
    count = 20 + index
    tag = f"round {round_} child {index} pid {os.getpid()} at {time.time()}"
    for row in range(count):
        prompt = f"one {row} {tag}"
        got = connection.execute("SELECT ai_query('llm', ?)", (prompt,)).fetchone()[0]
        if got != "echo: " + prompt:
            problems.append({"prompt": prompt, "got": got[:120]})
    connection.execute("CREATE TABLE rows(id INTEGER PRIMARY KEY, prompt TEXT)")
    connection.executemany("INSERT INTO rows(prompt) VALUES (?)", [(f"many {row} {tag}",) for row in range(count)])
    for id_, prompt, got in connection.execute(
            "SELECT r.id, r.prompt, q.response FROM ai_query_rows('llm', 'SELECT id, prompt FROM rows', "
            "'{\"concurrency\": 8}') q JOIN rows r ON r.id = q.id"):
        if got != "echo: " + prompt:
            problems.append({"prompt": prompt, "got": (got or "")[:120]})
    report.write(json.dumps({"rows": 2 * count, "wrong": problems}))


def main():
    summary = {"rounds": rounds, "children": 0, "rows": 0, "wrong": [], "failed": []}
    for round_ in range(rounds):
        parent = connect()
        prompt = f"parent {round_} {time.time()}"
        assert parent.execute("SELECT ai_query('llm', ?)", (prompt,)).fetchone()[0] == "echo: " + prompt
        started = []
        for index in range(CHILDREN):
            read_end, write_end = os.pipe()
            pid = os.fork()
            if pid == 0:
                os.close(read_end)
                status = 0
                with os.fdopen(write_end, "w") as report:
                    try:
                        child(index, round_, report)
                    except Exception as error:  # a failed row: report it, exit non-zero
                        report.write(json.dumps({"error": str(error)[:300]}))
                        status = 2
                os._exit(status)
            os.close(write_end)
            started.append((index, pid, read_end))
        for index, pid, read_end in started:
            deadline = time.time() + DEADLINE
            while True:
                done, status = os.waitpid(pid, os.WNOHANG)
                if done:
                    break
                if time.time() > deadline:
                    os.kill(pid, 9)
                    os.waitpid(pid, 0)
                    status = None
                    break
                time.sleep(0.01)
            with os.fdopen(read_end) as report:
                text = report.read()
            summary["children"] += 1
            result = json.loads(text) if text else {}
            summary["rows"] += result.get("rows", 0)
            summary["wrong"] += result.get("wrong", [])
            if status is None:
                summary["failed"].append({"round": round_, "child": index, "problem": "hung"})
            elif status != 0:
                summary["failed"].append({"round": round_, "child": index, "problem": result.get("error", f"status {status}")})
        parent.close()
    print(json.dumps(summary))


main()
