import { AUTONOMY_CONTEXT_PATTERN } from '../../../lib/autonomy-context.js';
import type { AutonomyLevel } from '../data/__generated__/prisma/client.js';

/** The levels in order of AI independence; a level allows everything the ones before it do. */
export const AUTONOMY_LEVELS: ReadonlyArray<{ level: AutonomyLevel; description: string }> = [
  { level: 'NO_AI', description: 'No AI at all.' },
  { level: 'ASSISTED', description: 'AI suggests; the user does everything.' },
  { level: 'COLLABORATOR', description: 'AI drafts; the user approves each step.' },
  { level: 'EXPERT', description: 'AI acts on routine steps; the user reviews.' },
  { level: 'AGENT', description: 'AI acts on its own within the task.' },
];

/** A user who never chose a level gets suggestions only: the least AI that is still useful. */
export const DEFAULT_LEVEL: AutonomyLevel = 'ASSISTED';

/** Task contexts are short identifiers such as "code-review" or "email.drafts" (shared with inference). */
export const CONTEXT_PATTERN = AUTONOMY_CONTEXT_PATTERN;
