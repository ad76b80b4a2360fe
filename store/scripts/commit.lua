-- Apply a change to one subscription only if nobody changed it since it was
-- read: optimistic concurrency on a version field, in one round trip.
-- KEYS[1] the subscription hash
-- ARGV[1] the version that was read ("" when the record had none)
-- ARGV[2..] the writes, each as: argument count, command, arguments...
-- Returns 1 when applied, 0 when the version moved (read again and refold).
local version = redis.call("hget", KEYS[1], "version") or ""
if version ~= ARGV[1] then
    return 0
end
redis.call("hincrby", KEYS[1], "version", 1)
local i = 2
while i <= #ARGV do
    local n = tonumber(ARGV[i])
    redis.call(unpack(ARGV, i + 1, i + n))
    i = i + n + 1
end
return 1
