-- POST / with a unique 1 KiB text body per request.
local pad = string.rep("x", 1024)
local n = 0
function init(args)
  math.randomseed(os.time() + tonumber(tostring({}):match("0x(%x+)") or "0", 16) % 100000)
end
function request()
  n = n + 1
  local head = string.format("%d-%d-%d ", n, math.random(1, 2147483647), math.random(1, 2147483647))
  return wrk.format("POST", "/", {["Content-Type"] = "text/plain"}, (head .. pad):sub(1, 1024))
end
