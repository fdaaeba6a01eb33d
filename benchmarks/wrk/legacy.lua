-- tools/call add(a=1, b=2) in the legacy era (2025-11-25), in a session that the caller opened
-- (initialize, then notifications/initialized) and whose Mcp-Session-Id is the first argument.
--
--   wrk -t1 -c32 -d10s --latency -s benchmarks/wrk/legacy.lua http://127.0.0.1:PORT/mcp -- SESSION_ID [once]

dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "mcp_check.lua")

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json, text/event-stream"
wrk.headers["MCP-Protocol-Version"] = "2025-11-25"
wrk.body = '{"jsonrpc":"2.0","id":' .. MCP_ID_PLACEHOLDER .. ',"method":"tools/call",'
  .. '"params":{"name":"add","arguments":{"a":1,"b":2}}}'

function init(args)
  if args[1] == nil or args[1] == "once" then
    error("legacy.lua: the first script argument must be the Mcp-Session-Id")
  end
  wrk.headers["Mcp-Session-Id"] = args[1]
  mcp_init(args)
end
