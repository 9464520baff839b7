import { CONTEXT_PATTERN } from '../../../lib/autonomy/levels.js';
import { badUserInput } from '../../../lib/errors.js';
import type { AutonomyLevel } from '../data/__generated__/prisma/client.js';

/** The levels in order of AI independence; a level allows everything the ones before it do (lib/autonomy/levels.ts). */
export const AUTONOMY_LEVELS: ReadonlyArray<{ level: AutonomyLevel; description: string }> = [
  { level: 'NO_AI', description: 'No AI at all.' },
  { level: 'ASSISTED', description: 'AI suggests; the user does everything.' },
  { level: 'COLLABORATOR', description: 'AI drafts; the user approves each step.' },
  { level: 'EXPERT', description: 'AI acts on routine steps; the user reviews.' },
  { level: 'AGENT', description: 'AI acts on its own within the task.' },
];

/** A user who never chose a level gets suggestions only: the least AI that is still useful. */
export const DEFAULT_LEVEL: AutonomyLevel = 'ASSISTED';

/** `context` when it is a valid task context or null (the user's default); else BAD_USER_INPUT. */
export function checkedContext(context: string | null | undefined): string | null {
  if (context != null && !CONTEXT_PATTERN.test(context)) {
    throw badUserInput('context must be 1-64 characters of a-z, 0-9, ".", "_" or "-", starting with a letter or digit', { argument: 'context' });
  }
  return context ?? null;
}
