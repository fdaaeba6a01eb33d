-- Shared by the per-case scripts in this directory (modern.lua, legacy.lua): request ids, answer
-- checking and the report. A case script loads this file, sets wrk.method, wrk.headers and wrk.body
-- (tools/call add(a=1, b=2) with '"id":' .. MCP_ID_PLACEHOLDER), and calls mcp_init(args) from its
-- init(args).
--
-- Ids: every request gets its own JSON-RPC id, as a real client's requests do; a server may route
-- answers by id within a session (the SDK's stateful server does, and with one id repeated on 32
-- connections it answers on one of them and leaves the others waiting, which wrk does not count as
-- an error). Ids have a fixed width, so the request is formatted once and each request() is one
-- concatenation: thread n (from 0) sends 1000000000 + n, then adds 1024 each time.
--
-- Checking: a 2xx answer counts as correct only if its body (JSON or an SSE event) holds the tool's
-- structured result, 3, and is not a tool error. Everything else counts as non-2xx or as a bad body,
-- so errors are never taken for throughput. done() prints one line, "MCPWRK {json}": the counts
-- summed over wrk's threads, wrk's own figures (latencies in microseconds, as wrk corrects them for
-- coordinated omission) and the first answer (status, body, and the id of the request built last
-- before it: with one connection, the request it answers), for the caller to check strictly.
--
-- Script argument "once": each thread stops after its first answer (with -c1, one request).
--
-- Extra counters: a case script may count more per thread in global variables and name them in
-- MCP_EXTRA_COUNTERS; done() sums them over the threads and prints them under "extra".

MCP_ID_PLACEHOLDER = "1000000000"
local FIRST_ID = tonumber(MCP_ID_PLACEHOLDER)
local ID_STRIDE = 1024
local EXPECTED = '"structuredContent":{"result":3}'
local TOOL_ERROR = '"isError":true'
local JSON_ESCAPES = { ['"'] = '\\"', ['\\'] = '\\\\' }

local threads = {}
local once = false
local request_head, request_tail, next_id, last_id
ok, non2xx, bad_body = 0, 0, 0
first_status, first_body, first_id = nil, nil, nil
MCP_EXTRA_COUNTERS = {}

function setup(thread)
  thread:set("thread_index", #threads)
  table.insert(threads, thread)
end

function mcp_init(args)
  for _, arg in ipairs(args) do
    if arg == "once" then
      once = true
    end
  end
  local template = wrk.format()
  local marker = '"id":' .. MCP_ID_PLACEHOLDER
  local at = template:find(marker, 1, true)
  if at == nil then
    error("mcp_check.lua: the body has no " .. marker)
  end
  at = at + #'"id":'
  request_head, request_tail = template:sub(1, at - 1), template:sub(at + #MCP_ID_PLACEHOLDER)
  next_id = FIRST_ID + thread_index
end

function request()
  last_id = next_id
  next_id = next_id + ID_STRIDE
  return request_head .. string.format("%d", last_id) .. request_tail
end

function response(status, headers, body)
  if first_status == nil then
    first_status, first_body, first_id = status, body, last_id
    if once then
      wrk.thread:stop()
    end
  end
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
  elseif body:find(EXPECTED, 1, true) and not body:find(TOOL_ERROR, 1, true) then
    ok = ok + 1
  else
    bad_body = bad_body + 1
  end
end

local function json_string(s)
  if s == nil then
    return "null"
  end
  local escaped = s:gsub('[%c"\\]', function(c)
    return JSON_ESCAPES[c] or string.format("\\u%04x", c:byte())
  end)
  return '"' .. escaped .. '"'
end

local function json_number(n)
  return n == nil and "null" or string.format("%d", n)
end

function done(summary, latency, requests)
  local counts = { ok = 0, non2xx = 0, bad_body = 0 }
  local first = threads[1]
  for _, thread in ipairs(threads) do
    for name, _ in pairs(counts) do
      counts[name] = counts[name] + thread:get(name)
    end
  end
  local extra = {}
  for _, name in ipairs(MCP_EXTRA_COUNTERS) do
    local total = 0
    for _, thread in ipairs(threads) do
      total = total + thread:get(name)
    end
    table.insert(extra, string.format("%s:%d", json_string(name), total))
  end
  local e = summary.errors
  io.write(string.format(
    'MCPWRK {"requests":%d,"duration_us":%d,"bytes":%d,"ok":%d,"non2xx":%d,"bad_body":%d,'
      .. '"connect_errors":%d,"read_errors":%d,"write_errors":%d,"timeouts":%d,'
      .. '"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,"mean_us":%.1f,'
      .. '"first_status":%s,"first_id":%s,"first_body":%s,"extra":{%s}}\n',
    summary.requests, summary.duration, summary.bytes, counts.ok, counts.non2xx, counts.bad_body,
    e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean,
    json_number(first:get("first_status")), json_number(first:get("first_id")),
    json_string(first:get("first_body")), table.concat(extra, ",")))
end
