-- modern.lua with heads that are not all the same, to measure what the server's shortcut for a
-- repeated head is worth:
--
--   wrk ... -s benchmarks/wrk/modern_distinct.lua URL -- length   # the body's length varies (0 to 6
--       spaces of JSON whitespace), so only Content-Length changes, as a real client's does
--   wrk ... -s benchmarks/wrk/modern_distinct.lua URL              # every head carries an
--       X-Request-Seq header that counts up, so no two heads are alike: the parser reads them all

dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "modern.lua")

local same_head_request = request
local vary_length = false
local seq = 0

local modern_init = init
function init(args)
  modern_init(args)
  for _, arg in ipairs(args) do
    if arg == "length" then
      vary_length = true
    end
  end
end

function request()
  local built = same_head_request()
  seq = seq + 1
  if vary_length then
    local head_end = built:find("\r\n\r\n", 1, true)
    local body = "{" .. string.rep(" ", seq % 7) .. built:sub(head_end + 5)
    local head = built:sub(1, head_end + 3):gsub("Content%-Length: %d+", "Content-Length: " .. #body)
    return head .. body
  end
  local line_end = built:find("\r\n", 1, true)
  return built:sub(1, line_end + 1) .. "X-Request-Seq: " .. seq .. "\r\n" .. built:sub(line_end + 2)
end
