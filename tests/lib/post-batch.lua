-- wrk script: POSTs the batch in $TALLY_BATCH_FILE with $TALLY_AGENT_KEY,
-- each request with a fresh batch_id (so every one is a new batch) from one
-- of $TALLY_DEVICES devices (default 1000; agent ids derived from the
-- counter, so a fleet, not one machine, is reporting).
local counter = 0
local template
local next_thread = 0

-- Runs in the main Lua state: gives each thread's state a global thread_id
-- (a local here would be shared by every thread's copy of the script).
setup = function(thread)
  thread:set("thread_id", next_thread)
  next_thread = next_thread + 1
end

local devices = 1000

init = function()
  devices = tonumber(os.getenv("TALLY_DEVICES") or "1000")
  template = io.open(os.getenv("TALLY_BATCH_FILE")):read("*a")
  wrk.method = "POST"
  wrk.headers["Authorization"] = "Bearer " .. os.getenv("TALLY_AGENT_KEY")
  wrk.headers["Content-Type"] = "application/json"
end

request = function()
  counter = counter + 1
  local id = string.format("%08x-0000-4000-8000-%012x", thread_id or 0, counter)
  local agent = string.format("%08x-1111-4111-8111-%012x", thread_id or 0, counter % devices)
  local body = template:gsub('"batch_id": *"[^"]*"', '"batch_id": "' .. id .. '"', 1)
  body = body:gsub('("agent": *{ *"id": *)"[^"]*"', '%1"' .. agent .. '"', 1)
  return wrk.format(nil, nil, nil, body)
end

done = function(summary, latency, requests)
  io.write(string.format("LUA non2xx=%d\n", summary.errors.status))
end
