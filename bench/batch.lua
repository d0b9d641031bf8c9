-- wrk script for the benchmark suite and the load tests: POSTs the batch in
-- $TALLY_BATCH_FILE with $TALLY_AGENT_KEY, each request with a batch_id of
-- its own (run $TALLY_BENCH_RUN, 8 hex digits; wrk thread; counter), so no
-- request is answered as a duplicate, within a run or across runs. With
-- $TALLY_DEVICES set, the agent id cycles through that many devices, so a
-- fleet rather than one machine is reporting.
--
-- With $TALLY_BENCH_DELAY_MS set, every connection waits that long before
-- each request: wrk 4 has no rate option (-R is wrk2's), so -cN connections
-- send about N * 1000 / (delay + latency) requests/s. The latency wrk
-- reports starts when the request is written, after the delay.
local next_thread = 0

setup = function(thread)
  thread:set("thread_index", next_thread)
  next_thread = next_thread + 1
end

local counter = 0
local template
local run = tonumber(os.getenv("TALLY_BENCH_RUN") or "0", 16)
local devices = tonumber(os.getenv("TALLY_DEVICES") or "0")

init = function()
  template = io.open(os.getenv("TALLY_BATCH_FILE")):read("*a")
  wrk.method = "POST"
  wrk.headers["Authorization"] = "Bearer " .. os.getenv("TALLY_AGENT_KEY")
  wrk.headers["Content-Type"] = "application/json"
end

request = function()
  counter = counter + 1
  -- thread_index is the global that setup() set in this thread's state.
  local id = string.format("%08x-%04x-4000-8000-%012x", run, thread_index, counter)
  local body = template:gsub('"batch_id": *"[^"]*"', '"batch_id":"' .. id .. '"', 1)
  if devices > 0 then
    local agent = string.format("%08x-%04x-4111-8111-%012x", run, thread_index, counter % devices)
    body = body:gsub('("agent": *{ *"id": *)"[^"]*"', '%1"' .. agent .. '"', 1)
  end
  return wrk.format(nil, nil, nil, body)
end

local delay_ms = tonumber(os.getenv("TALLY_BENCH_DELAY_MS") or "")
if delay_ms ~= nil and delay_ms > 0 then
  -- wrk takes whole milliseconds: dither so that the mean is delay_ms.
  delay = function()
    local d = math.floor(delay_ms)
    if math.random() < delay_ms - d then
      d = d + 1
    end
    return d
  end
end

done = function(summary, latency, requests)
  io.write(string.format("LUA non2xx=%d\n", summary.errors.status))
end
