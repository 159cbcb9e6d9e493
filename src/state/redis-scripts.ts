/**
 * Server-side Lua of the Redis state backend: one script per operation, so each is atomic and
 * costs one round trip (ioredis runs them with EVALSHA and falls back to EVAL on NOSCRIPT, so a
 * Redis that restarted empty loads them again by itself).
 *
 * Windows are the ones of src/limits/window-counter.ts, bucket for bucket: a hash of bucket
 * index (floor(now / bucketMs)) -> amount; the sum is over the last `buckets` indices; a wait is
 * "oldest bucket first, until the need fits". Times are the caller's wall clock (ARGV), so a
 * fake clock drives them in tests; replicas' clocks only need to agree to well under a bucket.
 */

/** Shared Lua helpers: windows (sum, wait, add, adjust). */
const WINDOW_LUA = `
local function wsum(key, now, windowMs, n)
  local bucketMs = windowMs / n
  local head = math.floor(now / bucketMs)
  local all = redis.call('HGETALL', key)
  local total, live = 0, {}
  for i = 1, #all, 2 do
    local idx = tonumber(all[i])
    if idx <= head - n or idx > head then
      if idx <= head - n then redis.call('HDEL', key, all[i]) end
    else
      local v = tonumber(all[i + 1])
      total = total + v
      live[#live + 1] = {idx, v}
    end
  end
  return total, live, head, bucketMs
end
local function wwait(now, total, live, head, bucketMs, n, need, limit, windowMs)
  if total + need <= limit then return 0 end
  if need > limit then return -1 end
  table.sort(live, function(a, b) return a[1] < b[1] end)
  local freed = 0
  for _, b in ipairs(live) do
    freed = freed + b[2]
    if total - freed + need <= limit then return math.max(0, (b[1] + n) * bucketMs - now) end
  end
  return windowMs
end
local function wadd(key, head, amount, windowMs)
  redis.call('HINCRBYFLOAT', key, string.format('%d', head), amount)
  redis.call('PEXPIRE', key, math.ceil(windowMs) + 1000)
end
local function wadjust(key, at, now, windowMs, n, amount)
  local bucketMs = windowMs / n
  local head = math.floor(now / bucketMs)
  local idx = math.floor(at / bucketMs)
  if idx > head or head - idx >= n then return end
  local f = string.format('%d', idx)
  local cur = tonumber(redis.call('HGET', key, f) or '0')
  local nxt = math.max(0, cur + amount)
  redis.call('HSET', key, f, string.format('%.17g', nxt))
end
`;

/**
 * reserve: may this call start on this provider, and if so count it, in one step.
 * KEYS: 1 rpm, 2 rpd, 3 tpm windows, 4 concurrency leases (zset), 5 cool-down, 6 upstream
 *       budget (hash), 7 spend of the day (hash), 8 spend of the month (hash), 9 reserved (hash)
 * ARGV: 1 now, 2 lease id, 3 lease ms, 4 rpm, 5 rpd, 6 tpm, 7 max_concurrency, 8 prompt tokens,
 *       9 tokens to reserve, 10 tenant field ("" = no tenant budget), 11 provider field
 *       ("" = no provider budget), 12 estimate USD, 13 tenant daily, 14 tenant monthly,
 *       15 provider daily, 16 provider monthly (-1 = none), 17 reserved-hash ttl ms
 * Returns {0} when admitted, else {1, kind, code, retryAfterMs, detail}:
 *   kind 'exhausted' | 'unavailable'; code names the limit; detail is a number as text.
 */
export const RESERVE_LUA =
  WINDOW_LUA +
  `
local now = tonumber(ARGV[1])
local rpm, rpd, tpm, maxc = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
local prompt, need = tonumber(ARGV[8]), tonumber(ARGV[9])
if maxc > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', now)
  if redis.call('ZCARD', KEYS[4]) >= maxc then return {1, 'exhausted', 'max_concurrency', '', ''} end
end
local cool = redis.call('PTTL', KEYS[5])
if cool > 0 then return {1, 'exhausted', 'cooldown', tostring(cool), redis.call('GET', KEYS[5]) or ''} end
local up = redis.call('HMGET', KEYS[6], 'req', 'req_reset', 'tok', 'tok_reset')
local upReq, upReqReset = tonumber(up[1]), tonumber(up[2])
local upTok, upTokReset = tonumber(up[3]), tonumber(up[4])
if upReq and upReqReset and upReq <= 0 and now < upReqReset then
  return {1, 'exhausted', 'upstream_requests', tostring(upReqReset - now), ''}
end
if upTok and upTokReset and upTok < prompt and now < upTokReset then
  return {1, 'exhausted', 'upstream_tokens', tostring(upTokReset - now), tostring(upTok)}
end
local rpmT, rpmL, rpmH, rpmB, rpdT, rpdL, rpdH, rpdB, tpmT, tpmL, tpmH, tpmB
if rpm > 0 then
  rpmT, rpmL, rpmH, rpmB = wsum(KEYS[1], now, 60000, 60)
  if rpmT + 1 > rpm then return {1, 'exhausted', 'rpm', tostring(wwait(now, rpmT, rpmL, rpmH, rpmB, 60, 1, rpm, 60000)), ''} end
end
if rpd > 0 then
  rpdT, rpdL, rpdH, rpdB = wsum(KEYS[2], now, 86400000, 288)
  if rpdT + 1 > rpd then return {1, 'exhausted', 'rpd', tostring(wwait(now, rpdT, rpdL, rpdH, rpdB, 288, 1, rpd, 86400000)), ''} end
end
if tpm > 0 then
  if prompt > tpm then return {1, 'unavailable', 'tpm_prompt', '', tostring(prompt)} end
  tpmT, tpmL, tpmH, tpmB = wsum(KEYS[3], now, 60000, 60)
  if tpmT + need > tpm then return {1, 'exhausted', 'tpm', tostring(wwait(now, tpmT, tpmL, tpmH, tpmB, 60, need, tpm, 60000)), string.format('%.17g', tpmT)} end
end
local tf, pf, est = ARGV[10], ARGV[11], tonumber(ARGV[12])
local function breach(field, dayLimit, monthLimit, code)
  if field == '' then return nil end
  local reserved = tonumber(redis.call('HGET', KEYS[9], field) or '0')
  local limits = {{tonumber(dayLimit), KEYS[7], 'daily'}, {tonumber(monthLimit), KEYS[8], 'monthly'}}
  for _, l in ipairs(limits) do
    if l[1] >= 0 then
      local spent = tonumber(redis.call('HGET', l[2], field) or '0')
      if spent >= l[1] then return {1, 'exhausted', code .. '_' .. l[3] .. '_spent', '', string.format('%.17g', spent)} end
      if spent + reserved + est > l[1] then
        return {1, 'exhausted', code .. '_' .. l[3] .. '_would_exceed', '', string.format('%.17g', spent + reserved)}
      end
    end
  end
  return nil
end
local b = breach(pf, ARGV[15], ARGV[16], 'provider') or breach(tf, ARGV[13], ARGV[14], 'tenant')
if b then return b end
if maxc > 0 then
  redis.call('ZADD', KEYS[4], now + tonumber(ARGV[3]), ARGV[2])
  redis.call('PEXPIRE', KEYS[4], tonumber(ARGV[3]) + 1000)
end
if rpm > 0 then wadd(KEYS[1], rpmH, 1, 60000) end
if rpd > 0 then wadd(KEYS[2], rpdH, 1, 86400000) end
if tpm > 0 then wadd(KEYS[3], tpmH, need, 60000) end
if upReq and upReqReset and now < upReqReset then redis.call('HINCRBY', KEYS[6], 'req', -1) end
if upTok and upTokReset and now < upTokReset then redis.call('HINCRBYFLOAT', KEYS[6], 'tok', -prompt) end
if est > 0 then
  if tf ~= '' then redis.call('HINCRBYFLOAT', KEYS[9], tf, est) end
  if pf ~= '' then redis.call('HINCRBYFLOAT', KEYS[9], pf, est) end
  redis.call('PEXPIRE', KEYS[9], tonumber(ARGV[17]))
end
return {0}
`;

/**
 * settle: a call ended. Release its lease, replace its token reservation by real usage, release
 * its budget reservation, add its real cost, count it by provider, model and tenant, and pass on
 * what the upstream said (cool-down, remaining/reset), in one step.
 * KEYS: 1 tpm, 2 leases, 3 reserved, 4 spend day, 5 spend month, 6 cool-down, 7 upstream budget,
 *       8 cost by provider, 9 cost by model, 10 cost by tenant
 * ARGV: 1 now, 2 lease id ("" = none), 3 started at, 4 reserved tokens, 5 used tokens (-1 =
 *       unknown), 6 tenant field, 7 provider field, 8 estimate released, 9 cost USD, 10 usage
 *       known (1/0), 11 prompt tokens, 12 completion tokens, 13 provider, 14 model, 15 tenant,
 *       16 day ttl ms, 17 month ttl ms, 18 cool-down ms (0 = none), 19 cool-down reason,
 *       20 remaining requests (-1 = none), 21 requests reset ms, 22 remaining tokens (-1),
 *       23 tokens reset ms
 */
export const SETTLE_LUA =
  WINDOW_LUA +
  `
local now = tonumber(ARGV[1])
if ARGV[2] ~= '' then redis.call('ZREM', KEYS[2], ARGV[2]) end
local reservedTok, used = tonumber(ARGV[4]), tonumber(ARGV[5])
if used >= 0 and used ~= reservedTok and reservedTok > 0 then
  wadjust(KEYS[1], tonumber(ARGV[3]), now, 60000, 60, used - reservedTok)
end
local est = tonumber(ARGV[8])
if est > 0 then
  for _, f in ipairs({ARGV[6], ARGV[7]}) do
    if f ~= '' then
      local left = tonumber(redis.call('HINCRBYFLOAT', KEYS[3], f, -est))
      if left <= 1e-12 then redis.call('HDEL', KEYS[3], f) end
    end
  end
end
if ARGV[10] == '1' then
  local cost = tonumber(ARGV[9])
  if cost > 0 then
    for _, f in ipairs({'t:' .. ARGV[15], 'p:' .. ARGV[13]}) do
      redis.call('HINCRBYFLOAT', KEYS[4], f, cost)
      redis.call('HINCRBYFLOAT', KEYS[5], f, cost)
    end
    redis.call('PEXPIRE', KEYS[4], tonumber(ARGV[16]))
    redis.call('PEXPIRE', KEYS[5], tonumber(ARGV[17]))
  end
  local dims = {{KEYS[8], ARGV[13]}, {KEYS[9], ARGV[14]}, {KEYS[10], ARGV[15]}}
  for _, d in ipairs(dims) do
    redis.call('HINCRBY', d[1], d[2] .. '\\nr', 1)
    redis.call('HINCRBY', d[1], d[2] .. '\\np', tonumber(ARGV[11]))
    redis.call('HINCRBY', d[1], d[2] .. '\\nc', tonumber(ARGV[12]))
    redis.call('HINCRBYFLOAT', d[1], d[2] .. '\\nu', cost)
  end
end
local coolMs = tonumber(ARGV[18])
if coolMs > 0 then
  local left = redis.call('PTTL', KEYS[6])
  if left < coolMs then redis.call('SET', KEYS[6], ARGV[19], 'PX', math.ceil(coolMs)) end
end
local remReq, remTok = tonumber(ARGV[20]), tonumber(ARGV[22])
local ttl = 0
if remReq >= 0 then
  redis.call('HSET', KEYS[7], 'req', remReq, 'req_reset', now + tonumber(ARGV[21]))
  ttl = math.max(ttl, tonumber(ARGV[21]))
end
if remTok >= 0 then
  redis.call('HSET', KEYS[7], 'tok', remTok, 'tok_reset', now + tonumber(ARGV[23]))
  ttl = math.max(ttl, tonumber(ARGV[23]))
end
if ttl > 0 then
  local cur = redis.call('PTTL', KEYS[7])
  if cur < ttl then redis.call('PEXPIRE', KEYS[7], math.ceil(ttl) + 1000) end
end
return 0
`;

/**
 * status: what is left of a provider's windows and cool-down, for stats.
 * KEYS: 1 rpm, 2 rpd, 3 tpm, 4 cool-down. ARGV: 1 now. Returns {rpm, rpd, tpm, cool ms} as text.
 */
export const STATUS_LUA =
  WINDOW_LUA +
  `
local now = tonumber(ARGV[1])
local a = wsum(KEYS[1], now, 60000, 60)
local b = wsum(KEYS[2], now, 86400000, 288)
local c = wsum(KEYS[3], now, 60000, 60)
return {string.format('%.17g', a), string.format('%.17g', b), string.format('%.17g', c), tostring(redis.call('PTTL', KEYS[4]))}
`;

/**
 * take: count an amount against one window if it fits (src/state/counters.ts).
 * KEYS: 1 window. ARGV: 1 now, 2 window ms, 3 buckets, 4 limit, 5 amount.
 * Returns {1 taken / 0 refused, used, retry ms (-1 = never)} as text.
 */
export const TAKE_LUA =
  WINDOW_LUA +
  `
local now, windowMs, n, limit, amount = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local total, live, head, bucketMs = wsum(KEYS[1], now, windowMs, n)
local wait = wwait(now, total, live, head, bucketMs, n, amount, limit, windowMs)
if wait ~= 0 then return {'0', string.format('%.17g', total), tostring(wait)} end
wadd(KEYS[1], head, amount, windowMs)
return {'1', string.format('%.17g', total + amount), '0'}
`;

/** adjust: KEYS: 1 window. ARGV: 1 now, 2 window ms, 3 buckets, 4 at, 5 amount. */
export const ADJUST_LUA =
  WINDOW_LUA +
  `
wadjust(KEYS[1], tonumber(ARGV[4]), tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[5]))
return 0
`;
