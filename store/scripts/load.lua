-- Whole histories of new subscriptions (``subcycle import``), each written
-- only if its record is absent and none of its events is claimed; one call
-- for a batch of histories instead of a read and a commit for each.
-- ARGV, per history: its record's key, how many claims, each claim as
--   bucket and field, how many commands, each command as: argument count,
--   command, arguments... (store.subscriptions.load_histories).
-- Returns, per history, 1 when written, 0 when left for event by event.
local taken = {}
local i = 1
while i <= #ARGV do
    local sub_key = ARGV[i]
    local claims = tonumber(ARGV[i + 1])
    i = i + 2
    local free = redis.call("exists", sub_key) == 0
    for _ = 1, claims do
        if free and redis.call("hexists", ARGV[i], ARGV[i + 1]) == 1 then
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
    taken[#taken + 1] = free and 1 or 0
end
return taken
