-- GET /{id}/raw of a random paste among those listed in the file IDS (one id per line):
-- reads that miss every cache and walk the table's B-tree.
local ids = {}
function init(args)
  math.randomseed(os.time() + tonumber(tostring({}):match("0x(%x+)") or "0", 16) % 100000)
  for line in io.lines(os.getenv("IDS")) do
    ids[#ids + 1] = "/" .. line .. "/raw"
  end
end
function request()
  return wrk.format("GET", ids[math.random(1, #ids)])
end
