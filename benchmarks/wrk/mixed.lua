-- A modern-era mix for the memory-stability check: tools/call add (60%), tools/list (15%),
-- resources/read (15%) and prompts/get (10%) against examples/everything.py, each with the
-- headers it must carry. Answers are checked: a non-2xx status or a body without "result"
-- counts as an error, printed by done() as "MIXED {json}".

local META = '"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28",'
  .. '"io.modelcontextprotocol/clientCapabilities":{}}'
local CASES = {
  { weight = 60, method = "tools/call", name = "add",
    params = '{"name":"add","arguments":{"a":1,"b":2},' .. META .. '}' },
  { weight = 15, method = "tools/list", params = '{' .. META .. '}' },
  { weight = 15, method = "resources/read", name = "test://static-text",
    params = '{"uri":"test://static-text",' .. META .. '}' },
  { weight = 10, method = "prompts/get", name = "test_simple_prompt",
    params = '{"name":"test_simple_prompt",' .. META .. '}' },
}

local schedule = {}
ok, errors = 0, 0

function init(args)
  for _, case in ipairs(CASES) do
    local headers = {
      ["Content-Type"] = "application/json",
      ["Accept"] = "application/json, text/event-stream",
      ["MCP-Protocol-Version"] = "2026-07-28",
      ["Mcp-Method"] = case.method,
    }
    if case.name then headers["Mcp-Name"] = case.name end
    local body = '{"jsonrpc":"2.0","id":1,"method":"' .. case.method .. '","params":' .. case.params .. '}'
    local request = wrk.format("POST", nil, headers, body)
    for _ = 1, case.weight do table.insert(schedule, request) end
  end
  position = math.random(#schedule)
end

function request()
  position = position % #schedule + 1
  return schedule[position]
end

function response(status, headers, body)
  if status == 200 and string.find(body, '"result"', 1, true) then
    ok = ok + 1
  else
    errors = errors + 1
  end
end

local threads = {}
function setup(thread) table.insert(threads, thread) end

function done(summary, latency, requests)
  local total_ok, total_errors = 0, 0
  for _, thread in ipairs(threads) do
    total_ok = total_ok + thread:get("ok")
    total_errors = total_errors + thread:get("errors")
  end
  io.write(string.format('MIXED {"ok":%d,"errors":%d}\n', total_ok, total_errors))
end
