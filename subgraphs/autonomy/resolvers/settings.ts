import { connectionOf, pageArguments } from '../../../lib/pages.js';
import type { MutationResolvers, QueryResolvers } from '../__generated__/resolvers-types.js';
import type { SettingsRepository } from '../data/settings-repository.js';
import { effectiveAutonomy } from '../domain/effective.js';
import { checkedContext } from '../domain/levels.js';
import { settingsOwner } from './owner.js';

const AUDIT_CURSOR = 'change';

/**
 * `autonomy`, `autonomyAudit`, `setAutonomy` and `clearAutonomy`. `announce` runs after a
 * change is committed and before the mutation answers (lib/autonomy/changes.ts), so caches
 * of the user's levels see it by the next request.
 */
export function createSettingsResolvers(
  settings: SettingsRepository,
  announce: (userId: string) => Promise<void>,
): { Query: QueryResolvers; Mutation: MutationResolvers } {
  const effectiveFor = async (userId: string, context: string | null) => effectiveAutonomy(await settings.effectiveSetting(userId, context));
  const change = async (userId: string, context: string | null, level: Parameters<SettingsRepository['change']>[2], actor: string) => {
    if (await settings.change(userId, context, level, actor)) await announce(userId);
  };
  return {
    Query: {
      async autonomy(_root, args, { principal }) {
        const context = checkedContext(args.context);
        return effectiveFor(settingsOwner(principal, null), context);
      },
      async autonomyAudit(_root, args, { principal }) {
        const page = pageArguments(AUDIT_CURSOR, args.first, args.after);
        const rows = await settings.changes(settingsOwner(principal, args.userId), page.first + 1, page.after);
        return connectionOf(AUDIT_CURSOR, rows, page.first, (row) => row.id);
      },
    },
    Mutation: {
      async setAutonomy(_root, args, { principal }) {
        const context = checkedContext(args.context);
        const userId = settingsOwner(principal, args.userId);
        await change(userId, context, args.level, principal.subject);
        return effectiveFor(userId, context);
      },
      async clearAutonomy(_root, args, { principal }) {
        const context = checkedContext(args.context);
        const userId = settingsOwner(principal, args.userId);
        await change(userId, context, null, principal.subject);
        return effectiveFor(userId, context);
      },
    },
  };
}
