import type { ProposedAction } from '../../../lib/autonomy/actions.js';
import type { ActionStatus, AutonomyAction } from './__generated__/prisma/client.js';
import type { AutonomyPrisma } from './database.js';
import { DEFAULT_CONTEXT } from './settings-repository.js';

/** A decision as stored: the status it moves to and who made it. */
export interface StoredDecision {
  status: Exclude<ActionStatus, 'PENDING'>;
  decidedBy: string;
  decidedAt: Date;
  reason: string | null;
}

export function createActionsRepository(prisma: AutonomyPrisma) {
  return {
    /**
     * Stores a proposal, pending or already decided (`decision`), unless one with its
     * `actionId` is stored already. Returns the stored row either way: a redelivered proposal
     * keeps what was recorded the first time.
     */
    async record(action: ProposedAction, decision: StoredDecision | null): Promise<AutonomyAction> {
      await prisma.autonomyAction.createMany({
        data: [
          {
            id: action.actionId,
            userId: action.userId,
            jobId: action.jobId,
            context: action.context ?? DEFAULT_CONTEXT,
            name: action.name,
            arguments: action.arguments,
            proposedAt: new Date(action.proposedAt),
            ...(decision ?? {}),
          },
        ],
        skipDuplicates: true,
      });
      return prisma.autonomyAction.findUniqueOrThrow({ where: { id: action.actionId } });
    },

    find(id: string) {
      return prisma.autonomyAction.findUnique({ where: { id } });
    },

    /** Moves a PENDING action to `decision`; null when it is no longer pending (someone decided first). */
    async decide(id: string, decision: StoredDecision): Promise<AutonomyAction | null> {
      const { count } = await prisma.autonomyAction.updateMany({ where: { id, status: 'PENDING' }, data: decision });
      return count === 1 ? prisma.autonomyAction.findUnique({ where: { id } }) : null;
    },

    /** Up to `take` of the user's pending actions, oldest first, after the one at `after` when given. */
    pending(userId: string, take: number, after: bigint | null) {
      return prisma.autonomyAction.findMany({
        where: { userId, status: 'PENDING', ...(after === null ? {} : { seq: { gt: after } }) },
        orderBy: { seq: 'asc' },
        take,
      });
    },

    /** Decided actions whose decision has not reached the decisions stream yet, oldest first. */
    unpublished(take: number) {
      return prisma.autonomyAction.findMany({ where: { publishedAt: null, status: { not: 'PENDING' } }, orderBy: { seq: 'asc' }, take });
    },

    async markPublished(id: string, at: Date): Promise<void> {
      await prisma.autonomyAction.updateMany({ where: { id, publishedAt: null }, data: { publishedAt: at } });
    },
  };
}

export type ActionsRepository = ReturnType<typeof createActionsRepository>;
