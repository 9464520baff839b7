/**
 * The autonomy levels, least to most AI independence: shared by the autonomy subgraph (which
 * stores them), inference (which shapes a job by them) and the worker. A level allows
 * everything the ones before it do.
 */
export const AUTONOMY_LEVELS = ['NO_AI', 'ASSISTED', 'COLLABORATOR', 'EXPERT', 'AGENT'] as const;

export type AutonomyLevelName = (typeof AUTONOMY_LEVELS)[number];

export const isAutonomyLevel = (value: unknown): value is AutonomyLevelName =>
  typeof value === 'string' && (AUTONOMY_LEVELS as readonly string[]).includes(value);

/**
 * How an action the model proposes is handled at each level: refused outright (`NO_AI`
 * runs no model at all), held for the user's decision, or approved automatically (`AGENT`).
 */
export function actionHandlingAt(level: AutonomyLevelName): 'refused' | 'held' | 'automatic' {
  if (level === 'NO_AI') return 'refused';
  return level === 'AGENT' ? 'automatic' : 'held';
}

/** Task contexts are short identifiers such as "code-review" or "email.drafts". */
export const CONTEXT_PATTERN = /^[a-z0-9][a-z0-9._-]{0,63}$/;

export const CONTEXT_RULE = '1-64 characters of a-z, 0-9, ".", "_" or "-", starting with a letter or digit';
