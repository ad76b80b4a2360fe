-- A dead letter's own bytes back onto its queue, in one step (an operator's
-- retry of a message with no event to republish).
-- KEYS: the dead letters (zset), their bodies, the ready list, its bodies.
-- ARGV[1] the Redis message id. Returns 1 when moved, 0 when it was gone.
local body = redis.call("hget", KEYS[2], ARGV[1])
if not body then
    return 0
end
redis.call("zrem", KEYS[1], ARGV[1])
redis.call("hdel", KEYS[2], ARGV[1])
redis.call("hset", KEYS[4], ARGV[1], body)
redis.call("rpush", KEYS[3], ARGV[1])
return 1
