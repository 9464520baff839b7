import type { AutonomyPrisma } from './database.js';

/** The stored context of a user's default setting (the column is not nullable). */
export const DEFAULT_CONTEXT = '';

export function createSettingsRepository(prisma: AutonomyPrisma) {
  return {
    /** The setting for `context`, else the user's default, else null. */
    async effectiveSetting(userId: string, context: string | null) {
      const contexts = context ? [context, DEFAULT_CONTEXT] : [DEFAULT_CONTEXT];
      const rows = await prisma.autonomySetting.findMany({ where: { userId, context: { in: contexts } } });
      return rows.find((row) => row.context === context) ?? rows.find((row) => row.context === DEFAULT_CONTEXT) ?? null;
    },
  };
}

export type SettingsRepository = ReturnType<typeof createSettingsRepository>;
