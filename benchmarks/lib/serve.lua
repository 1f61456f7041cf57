-- wrk script for benchmarks/serve.sh: POSTs chat requests. args: mode (unique | fixed), path kind (gateway |
-- direct), and optionally a pause in milliseconds before each request (an idle machine between requests).
-- Unique mode sends a new prompt every time (each a cache miss, asked upstream); fixed mode the same one (a cache
-- hit once warm). Prints one JSON line of results when done.
local threads = {}
function setup(thread)
    thread:set("tid", #threads + 1)
    table.insert(threads, thread)
end

function init(args)
    mode, kind, n, pause = args[1] or "unique", args[2] or "gateway", 0, tonumber(args[3] or "0")
    headers = { ["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. (os.getenv("TOKEN") or "") }
    model = kind == "direct" and '"model":"bench",' or ""
end

function delay()
    return pause
end

function request()
    n = n + 1
    local prompt = mode == "fixed" and "the same question" or ("bench " .. tid .. "-" .. n .. "-" .. os.time())
    return wrk.format("POST", nil, headers, '{' .. model .. '"messages":[{"role":"user","content":"' .. prompt .. '"}]}')
end

function done(summary, latency, requests)
    local e = summary.errors
    io.write(string.format('{"p50_us":%d,"p99_us":%d,"rps":%.1f,"requests":%d,"errors":%d}\n',
        latency:percentile(50), latency:percentile(99), summary.requests / (summary.duration / 1e6), summary.requests,
        e.connect + e.read + e.write + e.status + e.timeout))
end
