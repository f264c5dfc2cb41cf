-- wrk script for scripts/bench-load: 100 clients, mixed reads and writes with an API token.
-- Reads: the process, user and pending-change lists and one's own account; writes: node pools
-- created and deleted again, API tokens created. Every answer must be 2xx (wrk counts others).
local threads = {}
local next_id = 0

function setup(thread)
  next_id = next_id + 1
  thread:set("tid", next_id)
  table.insert(threads, thread)
end

function init(args)
  token = os.getenv("BENCH_TOKEN")
  n = 0
  created = {}
  headers = { ["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json" }
end

function request()
  n = n + 1
  local r = math.random(100)
  if #created > 0 and r <= 8 then
    return wrk.format("DELETE", "/api/v1/node-pools/" .. table.remove(created), headers)
  elseif r <= 16 then
    return wrk.format("POST", "/api/v1/node-pools", headers, string.format('{"name":"load-%d-%d"}', tid, n))
  elseif r <= 20 then
    return wrk.format("POST", "/api/v1/tokens", headers, string.format('{"name":"load-%d-%d"}', tid, n))
  end
  if r <= 60 then
    return wrk.format("GET", "/api/v1/processes?per_page=50", headers)
  elseif r <= 80 then
    return wrk.format("GET", "/api/v1/users?per_page=20&sort=-created", headers)
  elseif r <= 95 then
    return wrk.format("GET", "/api/v1/pending-changes?per_page=20", headers)
  end
  return wrk.format("GET", "/api/v1/auth/me", headers)
end

function response(status, headers, body)
  -- Answers arrive in any order over a thread's connections: a new pool is known by its body.
  if status == 201 then
    local id = string.match(body, '^{"id":"(%x+)","name":"load%-')
    if id then table.insert(created, id) end
  end
  if status >= 300 then
    -- What went wrong, for the summary: the status and the first words of the message.
    local key = status .. " " .. string.sub(string.match(body, '"message":"([^"]*)"') or "", 1, 80)
    bad = bad or {}
    bad[key] = (bad[key] or 0) + 1
    bad_list = ""
    for k, v in pairs(bad) do bad_list = bad_list .. v .. " x " .. k .. "\n" end
  end
end

function done(summary, latency, requests)
  for _, t in ipairs(threads) do
    local list = t:get("bad_list")
    if list and #list > 0 then io.stderr:write("non-2xx answers:\n" .. list) end
  end
end
