import type { Principal } from '../../../lib/auth/principal.js';
import { type ActionDecision, AUTOMATIC_DECIDER, type ProposedAction } from '../../../lib/autonomy/actions.js';
import { actionHandlingAt } from '../../../lib/autonomy/levels.js';
import type { Clock } from '../../../lib/clock.js';
import { badUserInput, conflict, notFound } from '../../../lib/errors.js';
import { isUuid } from '../../../lib/ids.js';
import type { Logger } from '../../../lib/logger.js';
import type { AutonomyAction } from '../data/__generated__/prisma/client.js';
import type { ActionsRepository, StoredDecision } from '../data/actions-repository.js';
import type { SettingsRepository } from '../data/settings-repository.js';
import { effectiveAutonomy } from './effective.js';

/** @default 500 // characters of a rejection's reason: a sentence for the model and the record, not a document. */
export const MAX_REASON_LENGTH = 500;
/** @default 100 // decisions republished per sweep; the sweep runs after every batch the consumer reads. */
const REPUBLISH_BATCH = 100;

const NO_AI_REASON = 'The autonomy level NO_AI allows no AI actions.';

export interface ActionDeskDeps {
  actions: ActionsRepository;
  settings: SettingsRepository;
  /** Appends a decision to the decisions stream (lib/autonomy/actions.ts `publishDecision`). */
  publish: (decision: ActionDecision) => Promise<void>;
  clock: Clock;
  logger: Logger;
}

const decisionOf = (row: AutonomyAction): ActionDecision => ({
  actionId: row.id,
  jobId: row.jobId,
  userId: row.userId,
  decision: row.status as ActionDecision['decision'],
  reason: row.reason,
  decidedBy: row.decidedBy ?? AUTOMATIC_DECIDER,
  decidedAt: (row.decidedAt ?? row.proposedAt).toISOString(),
});

/**
 * Pending actions: proposals come in from the actions stream, the user decides held ones,
 * and every decision goes out on the decisions stream. A decision is stored first and
 * published after; one that could not be published (Redis down) is republished by
 * `publishOutstanding`, so the stream gets each decision at least once.
 */
export function createActionDesk(deps: ActionDeskDeps) {
  const { actions, settings, clock, logger } = deps;

  async function publish(row: AutonomyAction): Promise<void> {
    await deps.publish(decisionOf(row));
    await actions.markPublished(row.id, clock.now());
  }

  return {
    /**
     * Records a proposal at the user's effective level for its context now (a level lowered
     * while a job runs holds its next action): held as PENDING (ASSISTED, COLLABORATOR,
     * EXPERT), AUTO_APPROVED (AGENT) or REJECTED (NO_AI), the latter two published at once.
     * A proposal seen before changes nothing.
     */
    async receive(proposal: ProposedAction): Promise<void> {
      const { level } = effectiveAutonomy(await settings.effectiveSetting(proposal.userId, proposal.context));
      const handling = actionHandlingAt(level);
      const decision: StoredDecision | null =
        handling === 'held'
          ? null
          : {
              status: handling === 'automatic' ? 'AUTO_APPROVED' : 'REJECTED',
              decidedBy: AUTOMATIC_DECIDER,
              decidedAt: clock.now(),
              reason: handling === 'refused' ? NO_AI_REASON : null,
            };
      const row = await actions.record(proposal, decision);
      if (row.status !== 'PENDING' && row.publishedAt === null) await publish(row);
    },

    /**
     * The owner's decision on one of their pending actions. Someone else's, or one that does
     * not exist: NOT_FOUND (deciding is the owner's alone, admins included); decided already:
     * CONFLICT. The decision stands once stored, even if publishing it has to wait.
     */
    async decide(principal: Principal, id: string, status: 'APPROVED' | 'REJECTED', reason: string | null): Promise<AutonomyAction> {
      if (reason !== null && reason.length > MAX_REASON_LENGTH) {
        throw badUserInput(`reason must be at most ${MAX_REASON_LENGTH} characters`, { argument: 'reason' });
      }
      const existing = isUuid(id) ? await actions.find(id) : null;
      const ownsIt = (principal.kind === 'user' || principal.kind === 'apiKey') && principal.userId === existing?.userId;
      if (!existing || !ownsIt) throw notFound('Action');
      const decided = await actions.decide(id, { status, decidedBy: principal.subject, decidedAt: clock.now(), reason });
      if (!decided) throw conflict(`Action ${id} is decided already`);
      try {
        await publish(decided);
      } catch (error) {
        logger.warn({ err: error, actionId: id }, 'autonomy: decision stored, not yet published; it is republished later');
      }
      return decided;
    },

    /** Publishes decisions that were stored but not published (the consumer calls this after each batch). */
    async publishOutstanding(): Promise<void> {
      for (const row of await actions.unpublished(REPUBLISH_BATCH)) await publish(row);
    },
  };
}

export type ActionDesk = ReturnType<typeof createActionDesk>;
