#!/usr/bin/env bash
# Local text generation on one GGUF file (Gemma 3 270M Q4_K_M, from scripts/local-llm install): PROMPTS=40
# completion-style prompts, TOKENS=16 tokens each, greedy (temperature 0), the same decoding threads in every path
# (aiquery's own choice: the cores, at most 8), measured in rounds that take each path in turn (ROUNDS=3), so
# that whatever else the machine does falls on every path alike. Paths:
#   sqlite-ai     the peer (PyPI sqlite-ai, pip-installed into a venv in this run's temp folder), in the sqlite3
#                 shell: llm_model_load, llm_context_create with the threads, a greedy sampler, then
#                 llm_text_generate(prompt, 'n_predict=16') per row
#   ai_query      aiquery in process, row by row: an endpoint {"provider":"local","task":"completions",
#                 "model_path":…} and ai_query(…, 'modelParameters', '{"max_tokens":16,"temperature":0}') per row
#   rows cN       ai_query_rows with concurrency N (CONCURRENCIES="4 8")
#   serve         aiquery serve with the same endpoint in its AIQUERY_CONFIG, CLIENTS=4 requests at a time from
#                 local_llm.py (urllib and threads) to /serving-endpoints/bench-gemma/invocations
#   llama.cpp     for reference, llama.cpp's own server (scripts/local-llm start, llama-cpp-python) on /v1/completions,
#                 CLIENTS=4 at a time, repeat penalty off; stopped at the end if this script started it
# Each sqlite3 process loads its model and decodes one warm-up answer before its timed statement (.timer); the
# servers answer one warm-up request before the first round. aiquery runs with AIQUERY_CACHE=off (and a run that
# finds a cached answer fails), so every round decodes every row.
# Prints the environment, then per path the median rows/s over the rounds (and each round's), the ratio to sqlite-ai
# (targets: ai_query >= 1.0, ai_query_rows c8 >= 3), tokens generated per answer (sqlite-ai's counted by
# re-tokenising its text) and how many greedy answers equal sqlite-ai's and ai_query's: a report, not a check (two
# llama.cpp builds round differently; the other aiquery paths should give ai_query's answers).
# llama-cpp-python's libggml-cpu waits with OpenMP, whose threads spin between steps: on a machine busy with other
# work that costs much more than on an idle one. OMP_WAIT_POLICY, if set, reaches every aiquery and llama.cpp
# process and is printed.
# QUICK=1: 8 prompts, one round (a quick look). PROMPTS, ROUNDS, TOKENS, CONCURRENCIES, CLIENTS override;
# SQLITE_AI_SPEC (sqlite-ai==1.0.8) picks the peer's version.
set -euo pipefail
cd "$(dirname "$0")/.."
quick=${QUICK:-0}
count=${PROMPTS:-$( ((quick)) && echo 8 || echo 40)}
rounds=${ROUNDS:-$( ((quick)) && echo 1 || echo 3)}
tokens=${TOKENS:-16}
concurrencies=${CONCURRENCIES:-"4 8"}
clients=${CLIENTS:-4}
peer_spec=${SQLITE_AI_SPEC:-sqlite-ai==1.0.8}
cores=$(nproc)
threads=$((cores < 8 ? cores : 8)) # LlamaRunner.threads: aiquery's decoding threads; the others get as many
started_at=$SECONDS

work=$(mktemp -d)
serve_pid=
llama_started=0
cleanup() {
    [[ -n $serve_pid ]] && kill "$serve_pid" 2>/dev/null
    ((llama_started)) && scripts/local-llm stop >/dev/null 2>&1
    rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$work/home" "$work/results"

{ scripts/build && swift build -c release --product aiquery; } >"$work/build.log" 2>&1 || { tail -40 "$work/build.log" >&2; exit 1; }
bin=$(swift build -c release --show-bin-path)
ext=.build/release/libAIQuery
installed=$(scripts/local-llm install)
llama_lib=$(sed -n 1p <<<"$installed")
model=$(sed -n 2p <<<"$installed")
[[ -r $llama_lib && -r $model ]] || { echo "local_llm: scripts/local-llm install printed no library and model" >&2; exit 1; }

# The peer, in a venv of this run only; its loadable extension is the package's CPU build.
echo "local_llm: installing $peer_spec into a scratch venv…" >&2
python3 -m venv "$work/peer-venv"
"$work/peer-venv/bin/python" -m pip install --quiet --disable-pip-version-check "$peer_spec" >&2
peer_ext=$("$work/peer-venv/bin/python" -c 'import importlib.resources as r; print(r.files("sqliteai.binaries.cpu") / "ai")')
[[ -r $peer_ext.so ]] || { echo "local_llm: no $peer_ext.so in the sqlite-ai package" >&2; exit 1; }

python3 benchmarks/local_llm.py prompts "$work/prompts.db" "$count"

# aiquery's processes: cache off, no endpoints file or allowlist of the user's, HOME (call log, config) in $work.
aiq=(env -u AIQUERY_CONFIG -u AIQUERY_ALLOWED_ENDPOINTS HOME="$work/home" AIQUERY_CACHE=off AIQUERY_LLAMA_LIB="$llama_lib")
params="{\"max_tokens\":$tokens,\"temperature\":0}"
endpoint="{\"provider\":\"local\",\"task\":\"completions\",\"model_path\":\"$model\"}"

# shell_round NAME ROUND EXTENSION SETUP STATEMENT AFTER [ENV…]: one sqlite3 process; STATEMENT (a SELECT of id,
# response over p.prompts) is the one timed; AFTER prints "tokens: n" (tokens it generated) and "cache_hits: n".
shell_round() {
    local name=$1 round=$2 extension=$3 setup=$4 statement=$5 after=$6
    shift 6
    rm -f "$work/run.db"
    if ! "$@" sqlite3 -bail "$work/run.db" >"$work/shell.out" 2>&1 <<SQL; then
.load $extension
ATTACH '$work/prompts.db' AS p;
$setup
.timer on
CREATE TABLE out AS $statement;
.timer off
$after
SQL
        echo "local_llm: $name failed:" >&2
        tail -20 "$work/shell.out" >&2
        exit 1
    fi
    python3 benchmarks/local_llm.py collect "$work/run.db" "$work/shell.out" "$work/results/$name.$round.json"
}

peer_setup="SELECT llm_model_load('$model', 'gpu_layers=0');
SELECT llm_context_create('context_size=4096,n_threads=$threads,n_threads_batch=$threads');
SELECT llm_sampler_create();
SELECT llm_sampler_init_greedy();
SELECT llm_text_generate('Warm up:', 'n_predict=$tokens');"
aiq_setup="SELECT ai_endpoint_set('bench-gemma', '$endpoint');
SELECT ai_query('bench-gemma', 'Warm up:', 'modelParameters', '$params');
CREATE TEMP TABLE before AS SELECT output_tokens FROM ai_usage() WHERE endpoint = 'bench-gemma';"
aiq_after="SELECT 'tokens: ' || (output_tokens - (SELECT output_tokens FROM before)) FROM ai_usage() WHERE endpoint = 'bench-gemma';
SELECT 'cache_hits: ' || cache_hits FROM ai_usage() WHERE endpoint = 'bench-gemma';"

# The servers stay up for the whole run, each warmed by one request.
cat >"$work/endpoints.yaml" <<YAML
endpoints:
  - name: bench-gemma
    endpoint_type: llm/v1/completions
    model: {provider: local, config: {model_path: "$model"}}
YAML
token=dapi-local-llm-bench
"${aiq[@]}" AIQUERY_CONFIG="$work/endpoints.yaml" AIQUERY_SERVE_TOKEN=$token LOG_LEVEL=error \
    "$bin/aiquery" serve --port 0 >"$work/serve.out" 2>"$work/serve.err" &
serve_pid=$!
for _ in $(seq 200); do [[ -s $work/serve.out ]] && break; sleep 0.05; done
serve_url=$(head -1 "$work/serve.out")
[[ $serve_url == http* ]] || { echo "local_llm: aiquery serve did not start:" >&2; cat "$work/serve.err" >&2; exit 1; }
python3 benchmarks/local_llm.py warm serve "$serve_url" "$token" "$tokens"
llama_note=""
if scripts/local-llm status >/dev/null 2>&1; then
    llama_note=" (llama.cpp server already running: its own threads)"
else
    llama_started=1
fi
llama_url=$(AIQUERY_LOCAL_LLM_THREADS=$threads scripts/local-llm start)
python3 benchmarks/local_llm.py warm llamacpp "$llama_url" "" "$tokens"

labels="{\"sqlite-ai\": \"sqlite-ai llm_text_generate\", \"ai_query\": \"ai_query, row by row\""
for c in $concurrencies; do labels+=", \"rows-c$c\": \"ai_query_rows, concurrency $c\""; done
labels+=", \"serve\": \"aiquery serve, $clients clients\", \"llamacpp\": \"llama.cpp server, $clients clients\"}"

model_mb=$(awk -v b="$(stat -c %s "$model")" 'BEGIN {printf "%.1f", b / 1e6}')
llama_mb=$(du -cbL "$(dirname "$llama_lib")"/lib{llama,ggml,ggml-base,ggml-cpu}.so 2>/dev/null | awk 'END {printf "%.1f", $1 / 1e6}')
aiq_mb=$(awk -v b="$(stat -c %s "$ext.so")" 'BEGIN {printf "%.1f", b / 1e6}')
peer_mb=$(awk -v b="$(stat -c %s "$peer_ext.so")" 'BEGIN {printf "%.1f", b / 1e6}')
peer_version=$(sqlite3 :memory: ".load $peer_ext" "SELECT ai_version();")
llama_version=$(basename "$(ls -d "$(dirname "$(dirname "$(dirname "$llama_lib")")")"/llama_cpp_python-*.dist-info 2>/dev/null | head -1)" .dist-info)
cpu=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
# llama-cpp-python's libggml-cpu runs its threads with OpenMP (libgomp), whose waiting threads spin unless
# OMP_WAIT_POLICY=passive; sqlite-ai's ggml uses its own thread pool.
omp=""
ldd "$(dirname "$llama_lib")/libggml-cpu.so" 2>/dev/null | grep -q libgomp && omp=", OpenMP threads (OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-unset})"
echo "local LLM: $cores cores (${cpu:-unknown CPU}), $threads decoding threads in every path$llama_note; $(basename "$model") ($model_mb MB);" \
    "$count prompts x $tokens tokens, greedy; $rounds interleaved round(s); libAIQuery.so $aiq_mb MB + llama.cpp from llama-cpp-python" \
    "${llama_version#llama_cpp_python-} ${llama_mb} MB (libllama, libggml*$omp); sqlite-ai $peer_version ai.so $peer_mb MB;" \
    "load average $(cut -d' ' -f1-3 /proc/loadavg)"

for round in $(seq "$rounds"); do
    echo "local_llm: round $round of $rounds…" >&2
    shell_round sqlite-ai "$round" "$peer_ext" "$peer_setup" \
        "SELECT id, llm_text_generate(prompt, 'n_predict=$tokens') AS response FROM p.prompts ORDER BY id" \
        "SELECT 'tokens: ' || total(max(llm_token_count(response) - 1, 0)) FROM out;" env
    shell_round ai_query "$round" "$ext" "$aiq_setup" \
        "SELECT id, ai_query('bench-gemma', prompt, 'modelParameters', '$params') AS response FROM p.prompts ORDER BY id" \
        "$aiq_after" "${aiq[@]}"
    for c in $concurrencies; do
        shell_round "rows-c$c" "$round" "$ext" "$aiq_setup" \
            "SELECT id, response FROM ai_query_rows('bench-gemma', 'SELECT id, prompt FROM p.prompts ORDER BY id', '{\"concurrency\":$c,\"modelParameters\":$params}')" \
            "$aiq_after" "${aiq[@]}"
    done
    python3 benchmarks/local_llm.py client serve "$serve_url" "$token" "$work/prompts.db" "$tokens" "$clients" "$work/results/serve.$round.json"
    python3 benchmarks/local_llm.py client llamacpp "$llama_url" "" "$work/prompts.db" "$tokens" "$clients" "$work/results/llamacpp.$round.json"
done

targets="{\"ai_query\": 1.0"
for c in $concurrencies; do [[ $c == 8 ]] && targets+=", \"rows-c8\": 3"; done
targets+="}"
BENCH_LABELS=$labels BENCH_TARGETS=$targets python3 benchmarks/local_llm.py report "$work/results" sqlite-ai
echo "local LLM: whole run $((SECONDS - started_at)) s (builds and installs included)"
