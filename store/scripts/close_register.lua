-- KEYS: closes, close hash. ARGV: period, month index, run, total, started_at.
redis.call("zadd", KEYS[1], "NX", ARGV[2], ARGV[1])
if redis.call("hget", KEYS[2], "run") == ARGV[3] then
    return redis.call("hget", KEYS[2], "sent") == ARGV[3] and 1 or 0
end
redis.call("hset", KEYS[2], "run", ARGV[3], "total", ARGV[4], "state", "closing",
           "started_at", ARGV[5])
return 0
