-- POST / with a unique 1 KiB text body per request. With POW_TOKENS set, each request
-- presents the next pre-solved proof-of-work token of that file ("token solution" lines);
-- with CERT set, the X-SSL-Client-SHA1 header of a client certificate.
local pad = string.rep("x", 1024)
local n = 0
local tokens = {}
local cert = os.getenv("CERT")
function init(args)
  math.randomseed(os.time() + tonumber(tostring({}):match("0x(%x+)") or "0", 16) % 100000)
  local path = os.getenv("POW_TOKENS")
  if path then
    for line in io.lines(path) do
      local token, solution = line:match("^(%S+) (%S+)$")
      tokens[#tokens + 1] = {token, solution}
    end
  end
end
function request()
  n = n + 1
  local head = string.format("%d-%d-%d ", n, math.random(1, 2147483647), math.random(1, 2147483647))
  local headers = {["Content-Type"] = "text/plain"}
  if cert then
    headers["X-SSL-Client-SHA1"] = cert
  end
  if #tokens > 0 then
    -- Past the last token, the first come again and are refused as spent (non-2xx).
    local t = tokens[(n - 1) % #tokens + 1]
    headers["X-PoW-Token"] = t[1]
    headers["X-PoW-Solution"] = t[2]
  end
  return wrk.format("POST", "/", headers, (head .. pad):sub(1, 1024))
end
