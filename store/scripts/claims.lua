-- The claim of each event (false where none), one call per batch rather than
-- one read per event. KEYS: per event, its claim bucket and its own record
-- (store/events.py; a claim is in one or the other). ARGV[1] the own
-- record's claim field, then per event its field in the bucket.
local found = {}
for i = 1, #KEYS / 2 do
    found[i] = redis.call("hget", KEYS[2 * i - 1], ARGV[i + 1])
        or redis.call("hget", KEYS[2 * i], ARGV[1])
end
return found
