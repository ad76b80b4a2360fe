-- Take the lease if it is free, renew it if ours. KEYS[1] the lease; ARGV: holder, ttl ms.
-- Returns 1 while we hold it.
local holder = redis.call("get", KEYS[1])
if holder == ARGV[1] then
    redis.call("pexpire", KEYS[1], ARGV[2])
    return 1
end
if not holder then
    redis.call("set", KEYS[1], ARGV[1], "PX", ARGV[2])
    return 1
end
return 0
