import { connectionOf, pageArguments } from '../../../lib/pages.js';
import type { MutationResolvers, QueryResolvers } from '../__generated__/resolvers-types.js';
import type { ActionsRepository } from '../data/actions-repository.js';
import type { ActionDesk } from '../domain/actions.js';
import { settingsOwner } from './owner.js';

const ACTION_CURSOR = 'action';

/** `pendingActions`, `approveAction` and `rejectAction`. */
export function createActionResolvers(deps: { actions: ActionsRepository; desk: ActionDesk }): { Query: QueryResolvers; Mutation: MutationResolvers } {
  const { actions, desk } = deps;
  return {
    Query: {
      async pendingActions(_root, args, { principal }) {
        const page = pageArguments(ACTION_CURSOR, args.first, args.after);
        const rows = await actions.pending(settingsOwner(principal, null), page.first + 1, page.after);
        return connectionOf(ACTION_CURSOR, rows, page.first, (row) => row.seq);
      },
    },
    Mutation: {
      approveAction: (_root, args, { principal }) => desk.decide(principal, args.id, 'APPROVED', null),
      rejectAction: (_root, args, { principal }) => desk.decide(principal, args.id, 'REJECTED', args.reason ?? null),
    },
  };
}
