-- Claim event ids and enqueue their messages, a batch per call, so a crash can
-- never leave an id claimed without its message (or the reverse), and the
-- server runs one script per batch instead of one per event.
-- For event i (1-based), with n events in the batch:
--   KEYS[3i-2] event record, KEYS[3i-1] queue list, KEYS[3i] queue messages hash
--   ARGV[3i-2] payload digest, ARGV[3i-1] redis message id, ARGV[3i] encoded message
-- Returns, per event: 1 enqueued, 0 duplicate (same id, same payload), -1 id reused.
local answers = {}
for i = 1, #KEYS / 3 do
    local record, list, messages = KEYS[3 * i - 2], KEYS[3 * i - 1], KEYS[3 * i]
    local digest = redis.call("hget", record, "digest")
    if digest then
        if digest == ARGV[3 * i - 2] then
            answers[i] = 0
        else
            answers[i] = -1
        end
    else
        redis.call("hset", record, "digest", ARGV[3 * i - 2], "status", "queued")
        redis.call("hset", messages, ARGV[3 * i - 1], ARGV[3 * i])
        redis.call("rpush", list, ARGV[3 * i - 1])
        answers[i] = 1
    end
end
return answers
