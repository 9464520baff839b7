import { AUTONOMY_LEVELS as LEVEL_NAMES, CONTEXT_PATTERN, CONTEXT_RULE } from '../../../lib/autonomy/levels.js';
import { badUserInput } from '../../../lib/errors.js';
import type { AutonomyLevel } from '../data/__generated__/prisma/client.js';

const DESCRIPTIONS: Readonly<Record<AutonomyLevel, string>> = {
  NO_AI: 'No AI at all.',
  ASSISTED: 'AI suggests; the user does everything.',
  COLLABORATOR: 'AI drafts; the user approves each step.',
  EXPERT: 'AI acts on routine steps; the user reviews.',
  AGENT: 'AI acts on its own within the task.',
};

/** The levels in order of AI independence (lib/autonomy/levels.ts), each with what it allows. */
export const AUTONOMY_LEVELS: ReadonlyArray<{ level: AutonomyLevel; description: string }> = LEVEL_NAMES.map((level) => ({
  level,
  description: DESCRIPTIONS[level],
}));

/** A user who never chose a level gets suggestions only: the least AI that is still useful. */
export const DEFAULT_LEVEL: AutonomyLevel = 'ASSISTED';

/** `context` when it is a valid task context or null (the user's default); else BAD_USER_INPUT. */
export function checkedContext(context: string | null | undefined): string | null {
  if (context != null && !CONTEXT_PATTERN.test(context)) {
    throw badUserInput(`context must be ${CONTEXT_RULE}`, { argument: 'context' });
  }
  return context ?? null;
}
