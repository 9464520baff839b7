import { z } from 'zod';

import type { Redis } from '../redis.js';
import { CONTEXT_PATTERN } from './levels.js';

/**
 * The contract between inference and the autonomy subgraph for actions a model proposes
 * (OpenAI-style tool calls). See subgraphs/autonomy/README.md, "Pending actions".
 *
 * 1. Inference appends each proposal to AUTONOMY_ACTIONS_STREAM with `proposeAction`.
 * 2. The autonomy subgraph consumes it (consumer group AUTONOMY_ACTIONS_GROUP, idempotent by
 *    `actionId`) and records it at the user's effective level for the job's context: held as
 *    PENDING (ASSISTED, COLLABORATOR, EXPERT), AUTO_APPROVED (AGENT) or REJECTED (NO_AI).
 * 3. Every decision, automatic or the user's (`approveAction`, `rejectAction`), is appended to
 *    AUTONOMY_DECISIONS_STREAM. Delivery is at least once: act once per `actionId`.
 */

/** Stream of proposed actions, written by inference. */
export const AUTONOMY_ACTIONS_STREAM = 'autonomy:actions';
/** Consumer group of the autonomy subgraph's replicas on AUTONOMY_ACTIONS_STREAM. */
export const AUTONOMY_ACTIONS_GROUP = 'autonomy';
/** Stream of decisions, read by inference and the worker. */
export const AUTONOMY_DECISIONS_STREAM = 'autonomy:decisions';

/**
 * @default 100_000 // entries kept per stream (approximately, `MAXLEN ~`): days of proposals
 * at our volume, so a consumer can be down a while without losing any, and never unbounded.
 */
export const AUTONOMY_STREAM_MAX_LENGTH = 100_000;

/** @default 16_384 // characters of a proposal's arguments JSON (tool calls are small; this bounds what the user is shown). */
export const MAX_ACTION_ARGUMENTS_LENGTH = 16_384;

const uuid = z.uuid();
const context = z.string().regex(CONTEXT_PATTERN);

const proposedActionSchema = z.object({
  /** Unique per proposal, chosen by inference: a redelivered or re-sent proposal is recorded once. */
  actionId: uuid,
  jobId: uuid,
  userId: uuid,
  /** The job's task context; null for none (the user's default level applies). */
  context: context.nullable(),
  /** The tool's name, as the model called it. */
  name: z.string().min(1).max(128),
  /** The call's arguments: a JSON text, as OpenAI's `tool_calls[].function.arguments` carries them. */
  arguments: z
    .string()
    .max(MAX_ACTION_ARGUMENTS_LENGTH)
    .refine((text) => {
      try {
        JSON.parse(text);
        return true;
      } catch {
        return false;
      }
    }, 'arguments must be JSON'),
  /** ISO-8601 instant the model proposed it. */
  proposedAt: z.iso.datetime(),
});

export type ProposedAction = z.infer<typeof proposedActionSchema>;

export const ACTION_DECISIONS = ['APPROVED', 'REJECTED', 'AUTO_APPROVED'] as const;
export type ActionDecisionStatus = (typeof ACTION_DECISIONS)[number];

const actionDecisionSchema = z.object({
  actionId: uuid,
  jobId: uuid,
  userId: uuid,
  decision: z.enum(ACTION_DECISIONS),
  /** Why it was rejected (the user's reason, or the level's), else null. */
  reason: z.string().nullable(),
  /** The deciding principal's subject (`user:<id>`, `apiKey:<id>`), or `autonomy:auto` for an automatic decision. */
  decidedBy: z.string().min(1),
  decidedAt: z.iso.datetime(),
});

export type ActionDecision = z.infer<typeof actionDecisionSchema>;

/** Who decides automatically (AGENT approves, NO_AI rejects), in `decidedBy`. */
export const AUTOMATIC_DECIDER = 'autonomy:auto';

/** Stream entry fields: flat strings, `context`/`reason` left out when null, easy to XRANGE by hand. */
function fieldsOf(record: Record<string, string | null>): string[] {
  return Object.entries(record).flatMap(([key, value]) => (value === null ? [] : [key, value]));
}

/** A stream entry's fields (`[k1, v1, k2, v2, …]`) as an object; absent optional fields are null. */
function recordOf(fields: readonly string[], optional: readonly string[]): Record<string, string | null> {
  const record: Record<string, string | null> = Object.fromEntries(optional.map((key) => [key, null]));
  for (let i = 0; i + 1 < fields.length; i += 2) record[fields[i]!] = fields[i + 1]!;
  return record;
}

/** The proposal in a stream entry, or why the entry is not a valid one. */
export function parseProposedAction(fields: readonly string[]): { action: ProposedAction } | { error: string } {
  const parsed = proposedActionSchema.safeParse(recordOf(fields, ['context']));
  return parsed.success ? { action: parsed.data } : { error: parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ') };
}

/** The decision in a stream entry, or null when the entry is not a valid one. */
export function parseActionDecision(fields: readonly string[]): ActionDecision | null {
  const parsed = actionDecisionSchema.safeParse(recordOf(fields, ['reason']));
  return parsed.success ? parsed.data : null;
}

/**
 * Appends a proposal to AUTONOMY_ACTIONS_STREAM (one XADD, capped at
 * AUTONOMY_STREAM_MAX_LENGTH). Inference calls this for each tool call of a job whose level
 * is not NO_AI, then waits for the decision on AUTONOMY_DECISIONS_STREAM. Throws on a
 * proposal that breaks the contract (the consumer would drop it) and on Redis' errors.
 */
export async function proposeAction(redis: Redis, action: ProposedAction): Promise<void> {
  const valid = proposedActionSchema.parse(action);
  await redis.xadd(AUTONOMY_ACTIONS_STREAM, 'MAXLEN', '~', AUTONOMY_STREAM_MAX_LENGTH, '*', ...fieldsOf(valid));
}

/** Appends a decision to AUTONOMY_DECISIONS_STREAM (the autonomy subgraph does this). */
export async function publishDecision(redis: Redis, decision: ActionDecision): Promise<void> {
  await redis.xadd(AUTONOMY_DECISIONS_STREAM, 'MAXLEN', '~', AUTONOMY_STREAM_MAX_LENGTH, '*', ...fieldsOf(decision));
}
