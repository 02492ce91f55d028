-- wrk script for bench/run.py: replays the requests of one scenario and prints
-- wrk's figures as one JSON line.
--
--   wrk ... -s bench/requests.lua <url> -- <requests file> <unique prefix> <threads>
--
-- The requests file has one request per line, tab-separated:
--   METHOD  PATH  HEADERS  BODY
-- HEADERS is "Name: value" pairs separated by "|"; in BODY, {uid} becomes a value
-- unique to this run (idempotency keys). Thread i of n sends lines i, i+n, i+2n, …
-- so that no two threads send the same line (each order is cancelled once).

local requests = {}
local position, step, sent = 1, 1, 0
local prefix = "run"

function setup(thread)
  thread:set("thread_index", setup_count or 0)
  setup_count = (setup_count or 0) + 1
end

local function split(text, separator)
  local parts = {}
  for part in (text .. separator):gmatch("(.-)" .. separator:gsub("%p", "%%%0")) do
    table.insert(parts, part)
  end
  return parts
end

function init(args)
  prefix = args[2] or prefix
  step = tonumber(args[3] or "1")
  for line in io.lines(args[1]) do
    local fields = split(line, "\t")
    local headers = {}
    if fields[3] ~= "" then
      for _, pair in ipairs(split(fields[3], "|")) do
        local name, value = pair:match("^([^:]+):%s*(.*)$")
        headers[name] = value
      end
    end
    local body = fields[4] ~= "" and fields[4] or nil
    local entry = { method = fields[1], path = fields[2], headers = headers, body = body }
    if not (body and body:find("{uid}", 1, true)) then
      entry.raw = wrk.format(entry.method, entry.path, headers, body)
    end
    table.insert(requests, entry)
  end
  position = (thread_index or 0) % #requests + 1
end

function request()
  local entry = requests[position]
  position = (position - 1 + step) % #requests + 1
  if entry.raw then
    return entry.raw
  end
  sent = sent + 1
  local uid = string.format("%s-%d-%d", prefix, thread_index or 0, sent)
  return wrk.format(entry.method, entry.path, entry.headers, (entry.body:gsub("{uid}", uid)))
end

function done(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "duration_us": %d, "connect": %d, "read": %d, "write": %d, '
      .. '"status": %d, "timeout": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d}\n',
    summary.requests, summary.duration, errors.connect, errors.read, errors.write, errors.status,
    errors.timeout, latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max
  ))
end
