-- Whole histories of new subscriptions (``subcycle import``), each written
-- only if its record is absent and none of its events is claimed; one call
-- for a batch of histories instead of a read and a commit for each.
-- ARGV[1] the months whose close has started, ARGV[2] the latest of them as
--   it was read ("" when none): the histories' billing index entries were
--   marked, or not, by it (store.billing.latest_close). Then, per history: its record's key, how many claims, each claim as
--   bucket and field, how many commands, each command as: argument count,
--   command, arguments... (store.subscriptions.load_histories).
-- Returns false when that latest moved (nothing written: read it again and
-- fold again); else, per history: 1 when written; 0 when left for event by event;
-- when its record exists, nothing written, {claims, fields}: each claim's
-- value (nil where there is none) and the record's fields, field and value
-- (the caller tells a whole replay from the rest).
local latest = redis.call("zrange", ARGV[1], -1, -1, "WITHSCORES")[2] or ""
if tostring(tonumber(latest)) ~= tostring(tonumber(ARGV[2])) then
    return false
end
local answers = {}
local i = 3
while i <= #ARGV do
    local sub_key = ARGV[i]
    local claims = tonumber(ARGV[i + 1])
    i = i + 2
    local exists = redis.call("exists", sub_key) == 1
    local free = not exists
    local values = {}
    for c = 1, claims do
        if exists then
            values[c] = redis.call("hget", ARGV[i], ARGV[i + 1])
        elseif free and redis.call("hexists", ARGV[i], ARGV[i + 1]) == 1 then
            free = false
        end
        i = i + 2
    end
    local commands = tonumber(ARGV[i])
    i = i + 1
    for _ = 1, commands do
        local n = tonumber(ARGV[i])
        if free then
            redis.call(unpack(ARGV, i + 1, i + n))
        end
        i = i + n + 1
    end
    if exists then
        answers[#answers + 1] = {values, redis.call("hgetall", sub_key)}
    else
        answers[#answers + 1] = free and 1 or 0
    end
end
return answers
