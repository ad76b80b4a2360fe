-- KEYS: upcoming, next. ARGV: triples member, "u" | "n", next due ordinal or "".
-- An entry withdrawn meanwhile (consent arrived) is left withdrawn.
for i = 1, #ARGV, 3 do
    local member, nxt = ARGV[i], ARGV[i + 2]
    local from = KEYS[2]
    if ARGV[i + 1] == "u" then from = KEYS[1] end
    if redis.call("zscore", from, member) then
        redis.call("zrem", from, member)
        if nxt == "" then
            redis.call("zrem", KEYS[2], member)
        else
            redis.call("zadd", KEYS[2], nxt, member)
        end
    end
end
return 1
