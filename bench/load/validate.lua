-- wrk script: POST /api/v1/validate with random keys over the generated replica.
-- LE_LICENSES (default 1000000) keys exist; LE_UNKNOWN_PCT (default 10) percent of requests use
-- a key that does not; LE_API_KEY, when set, is sent as a Bearer API key. With LE_XFF=1 each
-- request carries a random client address in X-Forwarded-For (header text only: the traffic
-- itself goes to the target given to wrk), as public clients behind a CDN would. LE_MACHINE_ID,
-- when set, is sent as machine_id (bench/load/reports.sh: one no license holds). LE_OFFLINE=1
-- asks for an offline receipt with every request (bench/load/receipts.sh).
-- LE_KEYS_FILE=<file> validates real keys instead (bench/load/heartbeats.sh): one per line,
-- "KEY" or "KEY MACHINE_ID", each request a random line (LE_LICENSES and LE_UNKNOWN_PCT unused).
local n = tonumber(os.getenv("LE_LICENSES") or "1000000")
local unknown_pct = tonumber(os.getenv("LE_UNKNOWN_PCT") or "10")
local api_key = os.getenv("LE_API_KEY") or ""
local xff = os.getenv("LE_XFF") == "1"
local machine = os.getenv("LE_MACHINE_ID") or ""
local tail = '"}'
if machine ~= "" then tail = '","machine_id":"' .. machine .. '"}' end
if os.getenv("LE_OFFLINE") == "1" then tail = string.sub(tail, 1, -2) .. ',"offline":true}' end

local keys_file = os.getenv("LE_KEYS_FILE") or ""
local lines = {}

local headers = { ["Content-Type"] = "application/json" }
if api_key ~= "" then headers["Authorization"] = "Bearer " .. api_key end

local created = 0
function setup(thread)
  created = created + 1
  thread:set("tid", created)
end

function init(args)
  math.randomseed(os.time() * 1000 + (tid or 0))
  if keys_file ~= "" then
    for line in io.lines(keys_file) do
      local key, m = line:match("^(%S+)%s+(%S+)")
      if key then
        lines[#lines + 1] = '{"license_key":"' .. key .. '","machine_id":"' .. m .. '"}'
      elseif line:match("%S") then
        lines[#lines + 1] = '{"license_key":"' .. line:match("%S+") .. '"}'
      end
    end
    assert(#lines > 0, "LE_KEYS_FILE " .. keys_file .. " has no keys")
  end
end

local function key_of(i)
  return string.format("BNCH-%04d-%04d-%04d", math.floor(i / 100000000) % 10000,
                       math.floor(i / 10000) % 10000, i % 10000)
end

function request()
  if #lines > 0 then
    if xff then
      headers["X-Forwarded-For"] = string.format("%d.%d.%d.%d", 11 + math.random(200),
                                                 math.random(255), math.random(255), math.random(254))
    end
    return wrk.format("POST", "/api/v1/validate", headers, lines[math.random(#lines)])
  end
  local i
  if math.random(100) <= unknown_pct then
    i = n + math.random(n)  -- beyond the generated range: unknown
  else
    i = math.random(n) - 1
  end
  if xff then
    headers["X-Forwarded-For"] = string.format("%d.%d.%d.%d", 11 + math.random(200),
                                               math.random(255), math.random(255), math.random(254))
  end
  return wrk.format("POST", "/api/v1/validate", headers, '{"license_key":"' .. key_of(i) .. tail)
end
