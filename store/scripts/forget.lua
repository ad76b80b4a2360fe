-- Release an event id that is not done, if the claim is still ours.
-- KEYS[1] its claim bucket, KEYS[2] its own record (store/events.py).
-- ARGV[1] its field in the bucket, ARGV[2] the record's claim field,
-- ARGV[3] our fingerprint (a done claim in a bucket has "+" appended).
if redis.call("hget", KEYS[1], ARGV[1]) == ARGV[3] then
    redis.call("hdel", KEYS[1], ARGV[1])
end
if redis.call("hget", KEYS[2], ARGV[2]) == ARGV[3]
        and redis.call("hget", KEYS[2], "status") ~= "done" then
    redis.call("del", KEYS[2])
end
