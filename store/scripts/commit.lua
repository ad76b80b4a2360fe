-- Apply a change to one subscription only if nobody changed it since it was
-- read: optimistic concurrency on a version field, in one round trip.
-- KEYS[1] the subscription hash
-- KEYS[2], KEYS[3] (optional) a worker's ack set and the queue's message
--   hash: the message that carried the change is settled with it
--   (store/settle.py), as the broker's ack would: taken from the ack set,
--   and its body dropped only if it was still there.
-- ARGV[1] the version that was read ("" when the record had none)
-- ARGV[2] the message id to settle ("" for none)
-- ARGV[3..] the writes, each as: argument count, command, arguments...
-- Returns 0 when the version moved (read again and refold), 1 when applied,
-- 2 when applied and the message settled.
local version = redis.call("hget", KEYS[1], "version") or ""
if version ~= ARGV[1] then
    return 0
end
redis.call("hincrby", KEYS[1], "version", 1)
local i = 3
while i <= #ARGV do
    local n = tonumber(ARGV[i])
    redis.call(unpack(ARGV, i + 1, i + n))
    i = i + n + 1
end
if KEYS[2] and redis.call("srem", KEYS[2], ARGV[2]) > 0 then
    redis.call("hdel", KEYS[3], ARGV[2])
    return 2
end
return 1
