#!/usr/bin/env bash
# aiquery serve measured from outside with wrk, against a zero-delay upstream and then a 20 ms one (LATENCIES):
#   added latency at concurrency 1: gateway p50/p99 minus the upstream's own p50/p99 (targets <= 0.3 ms, <= 1 ms)
#   requests per second at concurrency 64, every request a new prompt (a cache miss), with p99 and errors
#     (target >= 2,500 rps, 0 errors)
#   a cache hit end to end at concurrency 1, p50 (target <= 0.2 ms)
#   the server's RSS idle and its peak under load (targets <= 64 MB, <= 256 MB)
#   with the zero-delay upstream, the same added latency when the machine idles 20 ms before each request (as it
#   does behind a 20 ms upstream): caches and cores go cold, and even the do-nothing upstream answers slower. It
#   shows what part of the 20 ms run's added latency is the idle machine rather than the gateway's work.
#   the same added latency for nginx-light as a keepalive reverse proxy to the same upstream, the one-hop floor
#     (target: aiquery within 2x nginx's, at 0 ms and at 20 ms)
# SECONDS_EACH=10 per wrk run. The upstream is serve-bench-upstream (Hummingbird), so it is not the bottleneck.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${SECONDS_EACH:-10}
latencies=${LATENCIES:-"0 20"}
command -v wrk >/dev/null || { scripts/setup; apt-get install -y -qq wrk >/dev/null 2>&1 || sudo apt-get install -y -qq wrk >/dev/null; }
# nginx as a keepalive reverse proxy in front of the same upstream: the one-hop floor aiquery's added latency is
# compared with.
command -v nginx >/dev/null || [[ -x /usr/sbin/nginx ]] || apt-get install -y -qq nginx-light >/dev/null 2>&1 || sudo apt-get install -y -qq nginx-light >/dev/null
nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)
swift build -c release --product aiquery >/dev/null
swift build -c release --product serve-bench-upstream >/dev/null
bin=$(swift build -c release --show-bin-path)
work=$(mktemp -d)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; rm -rf "$work"' EXIT
export TOKEN=dapi-bench-token

# start CMD…: runs CMD in the background and waits for its first line (PORT n, or a URL), which it leaves in
# $first; the pid is $last_pid (and in pids, for the cleanup).
start() {
    : > "$work/first-line"
    "$@" > "$work/first-line" 2>> "$work/stderr" &
    last_pid=$!
    pids+=("$last_pid")
    for _ in $(seq 200); do [[ -s $work/first-line ]] && break; sleep 0.05; done
    first=$(head -1 "$work/first-line")
}
bench() {  # bench CONNECTIONS MODE KIND URL [PAUSE_MS]
    wrk -t "$(( $1 < 2 ? 1 : 2 ))" -c "$1" -d "${seconds}s" -s benchmarks/lib/serve.lua "$4" -- "$2" "$3" "${5:-0}" | tail -1
}
field() { python3 -c 'import json, sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"; }
rss_mb() { awk -v key="$2" '$1 == key {printf "%.1f", $2 / 1024}' "/proc/$1/status"; }

for latency in $latencies; do
    start "$bin/serve-bench-upstream" --latency-ms "$latency"
    upstream_port=${first#PORT }
    home="$work/home-$latency"
    mkdir -p "$home"
    cat > "$home/endpoints.yaml" <<YAML
endpoints:
  - name: bench
    endpoint_type: llm/v1/chat
    model: {provider: openai, name: bench, config: {openai_api_base: "http://127.0.0.1:$upstream_port/v1"}}
YAML
    HOME=$home AIQUERY_CONFIG=$home/endpoints.yaml AIQUERY_CACHE=${BENCH_CACHE:-$home/cache.db} AIQUERY_SERVE_TOKEN=$TOKEN LOG_LEVEL=error \
        start "$bin/aiquery" serve --port 0
    url=$first
    server=$last_pid
    idle=$(rss_mb "$server" VmRSS:)
    nginx_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    mkdir -p "$work/nginx-$latency"
    cat > "$work/nginx-$latency/nginx.conf" <<NGINX
worker_processes 1;
daemon off;
pid $work/nginx-$latency/nginx.pid;
error_log $work/nginx-$latency/error.log;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $work/nginx-$latency; proxy_temp_path $work/nginx-$latency; fastcgi_temp_path $work/nginx-$latency;
    uwsgi_temp_path $work/nginx-$latency; scgi_temp_path $work/nginx-$latency;
    upstream model { server 127.0.0.1:$upstream_port; keepalive 64; }
    server {
        listen 127.0.0.1:$nginx_port;
        location / { proxy_pass http://model; proxy_http_version 1.1; proxy_set_header Connection ""; }
    }
}
NGINX
    "$nginx_bin" -p "$work/nginx-$latency" -c "$work/nginx-$latency/nginx.conf" 2>> "$work/stderr" &
    pids+=($!)
    for _ in $(seq 200); do curl -s -o /dev/null "http://127.0.0.1:$nginx_port/" && break; sleep 0.05; done
    direct=$(bench 1 unique direct "http://127.0.0.1:$upstream_port/v1/chat/completions")
    proxied=$(bench 1 unique direct "http://127.0.0.1:$nginx_port/v1/chat/completions")
    gateway=$(bench 1 unique gateway "$url/serving-endpoints/bench/invocations")
    loaded=$(bench 64 unique gateway "$url/serving-endpoints/bench/invocations")
    bench 1 fixed gateway "$url/serving-endpoints/bench/invocations" >/dev/null  # warms the one cached answer
    hit=$(bench 1 fixed gateway "$url/serving-endpoints/bench/invocations")
    peak=$(rss_mb "$server" VmHWM:)
    paused_direct='{}' paused_gateway='{}'
    if [[ $latency == 0 ]]; then
        paused_direct=$(bench 1 unique direct "http://127.0.0.1:$upstream_port/v1/chat/completions" 20)
        paused_gateway=$(bench 1 unique gateway "$url/serving-endpoints/bench/invocations" 20)
    fi
    python3 - "$latency" "$direct" "$gateway" "$loaded" "$hit" "$idle" "$peak" "$paused_direct" "$paused_gateway" "$proxied" <<'PY'
import json, sys
latency, direct, gateway, loaded, hit = sys.argv[1], *(json.loads(a) for a in sys.argv[2:6])
idle, peak = float(sys.argv[6]), float(sys.argv[7])
paused_direct, paused_gateway = json.loads(sys.argv[8]), json.loads(sys.argv[9])
proxied = json.loads(sys.argv[10])
added50 = (gateway["p50_us"] - direct["p50_us"]) / 1000
added99 = (gateway["p99_us"] - direct["p99_us"]) / 1000
nginx50 = (proxied["p50_us"] - direct["p50_us"]) / 1000
print(f"upstream {latency} ms: nginx keepalive proxy adds {nginx50:.3f} ms p50, aiquery serve {added50:.3f} ms: "
      f"{added50 / nginx50 if nginx50 > 0 else float('nan'):.1f}x nginx (target <= 2x)")
print(f"upstream {latency} ms: added latency at c1 p50 {added50:.3f} ms (target <= 0.3), p99 {added99:.3f} ms (target <= 1) "
      f"[gateway {gateway['p50_us']/1000:.3f}/{gateway['p99_us']/1000:.3f} ms, upstream {direct['p50_us']/1000:.3f}/{direct['p99_us']/1000:.3f} ms]; "
      f"c64 {loaded['rps']:.0f} rps (target >= 2500) p99 {loaded['p99_us']/1000:.2f} ms, {loaded['errors']} errors; "
      f"cache hit p50 {hit['p50_us']/1000:.3f} ms (target <= 0.2); RSS idle {idle:.1f} MB (<= 64), peak {peak:.1f} MB (<= 256)")
if paused_direct:
    hot = (gateway["p50_us"] - direct["p50_us"]) / 1000
    cold = (paused_gateway["p50_us"] - paused_direct["p50_us"]) / 1000
    print(f"  idle 20 ms before each request: the do-nothing upstream answers in {paused_direct['p50_us']/1000:.3f} ms p50 "
          f"({paused_direct['p50_us'] / max(1, direct['p50_us']):.1f}x its {direct['p50_us']/1000:.3f} ms without pauses); "
          f"added by the gateway {cold:.3f} ms ({cold / hot if hot > 0 else float('nan'):.1f}x the {hot:.3f} ms without pauses)")
PY
    kill "${pids[@]}" 2>/dev/null || true
    wait 2>/dev/null || true
    pids=()
done
