-- KEYS: records hash, by-time zset. ARGV: id ("" for none), record, its time,
-- cutoff, how many older than the cutoff to drop. Returns how many it dropped.
if ARGV[1] ~= "" then
    redis.call("hset", KEYS[1], ARGV[1], ARGV[2])
    redis.call("zadd", KEYS[2], ARGV[3], ARGV[1])
end
local old = redis.call("zrangebyscore", KEYS[2], "-inf", "(" .. ARGV[4], "LIMIT", 0, ARGV[5])
if #old > 0 then
    redis.call("hdel", KEYS[1], unpack(old))
    redis.call("zrem", KEYS[2], unpack(old))
end
return #old
