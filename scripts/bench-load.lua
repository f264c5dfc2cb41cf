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
  last = nil
end

function request()
  n = n + 1
  local r = math.random(100)
  if #created > 0 and r <= 8 then
    last = "delete"
    return wrk.format("DELETE", "/api/v1/node-pools/" .. table.remove(created), headers)
  elseif r <= 16 then
    last = "pool"
    return wrk.format("POST", "/api/v1/node-pools", headers, string.format('{"name":"load-%d-%d"}', tid, n))
  elseif r <= 20 then
    last = "token"
    return wrk.format("POST", "/api/v1/tokens", headers, string.format('{"name":"load-%d-%d"}', tid, n))
  end
  last = "read"
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
  if last == "pool" and status == 201 then
    local id = string.match(body, '"id":"(%x+)"')
    if id then table.insert(created, id) end
  end
end
