import type { Redis } from '../redis.js';

/**
 * The bus's Lua scripts, each one atomic step that would otherwise race between processes.
 * Registered with ioredis' `defineCommand` (EVALSHA, falling back to EVAL once per script).
 */

/**
 * Lua, KEYS[1] the job log: from its last entry, the last `seq`, the current `attempt` and
 * whether the log `ended` (a terminal event); 0, 0, false for a log that does not exist.
 */
const READ_LAST_ENTRY = `
local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
local seq, attempt, ended = 0, 0, false
if #last > 0 then
  seq = tonumber(string.match(last[1][1], '^(%d+)-'))
  local fields = last[1][2]
  for i = 1, #fields, 2 do
    if fields[i] == 'type' then ended = fields[i + 1] == 'completed' or fields[i + 1] == 'failed' or fields[i + 1] == 'cancelled'
    elseif fields[i] == 'attempt' then attempt = tonumber(fields[i + 1]) end
  end
end
`;

/**
 * KEYS: job log, lifecycle stream, tokens counter.
 * ARGV: type, event JSON, fence attempt or '', started attempt or '', terminal TTL s,
 * safety TTL s, job id, lifecycle max length.
 * Every log entry carries the job's current attempt, so the last entry alone tells the
 * last seq (its id), whether the job is finished (its type) and who may write (its attempt).
 */
const APPEND = `${READ_LAST_ENTRY}
if ended then return false end
if ARGV[3] ~= '' and tonumber(ARGV[3]) ~= attempt then return false end
local kind = ARGV[1]
if kind == 'started' then
  local started = tonumber(ARGV[4])
  if started <= attempt then return false end
  attempt = started
end
seq = seq + 1
redis.call('XADD', KEYS[1], seq .. '-0', 'type', kind, 'attempt', attempt, 'event', ARGV[2])
local terminal = kind == 'completed' or kind == 'failed' or kind == 'cancelled'
redis.call('EXPIRE', KEYS[1], terminal and ARGV[5] or ARGV[6])
if kind == 'token' then
  redis.call('INCR', KEYS[3])
elseif kind == 'started' or terminal then
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[8], '*', 'jobId', ARGV[7], 'seq', seq, 'type', kind, 'data', ARGV[2])
end
return seq
`;

/**
 * KEYS: job log, tokens counter. ARGV: fence attempt, safety TTL s, then one token event JSON each.
 * APPEND for several tokens at once, all or none: the checks a token's APPEND makes (log not
 * ended, fence = current attempt) hold for every token of the call, since nothing runs between them.
 */
const APPEND_TOKENS = `${READ_LAST_ENTRY}
if ended or tonumber(ARGV[1]) ~= attempt then return false end
for i = 3, #ARGV do
  seq = seq + 1
  redis.call('XADD', KEYS[1], seq .. '-0', 'type', 'token', 'attempt', attempt, 'event', ARGV[i])
end
redis.call('EXPIRE', KEYS[1], ARGV[2])
redis.call('INCRBY', KEYS[2], #ARGV - 2)
return seq
`;

/**
 * KEYS: job log, queue, enqueued-jobs counter. ARGV: queued event JSON, safety TTL s, job JSON.
 * A new job's first log entry (`queued`, seq 1, attempt 0, as APPEND writes it), its queue
 * entry and its count in the arrivals together; false, and nothing written, when the log exists.
 */
const SUBMIT = `
if redis.call('EXISTS', KEYS[1]) == 1 then return false end
redis.call('XADD', KEYS[1], '1-0', 'type', 'queued', 'attempt', 0, 'event', ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[2])
redis.call('XADD', KEYS[2], '*', 'job', ARGV[3])
redis.call('INCR', KEYS[3])
return 1
`;

/**
 * KEYS: the queues, highest priority first. ARGV: group, consumer.
 * The first waiting entry of the highest non-empty queue as {queue index (1-based), id, fields}.
 */
const TAKE = `
for i = 1, #KEYS do
  local reply = redis.call('XREADGROUP', 'GROUP', ARGV[1], ARGV[2], 'COUNT', 1, 'STREAMS', KEYS[i], '>')
  if reply and #reply[1][2] > 0 then
    local entry = reply[1][2][1]
    return {i, entry[1], entry[2]}
  end
end
return false
`;

/**
 * KEYS: queue. ARGV: group, consumer, id, 'ack' | 'touch'.
 * Only while `consumer` still holds the entry: a worker whose job was reclaimed must neither
 * take it back (touch) nor remove it under its new holder (ack). 1 when done, 0 when not held.
 */
const HOLD = `
local held = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[3], ARGV[3], 1, ARGV[2])
if #held == 0 then return 0 end
if ARGV[4] == 'ack' then
  redis.call('XACK', KEYS[1], ARGV[1], ARGV[3])
  redis.call('XDEL', KEYS[1], ARGV[3])
else
  redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[3], 'JUSTID')
end
return 1
`;

/**
 * KEYS: the queues. ARGV: group. Entries not yet delivered: acknowledged entries are deleted,
 * so a queue holds exactly the waiting and the pending (delivered, unacknowledged) ones.
 */
const DEPTH = `
local depth = 0
for i = 1, #KEYS do
  local length = redis.call('XLEN', KEYS[i])
  if length > 0 then
    local pending = redis.pcall('XPENDING', KEYS[i], ARGV[1])
    if type(pending) == 'table' and pending.err == nil then length = length - pending[1] end
    depth = depth + length
  end
end
return depth
`;

/**
 * KEYS: stream. ARGV: group. Creates the group (and the stream) unless it exists. A script
 * because ioredis does not apply the key prefix to XGROUP's key.
 */
const CREATE_GROUP = `
local reply = redis.pcall('XGROUP', 'CREATE', KEYS[1], ARGV[1], '0', 'MKSTREAM')
if type(reply) == 'table' and reply.err and not string.find(reply.err, '^BUSYGROUP') then return reply end
return 1
`;

export interface InferenceScripts {
  inferenceCreateGroup(key: string, group: string): Promise<number>;
  inferenceAppend(...args: Array<string | number>): Promise<number | null>;
  inferenceSubmit(...args: Array<string | number>): Promise<number | null>;
  inferenceAppendTokens(...args: Array<string | number>): Promise<number | null>;
  inferenceTake(...args: Array<string | number>): Promise<[number, string, string[]] | null>;
  inferenceHold(...args: Array<string | number>): Promise<number>;
  inferenceDepth(...args: Array<string | number>): Promise<number>;
}

/** `redis` with the bus's scripts defined on it (defining them again is harmless). */
export function withInferenceScripts(redis: Redis, queueCount: number): Redis & InferenceScripts {
  redis.defineCommand('inferenceCreateGroup', { numberOfKeys: 1, lua: CREATE_GROUP });
  redis.defineCommand('inferenceAppend', { numberOfKeys: 3, lua: APPEND });
  redis.defineCommand('inferenceSubmit', { numberOfKeys: 3, lua: SUBMIT });
  redis.defineCommand('inferenceAppendTokens', { numberOfKeys: 2, lua: APPEND_TOKENS });
  redis.defineCommand('inferenceTake', { numberOfKeys: queueCount, lua: TAKE });
  redis.defineCommand('inferenceHold', { numberOfKeys: 1, lua: HOLD });
  redis.defineCommand('inferenceDepth', { numberOfKeys: queueCount, lua: DEPTH });
  return redis as Redis & InferenceScripts;
}
