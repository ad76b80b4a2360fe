-- Claim event ids and enqueue their messages, a batch per call, so a crash can
-- never leave an id claimed without its message (or the reverse), and the
-- server runs one script per batch instead of one per event.
-- With q queues and n events in the batch:
--   KEYS[2j-1] queue j's list, KEYS[2j] its messages hash (j = 1..q)
--   KEYS[2q+i] event i's claim: a hash whose field ARGV[2] holds the event's
--   fingerprint (store/events.py; opaque here)
--   ARGV[1] q; ARGV[2] the claim field; then for event i, ARGV[5i-2 .. 5i+2]:
--   its queue's j, fingerprint, redis message id, encoded message, and how
--   long its claim lives in ms (0: as long as the record; a login request's
--   expires with its attempt, store/otp.py)
-- Each queue gets one HSET and one RPUSH for the whole batch, in event order.
-- Returns, per event: 1 enqueued, 0 duplicate (same id, same payload), -1 id reused.
local q = tonumber(ARGV[1])
local ids, fields = {}, {}
for j = 1, q do
    ids[j], fields[j] = {}, {}
end
local answers = {}
for i = 1, #KEYS - 2 * q do
    local record, a = KEYS[2 * q + i], 5 * i - 2
    -- A claim with no status is queued (store/events.py): one call makes it.
    if redis.call("hsetnx", record, ARGV[2], ARGV[a + 1]) == 1 then
        local j, rid = tonumber(ARGV[a]), ARGV[a + 2]
        local these, pairs = ids[j], fields[j]
        these[#these + 1] = rid
        pairs[#pairs + 1] = rid
        pairs[#pairs + 1] = ARGV[a + 3]
        if ARGV[a + 4] ~= "0" then
            redis.call("pexpire", record, ARGV[a + 4])
        end
        answers[i] = 1
    elseif redis.call("hget", record, ARGV[2]) == ARGV[a + 1] then
        answers[i] = 0
    else
        answers[i] = -1
    end
end
for j = 1, q do
    if #ids[j] > 0 then
        redis.call("hset", KEYS[2 * j], unpack(fields[j]))
        redis.call("rpush", KEYS[2 * j - 1], unpack(ids[j]))
    end
end
return answers
