-- The claimed fingerprint of each event record in KEYS (false where none):
-- one call per batch rather than one HGET per event.
-- ARGV[1] the claim field.
local found = {}
for i, key in ipairs(KEYS) do
    found[i] = redis.call("hget", key, ARGV[1])
end
return found
