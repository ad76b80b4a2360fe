-- KEYS: starts, ends, dirty, close hash, done set, closes, scratch a/e/n/d/de.
-- ARGV: charges prefix, shard, period, month index, run, FEE_SPAN.
local starts, ends, dirty, close = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local done, closes = KEYS[5], KEYS[6]
local ta, te, tn, td, tde = KEYS[7], KEYS[8], KEYS[9], KEYS[10], KEYS[11]
local prefix, shard, period, run = ARGV[1], ARGV[2], ARGV[3], ARGV[5]
local month, span = tonumber(ARGV[4]), tonumber(ARGV[6])

-- Charge every subscription of src_starts/src_ends billable in month idx
-- and not yet in that month's ledger; return how many were new and their
-- yen (a ledger score carries the fee: start month * span + fee).
local function charge(p, idx, src_starts, src_ends)
    local ledger = prefix .. p .. ":" .. shard
    local bound = (idx + 1) * span
    local newest = redis.call("zrange", src_starts, -1, -1, "WITHSCORES")
    local from = src_starts
    if newest[2] and tonumber(newest[2]) >= bound then
        -- Some started after this month: copy out only those started by its end.
        redis.call("zrangestore", ta, src_starts, "-inf", "(" .. string.format("%.0f", bound),
                   "BYSCORE")
        from = ta
    end
    redis.call("zrangestore", te, src_ends, "-inf", "(" .. string.format("%.0f", idx), "BYSCORE")
    local n = redis.call("zdiffstore", tn, 3, from, te, ledger)
    local yen = 0
    if n > 0 then
        -- Sum by distinct score (start month and fee; a handful), not by member.
        local low = "-inf"
        while true do
            local next = redis.call("zrange", tn, low, "+inf", "BYSCORE", "LIMIT", 0, 1,
                                    "WITHSCORES")
            if #next == 0 then
                break
            end
            yen = yen + redis.call("zcount", tn, next[2], next[2]) * (tonumber(next[2]) % span)
            low = "(" .. next[2]
        end
        if redis.call("exists", ledger) == 1 then
            redis.call("zunionstore", ledger, 2, ledger, tn)
        else
            redis.call("rename", tn, ledger)
        end
    end
    redis.call("del", ta, te, tn)
    return n, yen
end

-- Catch-up: only a subscription whose span changed since this shard's last
-- close can owe a charge for another month that is already closed.
-- With no other month closed (the first close), there is nothing to catch up.
local caught, yen = 0, 0
local started = redis.call("zrange", closes, 0, -1, "WITHSCORES")
if #started > 2 and redis.call("scard", dirty) > 0 then
    redis.call("zinterstore", td, 2, starts, dirty, "WEIGHTS", 1, 0)
    redis.call("zinterstore", tde, 2, ends, dirty, "WEIGHTS", 1, 0)
    for i = 1, #started, 2 do
        if started[i] ~= period then
            local n, y = charge(started[i], tonumber(started[i + 1]), td, tde)
            caught, yen = caught + n, yen + y
        end
    end
    redis.call("del", td, tde)
end
redis.call("unlink", dirty)

local charged, charged_yen = charge(period, month, starts, ends)
yen = yen + charged_yen
redis.call("sadd", done, shard)
local n_done = redis.call("scard", done)
local total = tonumber(redis.call("hget", close, "total") or "0")
-- The shard that completes the run marks the month closed (once).
local closed = 0
if redis.call("hget", close, "run") == run and n_done >= total
        and redis.call("hget", close, "state") ~= "closed" then
    redis.call("hset", close, "state", "closed")
    closed = 1
end
return {charged, caught, n_done, total, closed, yen}
