-- One request per connection: the modern-era tools/call add(a=1, b=2) of modern.lua with the header
-- "Connection: close", so the server answers and closes, and wrk opens a new connection for the next
-- request (it reconnects after every answer that does not keep the connection alive). Correct
-- answers per second are then new connections per second. "closed" counts the answers that carried
-- "connection: close" (any case): if it falls short of the answers, the server kept connections
-- open and the figure is not a connection rate.
--
--   wrk -t1 -c32 -d10s --latency -s benchmarks/wrk/close.lua http://127.0.0.1:PORT/mcp [-- once]

dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "modern.lua")

wrk.headers["Connection"] = "close"
closed = 0
table.insert(MCP_EXTRA_COUNTERS, "closed")

local check = response

function response(status, headers, body)
  for name, value in pairs(headers) do
    if name:lower() == "connection" and value:lower() == "close" then
      closed = closed + 1
    end
  end
  check(status, headers, body)
end
