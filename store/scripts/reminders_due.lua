-- KEYS: upcoming (score expires_on), next (score due day), the expiry index.
-- ARGV: today, horizon (today + the largest offset), limit.
-- Returns flat triples: member, expires_on ordinal, "u" | "n".
local out = {}
local limit = tonumber(ARGV[3])
local up = redis.call("zrangebyscore", KEYS[1], "-inf", ARGV[2], "WITHSCORES", "LIMIT", 0, limit)
for i = 1, #up, 2 do
    out[#out + 1] = up[i]; out[#out + 1] = up[i + 1]; out[#out + 1] = "u"
end
local room = limit - #up / 2
if room > 0 then
    local due = redis.call("zrangebyscore", KEYS[2], "-inf", ARGV[1], "LIMIT", 0, room)
    for _, m in ipairs(due) do
        out[#out + 1] = m
        out[#out + 1] = redis.call("zscore", KEYS[3], m) or "0"
        out[#out + 1] = "n"
    end
end
return out
