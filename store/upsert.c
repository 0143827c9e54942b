#include "upsert.h"

#include "store.h"

/* Upserts one stream entry at ID <ms>-0.
 * KEYS: the stream, and for observations also its meta hash, the latest
 * hash and the series set.
 * ARGV: time ms, time as ISO 8601, then field/value pairs (for observations
 * one pair: the series id and the value).
 * Returns 1 when something was written, 0 for an identical entry. */
const char upsert_lua[] =
    "local s = KEYS[1]\n"
    "local ms = ARGV[1]\n"
    "local id = ms .. '-0'\n"
    "local fv = {}\n"
    "for i = 3, #ARGV do fv[#fv + 1] = ARGV[i] end\n"
    "local top = redis.call('XREVRANGE', s, '+', '-', 'COUNT', 1)\n"
    "if #top == 0 or tonumber(ms) > "
    "tonumber(string.match(top[1][1], '^(%d+)')) then\n"
    "  redis.call('XADD', s, id, unpack(fv))\n"
    "else\n"
    "  local cur = redis.call('XRANGE', s, id, id)\n"
    "  if #cur > 0 and #cur[1][2] == #fv then\n"
    "    local same = true\n"
    "    for i = 1, #fv do if cur[1][2][i] ~= fv[i] then same = false end end\n"
    "    if same then return 0 end\n"
    "  end\n"
    "  local tail = redis.call('XRANGE', s, id, '+')\n"
    "  for i = 1, #tail do redis.call('XDEL', s, tail[i][1]) end\n"
    "  local prev = redis.call('XREVRANGE', s, '(' .. id, '-', 'COUNT', 1)\n"
    "  local pid = '0-0'\n"
    "  if #prev > 0 then pid = prev[1][1] end\n"
    "  redis.call('XSETID', s, pid, 'MAXDELETEDID', pid)\n"
    "  redis.call('XADD', s, id, unpack(fv))\n"
    "  for i = 1, #tail do\n"
    "    if tail[i][1] ~= id then\n"
    "      redis.call('XADD', s, tail[i][1], unpack(tail[i][2]))\n"
    "    end\n"
    "  end\n"
    "end\n"
    "if #KEYS == 4 then\n"
    "  local m, latest, set = KEYS[2], KEYS[3], KEYS[4]\n"
    "  redis.call('SADD', set, fv[1])\n"
    "  local t2 = redis.call('XREVRANGE', s, '+', '-', 'COUNT', 1)\n"
    "  if string.match(t2[1][1], '^(%d+)') == ms then\n"
    "    redis.call('HSET', m, 'last_value', fv[2], 'last_time', ARGV[2])\n"
    "    redis.call('HSET', latest, fv[1], fv[2])\n"
    "  end\n"
    "  redis.call('HSET', m, 'points', redis.call('XLEN', s))\n"
    "end\n"
    "return 1\n";

/* Upserts a series' observations in one call, in order, with the same
 * semantics as upsert_lua.
 * KEYS: the stream, its meta hash, the latest hash, the series set, the
 * rewrite log.
 * ARGV: the series id (the field), the writer's token, then (time ms, ISO
 * time, value) triples.
 * A rewrite (a revision or a late observation: the entries from its time
 * on are written again) is also told in the rewrite log (STORE_LOG_LUA),
 * for the evaluators of other processes.
 * Returns {how many entries were written (0: all identical), the earliest
 * time written other than at the end, or -1 when every write was an
 * append}. */
const char upsert_many_lua[] =
    "local s, m, latest, set = KEYS[1], KEYS[2], KEYS[3], KEYS[4]\n"
    "local field = ARGV[1]\n"
    "local written = 0\n"
    "local rewrote = -1\n"
    "for i = 3, #ARGV, 3 do\n"
    "  local ms, val = ARGV[i], ARGV[i + 2]\n"
    "  local id = ms .. '-0'\n"
    "  local top = redis.call('XREVRANGE', s, '+', '-', 'COUNT', 1)\n"
    "  if #top == 0 or tonumber(ms) > "
    "tonumber(string.match(top[1][1], '^(%d+)')) then\n"
    "    redis.call('XADD', s, id, field, val)\n"
    "    written = written + 1\n"
    "  else\n"
    "    local cur = redis.call('XRANGE', s, id, id)\n"
    "    if not (#cur > 0 and #cur[1][2] == 2 and cur[1][2][1] == field and "
    "cur[1][2][2] == val) then\n"
    "      local tail = redis.call('XRANGE', s, id, '+')\n"
    "      for k = 1, #tail do redis.call('XDEL', s, tail[k][1]) end\n"
    "      local prev = redis.call('XREVRANGE', s, '(' .. id, '-', 'COUNT', "
    "1)\n"
    "      local pid = '0-0'\n"
    "      if #prev > 0 then pid = prev[1][1] end\n"
    "      redis.call('XSETID', s, pid, 'MAXDELETEDID', pid)\n"
    "      redis.call('XADD', s, id, field, val)\n"
    "      for k = 1, #tail do\n"
    "        if tail[k][1] ~= id then\n"
    "          redis.call('XADD', s, tail[k][1], unpack(tail[k][2]))\n"
    "        end\n"
    "      end\n"
    "      written = written + 1\n"
    "      if rewrote < 0 or tonumber(ms) < rewrote then rewrote = "
    "tonumber(ms) end\n"
    "    end\n"
    "  end\n"
    "end\n"
    "if written > 0 then\n"
    "  redis.call('SADD', set, field)\n"
    "  local t2 = redis.call('XREVRANGE', s, '+', '-', 'COUNT', 1)\n"
    "  local topms = string.match(t2[1][1], '^(%d+)')\n"
    "  for i = 3, #ARGV, 3 do\n"
    "    if ARGV[i] == topms then\n"
    "      redis.call('HSET', m, 'last_value', ARGV[i + 2], 'last_time', "
    "ARGV[i + 1])\n"
    "      redis.call('HSET', latest, field, ARGV[i + 2])\n"
    "    end\n"
    "  end\n"
    "  redis.call('HSET', m, 'points', redis.call('XLEN', s))\n"
    "end\n"
    "if rewrote >= 0 then\n"
    "  redis.call('XADD', KEYS[5], 'MAXLEN', '~', " STORE_LOG_LEN
    ", '*', 'series', field, 'from', rewrote, 'by', ARGV[2])\n"
    "end\n"
    "return {written, rewrote}\n";

/* Trims a series to its retention, and tells the rewrite log when that
 * removed entries.
 * KEYS: the stream, the rewrite log.
 * ARGV: the cut (entries before <ms>-0 go), the series id, the writer's
 * token.
 * Returns the number of entries removed. */
const char trim_lua[] =
    "local n = redis.call('XTRIM', KEYS[1], 'MINID', ARGV[1])\n"
    "if n > 0 then\n"
    "  redis.call('XADD', KEYS[2], 'MAXLEN', '~', " STORE_LOG_LEN
    ", '*', 'series', ARGV[2], 'trim', ARGV[1], 'by', ARGV[3])\n"
    "end\n"
    "return n\n";

/* Replaces a stream's entries from one time on (a target's trajectory,
 * rewritten from the first point that changed): every entry with an ID at
 * or after ARGV[1]-0 is deleted, then the given entries are added in order.
 * KEYS: the stream.
 * ARGV: from ms, the number of fields F, the F field names, then per entry
 * its time ms and F values (ascending times, all >= from).
 * Returns the number of entries added. */
const char replace_tail_lua[] =
    "local s = KEYS[1]\n"
    "local from = ARGV[1] .. '-0'\n"
    "local nf = tonumber(ARGV[2])\n"
    "local tail = redis.call('XRANGE', s, from, '+')\n"
    "for i = 1, #tail do redis.call('XDEL', s, tail[i][1]) end\n"
    "if #tail > 0 then\n"
    "  local pid = '0-0'\n"
    "  if tonumber(ARGV[1]) > 0 then\n"
    "    local prev = redis.call('XREVRANGE', s, '(' .. from, '-', 'COUNT', "
    "1)\n"
    "    if #prev > 0 then pid = prev[1][1] end\n"
    "  end\n"
    "  redis.call('XSETID', s, pid, 'MAXDELETEDID', pid)\n"
    "end\n"
    "local added = 0\n"
    "local i = 3 + nf\n"
    "while i <= #ARGV do\n"
    "  local fv = {}\n"
    "  for f = 1, nf do\n"
    "    fv[#fv + 1] = ARGV[2 + f]\n"
    "    fv[#fv + 1] = ARGV[i + f]\n"
    "  end\n"
    "  redis.call('XADD', s, ARGV[i] .. '-0', unpack(fv))\n"
    "  added = added + 1\n"
    "  i = i + 1 + nf\n"
    "end\n"
    "return added\n";
