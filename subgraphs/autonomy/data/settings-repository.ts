import type { AutonomyLevel, AutonomySetting } from './__generated__/prisma/client.js';
import type { AutonomyPrisma } from './database.js';

/** The stored context of a user's default setting (the column is not nullable). */
export const DEFAULT_CONTEXT = '';

export interface SettingKey {
  userId: string;
  /** The task context, or null for the user's default. */
  context: string | null;
}

export function createSettingsRepository(prisma: AutonomyPrisma) {
  /**
   * For each key, in order: its user's setting for its context, else that user's default,
   * else null. One statement for all keys; each answer comes from its own user's rows only.
   */
  async function effectiveSettings(keys: readonly SettingKey[]): Promise<Array<AutonomySetting | null>> {
    const userIds = [...new Set(keys.map((key) => key.userId))];
    const contexts = [...new Set([DEFAULT_CONTEXT, ...keys.map((key) => key.context ?? DEFAULT_CONTEXT)])];
    const rows = await prisma.autonomySetting.findMany({ where: { userId: { in: userIds }, context: { in: contexts } } });
    const rowOf = new Map(rows.map((row) => [`${row.userId}:${row.context}`, row]));
    return keys.map(({ userId, context }) => rowOf.get(`${userId}:${context ?? DEFAULT_CONTEXT}`) ?? rowOf.get(`${userId}:${DEFAULT_CONTEXT}`) ?? null);
  }

  return {
    effectiveSettings,

    /** One user's effective setting for a context: `effectiveSettings` of one key (writes and the action desk, which load one). */
    async effectiveSetting(userId: string, context: string | null): Promise<AutonomySetting | null> {
      return (await effectiveSettings([{ userId, context }]))[0] ?? null;
    },

    /**
     * Sets (`level`) or removes (null) the user's setting for `context` (null: their default)
     * and records the change with its `actor` in the audit, in one transaction. Nothing is
     * written when the level stays what it was. Returns whether something changed.
     */
    async change(userId: string, context: string | null, level: AutonomyLevel | null, actor: string): Promise<boolean> {
      const stored = context ?? DEFAULT_CONTEXT;
      return prisma.$transaction(async (tx) => {
        // Changes of one setting take turns, so each audit entry's oldLevel is the level it
        // replaced; a row lock cannot do this for a setting that does not exist yet.
        await tx.$queryRaw`SELECT 1 FROM pg_advisory_xact_lock(hashtextextended(${`autonomy:${userId}:${stored}`}, 0))`;
        const key = { userId_context: { userId, context: stored } };
        const oldLevel = (await tx.autonomySetting.findUnique({ where: key }))?.level ?? null;
        if (oldLevel === level) return false;
        if (level === null) await tx.autonomySetting.delete({ where: key });
        else await tx.autonomySetting.upsert({ where: key, create: { userId, context: stored, level }, update: { level } });
        await tx.autonomyChange.create({ data: { userId, actor, context: stored, oldLevel, newLevel: level } });
        return true;
      });
    },

    /** Up to `take` of the user's changes, newest first, older than the change `before` when given. */
    changes(userId: string, take: number, before: bigint | null) {
      return prisma.autonomyChange.findMany({
        where: { userId, ...(before === null ? {} : { id: { lt: before } }) },
        orderBy: { id: 'desc' },
        take,
      });
    },
  };
}

export type SettingsRepository = ReturnType<typeof createSettingsRepository>;
