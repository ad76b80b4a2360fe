-- Dramatiq's fetch (dispatch.lua's "fetch"), returning each message's Redis id
-- beside its body: the consumer checks that an envelope names the id it was
-- fetched under (a forged redis_message_id would ack another message), and
-- moves poison aside by that id. It beats as dispatch.lua does; maintenance
-- is the Recovery thread's (workers/recovery.py).
-- KEYS[1] the namespace. ARGV: timestamp, queue name, worker id, how many.
-- Returns flat pairs: id, body (nil where the body is missing).
local namespace = KEYS[1]
local timestamp, queue_name, worker_id = ARGV[1], ARGV[2], ARGV[3]
redis.call("zadd", namespace .. ":__heartbeats__", timestamp, worker_id)
local queue = namespace .. ":" .. queue_name
local ids = redis.call("lpop", queue, math.min(tonumber(ARGV[4]), 1000))
if not ids then
    return {}
end
redis.call("sadd", namespace .. ":__acks__." .. worker_id .. "." .. queue_name, unpack(ids))
local bodies = redis.call("hmget", queue .. ".msgs", unpack(ids))
local out = {}
for i, id in ipairs(ids) do
    out[2 * i - 1] = id
    out[2 * i] = bodies[i]
end
return out
