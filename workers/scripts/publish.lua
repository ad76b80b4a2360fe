-- Claim an event id and enqueue its message in one step, so a crash can
-- never leave an id claimed without its message (or the reverse).
-- KEYS[1] event record, KEYS[2] queue list, KEYS[3] queue messages hash
-- ARGV[1] payload digest, ARGV[2] redis message id, ARGV[3] encoded message
-- Returns 1 enqueued, 0 duplicate (same id, same payload), -1 id reused.
local digest = redis.call("hget", KEYS[1], "digest")
if digest then
    if digest == ARGV[1] then
        return 0
    end
    return -1
end
redis.call("hset", KEYS[1], "digest", ARGV[1], "status", "queued")
redis.call("hset", KEYS[3], ARGV[2], ARGV[3])
redis.call("rpush", KEYS[2], ARGV[2])
return 1
