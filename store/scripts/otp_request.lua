-- One verification-code request (OtpRequested or a registration), decided
-- atomically: the per-number state, both send windows, the event's
-- idempotency record and the number's history change together or not at all.
-- Codes are never here: only the random id a code is derived from.
--
-- KEYS[1] state hash  KEYS[2] event record  KEYS[3] number sends (zset)
-- KEYS[4] overall sends (zset)  KEYS[5] history list  KEYS[6] phone -> locale index
-- ARGV: now_ms, occurred_ms, event_id, digest, kind (request|register),
--       fresh code id, channel, number_limit, number_window_ms, overall_limit,
--       overall_window_ms, validity_ms, max_wrong, max_sends, hold_ms,
--       attempt_ttl_ms (the state and the event record), history_max,
--       history_ttl_ms, phone
-- Returns {outcome, code_id, created_ms, duplicate, locale of the number's
-- contract or "" when it has none}.
local now = tonumber(ARGV[1])
local occurred = tonumber(ARGV[2])
local event_id, digest, kind = ARGV[3], ARGV[4], ARGV[5]
-- Read here, in the same round trip, for the delivery that may follow.
local locale = redis.call("hget", KEYS[6], ARGV[19]) or ""
local validity, max_wrong, max_sends = tonumber(ARGV[12]), tonumber(ARGV[13]), tonumber(ARGV[14])

-- A redelivered event finds its decision and repeats it, nothing more.
local seen = redis.call("hmget", KEYS[2], "digest", "otp_outcome", "otp_code_id", "otp_created_ms")
if seen[1] and seen[1] ~= digest then
    return {"event_id_reused", "", "", 0, locale}
end
if seen[2] then
    return {seen[2], seen[3] or "", seen[4] or "", 1, locale}
end

local s = redis.call("hmget", KEYS[1], "code_id", "created_ms", "sends", "wrong", "used", "reg_until")
local code_id, created = s[1], tonumber(s[2] or "0")
local sends, wrong = tonumber(s[3] or "0"), tonumber(s[4] or "0")
local used, reg_until = s[5] == "1", tonumber(s[6] or "0")
local live = code_id and not used and now < created + validity and wrong < max_wrong

local function within_limit(key, limit, window)
    redis.call("zremrangebyscore", key, "-inf", now - window)
    return redis.call("zcard", key) < limit
end

local function decide()
    if now - occurred > validity then
        return "stale"
    end
    if kind == "request" then
        if now < reg_until then
            return "registration_required"
        end
        if live and sends >= max_sends then
            redis.call("hset", KEYS[1], "reg_until", now + tonumber(ARGV[15]))
            return "resends_exhausted"
        end
    end
    if not within_limit(KEYS[3], tonumber(ARGV[8]), tonumber(ARGV[9])) then
        return "rate_limited"
    end
    if not within_limit(KEYS[4], tonumber(ARGV[10]), tonumber(ARGV[11])) then
        return "rate_limited_overall"
    end
    redis.call("zadd", KEYS[3], now, event_id)
    redis.call("pexpire", KEYS[3], ARGV[9])
    redis.call("zadd", KEYS[4], now, event_id)
    redis.call("pexpire", KEYS[4], ARGV[11])
    if kind == "request" and live then
        redis.call("hincrby", KEYS[1], "sends", 1)
        return "resent"
    end
    -- A new login attempt: a fresh code id, nothing sent or tried yet.
    code_id, created = ARGV[6], ARGV[1]
    redis.call("hset", KEYS[1], "code_id", code_id, "created_ms", created, "sends", 1, "wrong", 0,
        "used", 0, "reg_until", 0)
    if kind == "register" then
        return "registered"
    end
    return "sent"
end

local outcome = decide()
local delivers = outcome == "sent" or outcome == "resent" or outcome == "registered"
local out_id = delivers and code_id or ""
local out_created = delivers and tostring(created) or ""
redis.call("pexpire", KEYS[1], ARGV[16])
redis.call("hset", KEYS[2], "digest", digest, "status", "done", "otp_outcome", outcome,
    "otp_code_id", out_id, "otp_created_ms", out_created)
redis.call("pexpire", KEYS[2], ARGV[16])
redis.call("rpush", KEYS[5], outcome .. "|" .. ARGV[1] .. "|" .. event_id .. "|" .. ARGV[7])
redis.call("ltrim", KEYS[5], -tonumber(ARGV[17]), -1)
redis.call("pexpire", KEYS[5], ARGV[18])
return {outcome, out_id, out_created, 0, locale}
