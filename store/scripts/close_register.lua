-- KEYS: closes, close hash, the billing index's layout.
-- ARGV: period, month index, run, total, started_at, the legacy level.
-- A new run walks the buckets of the index's level as it starts (2^level;
-- the legacy level's when the store never had one): every record made
-- before it is in one of them, and a record made after is marked, and
-- caught up, if it owes the month (store/billing.py).
redis.call("zadd", KEYS[1], "NX", ARGV[2], ARGV[1])
if redis.call("hget", KEYS[2], "run") == ARGV[3] then
    return redis.call("hget", KEYS[2], "sent") == ARGV[3] and 1 or 0
end
local level = tonumber(redis.call("zscore", KEYS[3], "level") or ARGV[6])
redis.call("hset", KEYS[2], "run", ARGV[3], "total", ARGV[4], "state", "closing",
           "started_at", ARGV[5], "buckets", 2 ^ level)
return 0
