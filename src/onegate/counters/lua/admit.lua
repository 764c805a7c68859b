-- Admit one request atomically: purge expired leases, check every limit, then (only if all pass)
-- count the request and reserve its cost. Mirrors MemoryCounters.admit and windows.py.
-- Only what a limit needs is kept: windows when a rate limit is set, slots when a concurrency limit is.
-- KEYS: 1 team balance, 2 team reservations (zset), 3 team amounts (hash), 4 team reserved total,
--       5 team slots (zset), 6/7 team window: requests / tokens per second (hashes, see live_total),
--       8 key reservations, 9 key amounts, 10 key reserved total, 11 key slots,
--       12/13 key window: requests / tokens per second, 14 key period spend
-- ARGV: 1 now, 2 rid, 3 expires, 4 amount (the worst case), 5 tokens, 6 has team (0/1),
--       7/8/9 team rpm/tpm/concurrent, 10/11/12 key rpm/tpm/concurrent (0 = unlimited),
--       13 key budget (-1 = none), 14 least amount that still serves (-1 = all or nothing),
--       15 overdraft allowed below a budget or balance
-- Returns {1, amount reserved, requests, tokens, money} or {0, reason, retry after}. The last three are
-- the headroom left after this admission (-1: no limit): more requests the rpm and concurrency limits
-- still take, tokens the tpm limits still take, micro-units the budget and balance can still reserve.
-- The caller judges from them whether the next request may go upstream before its admission answers
-- (accounting/speculation.py).
local now, rid, expires = tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[3])
local amount, tokens, has_team = tonumber(ARGV[4]), tonumber(ARGV[5]), ARGV[6] == '1'
local budget, least, overdraft = tonumber(ARGV[13]), tonumber(ARGV[14]), tonumber(ARGV[15])
local SPAN = 60
local second = math.floor(now)
-- Numbers handed to redis.call are formatted with printf: ~14% of the scripts' instructions (callgrind),
-- so commands get the argument strings as sent, or strings made once.
local now_s, expires_s, second_s = ARGV[1], ARGV[3], tostring(second)
local room_requests, room_tokens, room_money = -1, -1, -1  -- headroom after this admission; -1: unlimited
local function least_of(current, value)
  if current < 0 or value < current then return value end
  return current
end

local function purge(zset, amounts, total)
  local gone = redis.call('ZRANGEBYSCORE', zset, '-inf', now_s, 'LIMIT', 0, 500)
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

-- A window is a hash: per-second counts ('<second>' -> n) plus their running sum 'n' and 'f', a second
-- no count is older than. Expired seconds leave as time passes (usually none or one per call), so a check
-- costs a few commands however full the minute is (reading all 61 seconds each time cost ~100 µs a window).
-- Returns the sum of the live seconds (nil: no window yet, `add` creates it).
local function live_total(hash)
  local head = redis.call('HMGET', hash, 'n', 'f')
  if not head[1] then return nil end
  local total, first, cutoff = tonumber(head[1]), tonumber(head[2] or second), second - SPAN - 1
  if first > cutoff then
    -- an instance whose clock is behind the one that set 'f' adds below it: move 'f' down, so it leaves too
    if first > second then redis.call('HSET', hash, 'f', second) end
    return total
  end
  local dead = {}
  if cutoff - first > 2 * SPAN then  -- a clock jump: look at what is there instead of every second
    local flat = redis.call('HKEYS', hash)
    for i = 1, #flat do
      local s = tonumber(flat[i])
      if s and s <= cutoff then dead[#dead + 1] = flat[i] end
    end
  else
    for s = first, cutoff do dead[#dead + 1] = tostring(s) end
  end
  if #dead > 0 then
    for _, n in ipairs(redis.call('HMGET', hash, unpack(dead))) do
      if n then total = total - tonumber(n) end
    end
    redis.call('HDEL', hash, unpack(dead))
  end
  redis.call('HSET', hash, 'n', total, 'f', cutoff + 1)
  return total
end

-- nil when `need` more fits, else the seconds until it does (only a refusal reads every second)
local function over(hash, limit, need)
  if limit <= 0 then return nil end
  local total = live_total(hash) or 0
  if total + need <= limit then return nil, limit - total - need end
  if need > limit then return SPAN end
  local flat, live = redis.call('HGETALL', hash), {}
  for i = 1, #flat, 2 do
    local s = tonumber(flat[i])
    if s then live[#live + 1] = {s, tonumber(flat[i + 1])} end
  end
  table.sort(live, function(a, b) return a[1] < b[1] end)
  for _, c in ipairs(live) do
    total = total - c[2]
    if total + need <= limit then return math.max(1, math.ceil(c[1] + SPAN + 1 - now)) end
  end
  return 1
end

-- nil when within limits, else {reason, retry_after}
local function check(scope, slots, req_win, tok_win, rpm, tpm, concurrent)
  if concurrent > 0 then
    purge(slots, nil, nil)
    local busy = redis.call('ZCARD', slots)
    if busy >= concurrent then return {scope .. '_concurrent', 1} end
    room_requests = least_of(room_requests, concurrent - busy - 1)
  end
  local wait, room = over(req_win, rpm, 1)
  if wait then return {scope .. '_rpm', wait} end
  if room then room_requests = least_of(room_requests, room) end
  wait, room = over(tok_win, tpm, tokens)
  if wait then return {scope .. '_tpm', wait} end
  if room then room_tokens = least_of(room_tokens, room) end
  return nil
end

-- a window is kept only while its limit is set: it is also only purged then
-- `over` ran on the window first in this script: it is purged, and 'f' is at most this second
local function add(hash, amount, amount_s)
  if redis.call('HINCRBY', hash, second_s, amount_s) == amount then  -- a new second (or one corrected to 0)
    redis.call('HSETNX', hash, 'f', second_s)
    redis.call('EXPIRE', hash, '62')  -- SPAN + 2: outlives every second in it
  end
  redis.call('HINCRBY', hash, 'n', amount_s)
end

local function count(slots, req_win, tok_win, rpm, tpm, concurrent)
  if concurrent > 0 then redis.call('ZADD', slots, expires_s, rid) end
  if rpm > 0 then add(req_win, 1, '1') end
  if tpm > 0 and tokens > 0 then add(tok_win, tokens, ARGV[5]) end
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

-- money: what the key's budget and the team's balance can still pay, reservations and holds deducted
local grant, short = amount, nil
local key_reserves = budget >= 0 and amount > 0
if key_reserves then
  local spent = redis.call('GET', KEYS[14])
  if not spent then return {0, 'key_unknown', '0'} end  -- never loaded, or Redis restarted empty
  purge(KEYS[8], KEYS[9], KEYS[10])
  local room = budget + overdraft - tonumber(spent) - tonumber(redis.call('GET', KEYS[10]) or '0')
  if room < grant then grant, short = room, 'key_budget' end
  room_money = least_of(room_money, room - grant)
end
local team_reserves = has_team and amount > 0
if team_reserves then
  local balance = redis.call('HGET', KEYS[1], 'b')
  if not balance then return {0, 'team_unknown', '0'} end
  purge(KEYS[2], KEYS[3], KEYS[4])
  local room = tonumber(balance) + overdraft - tonumber(redis.call('GET', KEYS[4]) or '0')
  if room < grant then grant, short = room, 'team_balance' end
  room_money = least_of(room_money, room - grant)
end
if grant < amount and (least < 0 or grant < least) then return {0, short, '0'} end

local grant_s = grant == amount and ARGV[4] or tostring(grant)
count(KEYS[11], KEYS[12], KEYS[13], k_rpm, k_tpm, k_conc)
if key_reserves then
  redis.call('ZADD', KEYS[8], expires_s, rid)
  redis.call('HSET', KEYS[9], rid, grant_s)
  redis.call('INCRBY', KEYS[10], grant_s)
end
if has_team then
  count(KEYS[5], KEYS[6], KEYS[7], t_rpm, t_tpm, t_conc)
  if team_reserves then
    redis.call('ZADD', KEYS[2], expires_s, rid)
    redis.call('HSET', KEYS[3], rid, grant_s)
    redis.call('INCRBY', KEYS[4], grant_s)
  end
end
return {1, grant, room_requests, room_tokens, room_money}
