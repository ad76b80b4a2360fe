-- Claim event ids and enqueue their messages, a batch per call, so a crash can
-- never leave an id claimed without its message (or the reverse), and the
-- server runs one script per batch instead of one per event.
-- With q queues and n events in the batch:
--   KEYS[2j-1] queue j's list, KEYS[2j] its messages hash (j = 1..q)
--   KEYS[2q+i] event i's claim: a hash one of whose fields will hold the
--   event's fingerprint (store/events.py; opaque here, but for the one rule
--   that the fingerprint with ARGV[2] appended is the same claim, done)
--   ARGV[1] q; ARGV[2] the done mark; then for event i, ARGV[6i-3 .. 6i+2]:
--   its queue's j, its claim's field, fingerprint, redis message id, encoded
--   message, and how long its claim lives in ms (0: as long as the record; a
--   login request's expires with its attempt, store/otp.py)
-- Each queue gets one HSET and one RPUSH for the whole batch, in event order.
-- Returns, per event: 1 enqueued, 0 duplicate (same id, same payload), -1 id reused.
local q = tonumber(ARGV[1])
local ids, fields = {}, {}
for j = 1, q do
    ids[j], fields[j] = {}, {}
end
local answers = {}
for i = 1, #KEYS - 2 * q do
    local record, a = KEYS[2 * q + i], 6 * i - 3
    local field, fingerprint = ARGV[a + 1], ARGV[a + 2]
    -- A claim not marked done is queued (store/events.py): one call makes it.
    if redis.call("hsetnx", record, field, fingerprint) == 1 then
        local j, rid = tonumber(ARGV[a]), ARGV[a + 3]
        local these, pairs = ids[j], fields[j]
        these[#these + 1] = rid
        pairs[#pairs + 1] = rid
        pairs[#pairs + 1] = ARGV[a + 4]
        if ARGV[a + 5] ~= "0" then
            redis.call("pexpire", record, ARGV[a + 5])
        end
        answers[i] = 1
    else
        local seen = redis.call("hget", record, field)
        if seen == fingerprint or seen == fingerprint .. ARGV[2] then
            answers[i] = 0
        else
            answers[i] = -1
        end
    end
end
for j = 1, q do
    if #ids[j] > 0 then
        redis.call("hset", KEYS[2 * j], unpack(fields[j]))
        redis.call("rpush", KEYS[2 * j - 1], unpack(ids[j]))
    end
end
return answers
