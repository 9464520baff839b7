import type { AutonomyLevel, AutonomySetting } from '../data/__generated__/prisma/client.js';
import { DEFAULT_CONTEXT } from '../data/settings-repository.js';
import { DEFAULT_LEVEL } from './levels.js';

/** A user's effective level for a task context (the GraphQL `AutonomySetting`). */
export interface EffectiveAutonomy {
  /** The context whose override applies, or null when the user's or the platform's default does. */
  context: string | null;
  level: AutonomyLevel;
  source: 'CONTEXT' | 'USER' | 'PLATFORM';
  updatedAt: Date | null;
}

/**
 * What applies, given the stored setting that `effectiveSetting` found (the context's
 * override, else the user's default, else none): the level and where it comes from.
 */
export function effectiveAutonomy(setting: AutonomySetting | null): EffectiveAutonomy {
  if (!setting) return { context: null, level: DEFAULT_LEVEL, source: 'PLATFORM', updatedAt: null };
  const isDefault = setting.context === DEFAULT_CONTEXT;
  return { context: isDefault ? null : setting.context, level: setting.level, source: isDefault ? 'USER' : 'CONTEXT', updatedAt: setting.updatedAt };
}
