-- Settle one request: free its slots, correct the token counts, add its spend, release the key's
-- reservation and hold the team's at the actual cost until the charge is committed (or release it).
-- Mirrors MemoryCounters.settle.
-- KEYS: 1 team reservations, 2 team amounts, 3 team reserved total, 4 team slots,
--       5 team tokens per second, 6 team spend this minute,
--       7 key reservations, 8 key amounts, 9 key reserved total, 10 key slots,
--       11 key tokens per second, 12 key spend this minute, 13 key period spend
-- ARGV: 1 rid, 2 cost, 3 token delta, 4 hold until (0 = release), 5 spend-window ttl,
--       6 period ttl (0 = no budget period), 7 has team (0/1), 8 the second of admission
local rid, cost, delta = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local hold_until, period_ttl = tonumber(ARGV[4]), tonumber(ARGV[6])
local admitted = ARGV[8]
local cost_s, delta_s = ARGV[2], ARGV[3]  -- as sent: a number handed to redis.call is printf-formatted

local function counted(slots, win, spend)
  redis.call('ZREM', slots, rid)
  if delta ~= 0 and redis.call('HEXISTS', win, admitted) == 1 then  -- still in the window: it and its sum
    redis.call('HINCRBY', win, admitted, delta_s)
    redis.call('HINCRBY', win, 'n', delta_s)
  end
  if cost > 0 and redis.call('INCRBY', spend, cost_s) == cost then redis.call('EXPIRE', spend, ARGV[5]) end
end

local function release(zset, amounts, total)
  local amount = redis.call('HGET', amounts, rid)
  if amount then
    redis.call('HDEL', amounts, rid)
    redis.call('ZREM', zset, rid)
    redis.call('DECRBY', total, amount)
  end
  return amount
end

counted(KEYS[10], KEYS[11], KEYS[12])
release(KEYS[7], KEYS[8], KEYS[9])
-- only onto a loaded spend: a missing one (Redis restarted empty) is reloaded whole from the database
if cost > 0 and period_ttl > 0 and redis.call('EXISTS', KEYS[13]) == 1 then
  redis.call('INCRBY', KEYS[13], cost_s)
  redis.call('EXPIRE', KEYS[13], math.ceil(period_ttl))
end
if ARGV[7] == '1' then
  counted(KEYS[4], KEYS[5], KEYS[6])
  if cost > 0 and hold_until > 0 then  -- hold: the reservation becomes the actual cost, in place
    local reserved = redis.call('HGET', KEYS[2], rid)
    if reserved then
      redis.call('ZADD', KEYS[1], ARGV[4], rid)
      redis.call('HSET', KEYS[2], rid, cost_s)
      if cost ~= tonumber(reserved) then redis.call('INCRBY', KEYS[3], cost - tonumber(reserved)) end
    end
  else
    release(KEYS[1], KEYS[2], KEYS[3])
  end
end
return 1
