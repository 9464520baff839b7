import type { AutonomySetting } from './__generated__/prisma/client.js';
import type { AutonomyPrisma } from './database.js';

/** The stored context of a user's default setting (the column is not nullable). */
export const DEFAULT_CONTEXT = '';

export interface SettingKey {
  userId: string;
  /** The task context, or null for the user's default. */
  context: string | null;
}

export function createSettingsRepository(prisma: AutonomyPrisma) {
  return {
    /**
     * For each key, in order: its user's setting for its context, else that user's default,
     * else null. One statement for all keys; each answer comes from its own user's rows only.
     */
    async effectiveSettings(keys: readonly SettingKey[]): Promise<Array<AutonomySetting | null>> {
      const userIds = [...new Set(keys.map((key) => key.userId))];
      const contexts = [...new Set([DEFAULT_CONTEXT, ...keys.map((key) => key.context ?? DEFAULT_CONTEXT)])];
      const rows = await prisma.autonomySetting.findMany({ where: { userId: { in: userIds }, context: { in: contexts } } });
      const rowOf = new Map(rows.map((row) => [`${row.userId}:${row.context}`, row]));
      return keys.map(({ userId, context }) => rowOf.get(`${userId}:${context ?? DEFAULT_CONTEXT}`) ?? rowOf.get(`${userId}:${DEFAULT_CONTEXT}`) ?? null);
    },
  };
}

export type SettingsRepository = ReturnType<typeof createSettingsRepository>;
