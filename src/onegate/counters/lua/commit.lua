-- The database holds these charges and this balance: take the balance if it is newer than the copy,
-- and drop the held reservations of the charges. Mirrors MemoryCounters.commit.
-- KEYS: 1 team balance, 2 team reservations, 3 team amounts, 4 team reserved total
-- ARGV: 1 balance, 2 version, 3… rids
local version = tonumber(redis.call('HGET', KEYS[1], 'v') or '-1')
if tonumber(ARGV[2]) > version then redis.call('HSET', KEYS[1], 'b', ARGV[1], 'v', ARGV[2]) end
for i = 3, #ARGV do
  local amount = redis.call('HGET', KEYS[3], ARGV[i])
  if amount then
    redis.call('HDEL', KEYS[3], ARGV[i])
    redis.call('ZREM', KEYS[2], ARGV[i])
    redis.call('DECRBY', KEYS[4], amount)
  end
end
return 1
