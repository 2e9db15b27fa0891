-- wrk script for the HTTP ceiling of bench/run: POSTs the benchmark's event bodies (one per
-- line of BENCH_BODIES) round-robin, with the headers the processor sends.
local bodies = {}
local index = 0

function init(args)
  for line in io.lines(os.getenv("BENCH_BODIES")) do
    bodies[#bodies + 1] = line
  end
  index = math.random(#bodies)
end

function request()
  index = index % #bodies + 1
  return wrk.format("POST", "/event", {
    ["Content-Type"] = "application/json; charset=utf-8",
    ["X-Anchor-Event-Id"] = tostring(index),
  }, bodies[index])
end
