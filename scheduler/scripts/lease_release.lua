-- Let the lease go, if it is ours. KEYS[1] the lease; ARGV[1] the holder.
if redis.call("get", KEYS[1]) == ARGV[1] then
    redis.call("del", KEYS[1])
end
