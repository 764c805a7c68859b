-- Admit one request atomically: purge expired leases, check every limit, then (only if all pass)
-- count the request and reserve its estimated cost. Mirrors MemoryCounters.admit and windows.py.
-- Only what a limit needs is kept: windows when a rate limit is set, slots when a concurrency limit is.
-- KEYS: 1 team balance, 2 team reservations (zset), 3 team amounts (hash), 4 team reserved total,
--       5 team slots (zset), 6/7 team window this/previous minute (hash: r requests, t tokens),
--       8 key reservations, 9 key amounts, 10 key reserved total, 11 key slots,
--       12/13 key window this/previous minute, 14 key period spend
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

local function over(limit, need, cur, prev)
  if limit > 0 and prev * (1 - frac) + cur + need > limit then return retry_after(prev, cur, need, limit) end
  return nil
end

-- nil when within limits, else {reason, retry_after}
local function check(scope, slots, win, prev_win, rpm, tpm, concurrent)
  if concurrent > 0 then
    purge(slots, nil, nil)
    if redis.call('ZCARD', slots) >= concurrent then return {scope .. '_concurrent', 1} end
  end
  if rpm > 0 or tpm > 0 then
    local c, p = redis.call('HMGET', win, 'r', 't'), redis.call('HMGET', prev_win, 'r', 't')
    local wait = over(rpm, 1, tonumber(c[1] or '0'), tonumber(p[1] or '0'))
    if wait then return {scope .. '_rpm', wait} end
    wait = over(tpm, tokens, tonumber(c[2] or '0'), tonumber(p[2] or '0'))
    if wait then return {scope .. '_tpm', wait} end
  end
  return nil
end

local function count(slots, win, rpm, tpm, concurrent)
  if concurrent > 0 then redis.call('ZADD', slots, expires, rid) end
  if rpm > 0 or tpm > 0 then
    if redis.call('HINCRBY', win, 'r', 1) == 1 then redis.call('EXPIRE', win, WINDOW_TTL) end
    if tokens > 0 then redis.call('HINCRBY', win, 't', tokens) end
  end
end

local t_rpm, t_tpm, t_conc = tonumber(ARGV[7]), tonumber(ARGV[8]), tonumber(ARGV[9])
local k_rpm, k_tpm, k_conc = tonumber(ARGV[10]), tonumber(ARGV[11]), tonumber(ARGV[12])
local refused
if has_team then
  refused = check('team', KEYS[5], KEYS[6], KEYS[7], t_rpm, t_tpm, t_conc)
  if refused then return {0, refused[1], tostring(refused[2])} end
end
refused = check('key', KEYS[11], KEYS[12], KEYS[13], k_rpm, k_tpm, k_conc)
if refused then return {0, refused[1], tostring(refused[2])} end

local key_reserves = budget >= 0 and amount > 0
if key_reserves then
  purge(KEYS[8], KEYS[9], KEYS[10])
  local spent = tonumber(redis.call('GET', KEYS[14]) or '0')
  local reserved = tonumber(redis.call('GET', KEYS[10]) or '0')
  if spent + reserved + amount > budget then return {0, 'key_budget', '0'} end
end
local team_reserves = has_team and amount > 0
if team_reserves then
  local balance = redis.call('HGET', KEYS[1], 'b')
  if not balance then return {0, 'team_unknown', '0'} end
  purge(KEYS[2], KEYS[3], KEYS[4])
  if tonumber(balance) - tonumber(redis.call('GET', KEYS[4]) or '0') < amount then
    return {0, 'team_balance', '0'}
  end
end

count(KEYS[11], KEYS[12], k_rpm, k_tpm, k_conc)
if key_reserves then
  redis.call('ZADD', KEYS[8], expires, rid)
  redis.call('HSET', KEYS[9], rid, amount)
  redis.call('INCRBY', KEYS[10], amount)
end
if has_team then
  count(KEYS[5], KEYS[6], t_rpm, t_tpm, t_conc)
  if team_reserves then
    redis.call('ZADD', KEYS[2], expires, rid)
    redis.call('HSET', KEYS[3], rid, amount)
    redis.call('INCRBY', KEYS[4], amount)
  end
end
return {1}
