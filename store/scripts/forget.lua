-- Release an event id that is not done, if the claim is still ours.
-- KEYS[1] the event's record. ARGV[1] the claim field, ARGV[2] our fingerprint.
if redis.call("hget", KEYS[1], ARGV[1]) == ARGV[2]
        and redis.call("hget", KEYS[1], "status") ~= "done" then
    redis.call("del", KEYS[1])
end
