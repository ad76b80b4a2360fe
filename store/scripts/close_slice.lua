-- One slice of a shard's close: the buckets from the shard's cursor on, until
-- about ARGV[10] subscriptions were looked at or the shard's range ends, so
-- no call holds Redis for long however large the store (docs/capacity.md).
-- The charges, the cleared dirty marks, the ledger's counters and the moved
-- cursor are written together, so a slice redelivered, rerun or raced by
-- another close charges nothing twice: a charge is a field of the month's
-- ledger bucket, written only where absent.
-- KEYS: close hash, done set (this run), cursors hash (this run), closes.
-- ARGV: span prefix, ledger prefix, close prefix, period, month index, run,
--   shard, budget, the buckets of a close registered before levels, shards.
-- The shard's buckets are its equal run of the buckets the run walks (the
--   close hash's "buckets", set when the run registered).
-- A bucket's entry: subscription -> "start:fee:end" (end empty while open),
--   "*" appended while its span changed since the bucket's last close.
-- A month's ledger bucket not yet written starts as a copy of the span bucket
--   (COPY, in C) less the entries it does not charge: a charge's value is
--   then the span text, its fee the second field (store/billing.py, fee_of).
-- Returns {charged, caught_up, shards done, total, closed, yen, finished, cursor}.
local close, done, cursors, closes = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local span_prefix, ledger_prefix, close_prefix = ARGV[1], ARGV[2], ARGV[3]
local period, month, run, shard = ARGV[4], tonumber(ARGV[5]), ARGV[6], ARGV[7]
local budget = tonumber(ARGV[8])
local per = tonumber(redis.call("hget", close, "buckets") or ARGV[9]) / tonumber(ARGV[10])
local first = tonumber(shard) * per
local last = first + per

local at = tonumber(redis.call("hget", cursors, shard) or first)
-- Catch-up: only a subscription whose span changed since its bucket's last
-- close can owe a charge for another month that is already closed.
local others = {}
local started = redis.call("zrange", closes, 0, -1, "WITHSCORES")
for i = 1, #started, 2 do
    if started[i] ~= period then
        others[#others + 1] = {started[i], tonumber(started[i + 1]), 0, 0}
    end
end

local charged, charged_yen, caught, yen, seen = 0, 0, 0, 0, 0
while at < last and seen < budget do
    local bucket = span_prefix .. at
    local entries = redis.call("hgetall", bucket)
    if #entries > 0 then
        seen = seen + #entries / 2
        local ledger = ledger_prefix .. period .. ":" .. at
        -- Copied: every entry is written, and those not charged are dropped.
        local copied = redis.call("copy", bucket, ledger) == 1
        local have = {}
        if not copied then
            for _, sid in ipairs(redis.call("hkeys", ledger)) do
                have[sid] = true
            end
        end
        local new, clean, drop = {}, {}, {}
        for i = 1, #entries, 2 do
            local sid, value = entries[i], entries[i + 1]
            local s, fee, e, dirty = string.match(value, "^(%d+):(%d+):(%d*)(%*?)$")
            local start, amount, stop = tonumber(s), tonumber(fee), tonumber(e)
            local owed = start <= month and (stop == nil or stop >= month)
            if copied then
                if owed then
                    charged, charged_yen = charged + 1, charged_yen + amount
                else
                    drop[#drop + 1] = sid
                end
            elseif owed and not have[sid] then
                new[#new + 1] = sid
                new[#new + 1] = fee
                charged, charged_yen = charged + 1, charged_yen + amount
            end
            if dirty == "*" then
                for _, other in ipairs(others) do
                    local idx = other[2]
                    if start <= idx and (stop == nil or stop >= idx)
                            and redis.call("hsetnx", ledger_prefix .. other[1] .. ":" .. at,
                                           sid, fee) == 1 then
                        caught, yen = caught + 1, yen + amount
                        other[3], other[4] = other[3] + 1, other[4] + amount
                    end
                end
                clean[#clean + 1] = sid
                clean[#clean + 1] = s .. ":" .. fee .. ":" .. e
            end
        end
        if #new > 0 then
            redis.call("hset", ledger, unpack(new))
        end
        if #drop > 0 then
            redis.call("hdel", ledger, unpack(drop))
        end
        if #clean > 0 then
            redis.call("hset", bucket, unpack(clean))
        end
    end
    at = at + 1
end
redis.call("hset", cursors, shard, at)
if charged > 0 then
    redis.call("hincrby", close, "charges", charged)
    redis.call("hincrby", close, "yen", charged_yen)
end
for _, other in ipairs(others) do
    if other[3] > 0 then
        redis.call("hincrby", close_prefix .. other[1], "charges", other[3])
        redis.call("hincrby", close_prefix .. other[1], "yen", other[4])
    end
end

local finished = 0
if at >= last then
    redis.call("sadd", done, shard)
    finished = 1
end
local n_done = redis.call("scard", done)
local total = tonumber(redis.call("hget", close, "total") or "0")
-- The slice that completes the run's last shard marks the month closed (once).
local closed = 0
if finished == 1 and redis.call("hget", close, "run") == run and n_done >= total
        and redis.call("hget", close, "state") ~= "closed" then
    redis.call("hset", close, "state", "closed")
    closed = 1
end
return {charged, caught, n_done, total, closed, yen + charged_yen, finished, at}
