import type { AutonomyLevel } from './__generated__/prisma/client.js';
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
