-- tools/call add(a=1, b=2) in the modern era (2026-07-28): no session, the protocol version and
-- client capabilities in every request's _meta, the routing headers set.
--
--   wrk -t1 -c32 -d10s --latency -s benchmarks/wrk/modern.lua http://127.0.0.1:PORT/mcp [-- once]

dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "mcp_check.lua")

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json, text/event-stream"
wrk.headers["MCP-Protocol-Version"] = "2026-07-28"
wrk.headers["Mcp-Method"] = "tools/call"
wrk.headers["Mcp-Name"] = "add"
wrk.body = '{"jsonrpc":"2.0","id":' .. MCP_ID_PLACEHOLDER .. ',"method":"tools/call","params":{"name":"add",'
  .. '"arguments":{"a":1,"b":2},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28",'
  .. '"io.modelcontextprotocol/clientCapabilities":{}}}}'

function init(args)
  mcp_init(args)
end
