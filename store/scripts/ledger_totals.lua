-- How many charges one shard's ledger of a month holds, and their yen.
-- A ledger score is start month * span + fee (store/billing.py), so the sum
-- goes by distinct score (a handful), never member by member.
-- KEYS[1] the ledger zset. ARGV[1] the span. Returns {count, yen}.
local span = tonumber(ARGV[1])
local yen, low = 0, "-inf"
while true do
    local nxt = redis.call("zrange", KEYS[1], low, "+inf", "BYSCORE", "LIMIT", 0, 1, "WITHSCORES")
    if #nxt == 0 then
        break
    end
    yen = yen + redis.call("zcount", KEYS[1], nxt[2], nxt[2]) * (tonumber(nxt[2]) % span)
    low = "(" .. nxt[2]
end
return {redis.call("zcard", KEYS[1]), yen}
