-- Apply a change to one subscription only if nobody changed it since it was
-- read: optimistic concurrency on a version field, in one round trip.
-- KEYS[1] the subscription hash; KEYS[2] the months whose close has started
-- ARGV[1] the version that was read ("" when the record had none)
-- ARGV[2] the latest of those months as it was read ("" when none): the
--   billing index entry was marked, or not, by it (store.billing.latest_close)
-- ARGV[3] how many of the commands that follow are the change's writes;
--   the rest are extra writes (store.subscriptions.ExtraWrites), each run
--   only if the one before it answered an integer above zero.
-- ARGV[4..] the commands, each as: argument count, command, arguments...
-- Returns 0 when the version or the latest close moved (read again and
-- refold), 1 when applied,
-- 2 when applied and every extra write ran.
local version = redis.call("hget", KEYS[1], "v") or ""
if version ~= ARGV[1] then
    return 0
end
local latest = redis.call("zrange", KEYS[2], -1, -1, "WITHSCORES")[2] or ""
if tostring(tonumber(latest)) ~= tostring(tonumber(ARGV[2])) then
    return 0
end
redis.call("hincrby", KEYS[1], "v", 1)
local writes = tonumber(ARGV[3])
local i, n_done, extra, chained = 4, 0, 0, true
while i <= #ARGV do
    local n = tonumber(ARGV[i])
    if n_done < writes then
        redis.call(unpack(ARGV, i + 1, i + n))
    else
        extra = extra + 1
        if chained then
            local answer = redis.call(unpack(ARGV, i + 1, i + n))
            chained = type(answer) == "number" and answer > 0
        end
    end
    n_done = n_done + 1
    i = i + n + 1
end
if extra > 0 and chained then
    return 2
end
return 1
