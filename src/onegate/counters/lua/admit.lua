-- Admit one request atomically: purge expired leases, check every limit, then (only if all pass)
-- count the request and reserve its estimated cost. Mirrors MemoryCounters.admit and windows.py.
-- KEYS: 1 team balance, 2 team reservations (zset), 3 team amounts (hash), 4 team reserved total,
--       5 team slots (zset), 6/7 team requests this/previous minute, 8/9 team tokens this/previous minute,
--       10 key reservations, 11 key amounts, 12 key reserved total, 13 key slots,
--       14/15 key requests this/previous minute, 16/17 key tokens this/previous minute, 18 key period spend
-- ARGV: 1 now, 2 rid, 3 expires, 4 amount, 5 tokens, 6 has team (0/1),
--       7/8/9 team rpm/tpm/concurrent, 10/11/12 key rpm/tpm/concurrent (0 = unlimited),
--       13 key budget (-1 = none), 14 position in the minute (0..1)
local now, rid, expires = tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[3])
local amount, tokens, has_team = tonumber(ARGV[4]), tonumber(ARGV[5]), ARGV[6] == '1'
local budget, frac = tonumber(ARGV[13]), tonumber(ARGV[14])
local WINDOW_TTL = 130

local function purge(zset, amounts, total)
  local gone = redis.call('ZRANGEBYSCORE', zset, '-inf', now, 'LIMIT', 0, 500)
  if #gone == 0 then return end
  if amounts then
    local sum = 0
    for _, a in ipairs(redis.call('HMGET', amounts, unpack(gone))) do
      if a then sum = sum + tonumber(a) end
    end
    if sum ~= 0 then redis.call('DECRBY', total, sum) end
    redis.call('HDEL', amounts, unpack(gone))
  end
  redis.call('ZREM', zset, unpack(gone))
end

local function retry_after(prev, cur, need, limit)
  if need > limit then return 60 end
  local room, wait = limit - need - cur, 0
  if room >= 0 and prev > 0 then
    wait = (1 - room / prev - frac) * 60
  elseif cur > 0 then
    wait = (1 - frac) * 60 + math.max(0, 1 - (limit - need) / cur) * 60
  else
    wait = (1 - frac) * 60
  end
  return math.max(1, math.ceil(wait))
end

-- nil when within limits, else {reason, retry_after}
local function check(scope, slots, rq_cur, rq_prev, tk_cur, tk_prev, rpm, tpm, concurrent)
  if concurrent > 0 and redis.call('ZCARD', slots) >= concurrent then return {scope .. '_concurrent', 1} end
  for _, w in ipairs({{'rpm', rq_cur, rq_prev, rpm, 1}, {'tpm', tk_cur, tk_prev, tpm, tokens}}) do
    local limit, need = w[4], w[5]
    if limit > 0 then
      local cur = tonumber(redis.call('GET', w[2]) or '0')
      local prev = tonumber(redis.call('GET', w[3]) or '0')
      if prev * (1 - frac) + cur + need > limit then
        return {scope .. '_' .. w[1], retry_after(prev, cur, need, limit)}
      end
    end
  end
  return nil
end

if has_team then
  purge(KEYS[5], nil, nil)
  purge(KEYS[2], KEYS[3], KEYS[4])
  local refused = check('team', KEYS[5], KEYS[6], KEYS[7], KEYS[8], KEYS[9],
    tonumber(ARGV[7]), tonumber(ARGV[8]), tonumber(ARGV[9]))
  if refused then return {0, refused[1], tostring(refused[2])} end
end
purge(KEYS[13], nil, nil)
purge(KEYS[10], KEYS[11], KEYS[12])
local refused = check('key', KEYS[13], KEYS[14], KEYS[15], KEYS[16], KEYS[17],
  tonumber(ARGV[10]), tonumber(ARGV[11]), tonumber(ARGV[12]))
if refused then return {0, refused[1], tostring(refused[2])} end

if budget >= 0 and amount > 0 then
  local spent = tonumber(redis.call('GET', KEYS[18]) or '0')
  local reserved = tonumber(redis.call('GET', KEYS[12]) or '0')
  if spent + reserved + amount > budget then return {0, 'key_budget', '0'} end
end
if has_team and amount > 0 then
  local balance = redis.call('HGET', KEYS[1], 'b')
  if not balance then return {0, 'team_unknown', '0'} end
  if tonumber(balance) - tonumber(redis.call('GET', KEYS[4]) or '0') < amount then
    return {0, 'team_balance', '0'}
  end
end

local function count(slots, rq, tk)
  redis.call('ZADD', slots, expires, rid)
  redis.call('INCR', rq)
  redis.call('EXPIRE', rq, WINDOW_TTL)
  if tokens > 0 then
    redis.call('INCRBY', tk, tokens)
    redis.call('EXPIRE', tk, WINDOW_TTL)
  end
end
count(KEYS[13], KEYS[14], KEYS[16])
if budget >= 0 and amount > 0 then
  redis.call('ZADD', KEYS[10], expires, rid)
  redis.call('HSET', KEYS[11], rid, amount)
  redis.call('INCRBY', KEYS[12], amount)
end
if has_team then
  count(KEYS[5], KEYS[6], KEYS[8])
  if amount > 0 then
    redis.call('ZADD', KEYS[2], expires, rid)
    redis.call('HSET', KEYS[3], rid, amount)
    redis.call('INCRBY', KEYS[4], amount)
  end
end
return {1}
